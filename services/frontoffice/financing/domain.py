"""The financing partner's export file: pure formatting, no I/O."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping

from services.frontoffice.financing.schemas import ReferralOut
from services.frontoffice.patients.schemas import PatientContact

REFERRAL_COLUMNS = (
    "referral_id",
    "account_id",
    "patient_id",
    "partner_id",
    "amount",
    "referred_at",
    "referred_by",
)
# What the partner needs to reach the patient who asked for credit, from the patient registry;
# the minimum necessary (docs/financial-assistance.md): no birth date, coverage or diagnoses.
CONTACT_COLUMNS = (
    "first_name",
    "last_name",
    "phone",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
)
COLUMNS = REFERRAL_COLUMNS + CONTACT_COLUMNS


def contact_cells(contact: PatientContact | None) -> tuple[str, ...]:
    """The contact columns of one patient; all empty for a patient not in the registry."""
    if contact is None:
        return ("",) * len(CONTACT_COLUMNS)
    address = contact.address
    return (
        contact.first_name,
        contact.last_name,
        contact.phone or "",
        contact.email or "",
        address.line1 if address else "",
        (address.line2 or "") if address else "",
        address.city if address else "",
        address.state if address else "",
        address.postal_code if address else "",
    )


def export_csv(referrals: Iterable[ReferralOut], contacts: Mapping[str, PatientContact]) -> str:
    """One header line and one line per referral with its patient's contact details; amounts
    as decimal strings (25.00)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in referrals:
        writer.writerow(
            (
                r.id,
                r.account_id,
                r.patient_id,
                r.partner_id,
                f"{r.amount:.2f}",
                r.referred_at.isoformat(),
                r.referred_by,
                *contact_cells(contacts.get(r.patient_id)),
            )
        )
    return out.getvalue()
