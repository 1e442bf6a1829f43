"""Follow-up: claims the payer has not answered inside its window."""
