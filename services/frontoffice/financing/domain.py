"""The financing partner's export file: pure formatting, no I/O."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from services.frontoffice.financing.schemas import ReferralOut

# Ids and amounts only: the partner's contact fields (name, address, phone) will come from the
# patient registry (frontoffice/patients) once it lands; see docs/financial-assistance.md.
COLUMNS = ("referral_id", "account_id", "patient_id", "partner_id", "amount", "referred_at", "referred_by")


def export_csv(referrals: Iterable[ReferralOut]) -> str:
    """One header line and one line per referral; amounts as decimal strings (25.00)."""
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
            )
        )
    return out.getvalue()
