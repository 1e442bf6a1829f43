"""Underpayments: the service lines a payer allowed below the contract in effect on their
date of service, found while posting, and the work on them: open, disputed with the payer,
then recovered (the payer paid the difference) or accepted (the variance written off as
accepted, with a reason). A work queue by status and a report per payer and status."""
