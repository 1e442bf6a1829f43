"""Render the sample patient statement to docs/statement-sample.png (and .pdf beside it when
asked): `make statement-sample`. No database: a statement is built from sample ledger sums
with the same functions the service uses (services/payments/statements/domain.py), so the
picture shows what a patient receives. The patient is fictional."""

from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from uuid import UUID

import pypdfium2

from services.payments.settings import payments_settings
from services.payments.statements import domain

ROOT = Path(__file__).resolve().parents[2]
D = Decimal


def _sums(**values: str) -> dict[str, Decimal]:
    keys = ("charges", "insurance_paid", "adjustments", "patient_paid", "insurance_pending", "due",
            "deductible", "coinsurance", "copay", "other_share")  # fmt: skip
    return {k: D(values.get(k, "0")) for k in keys}


def sample_statement() -> SimpleNamespace:
    """A 99213 + 36415 visit the insurer paid in part (deductible, coinsurance, copay), the copay
    paid at check-in, and a self-pay flu shot."""
    visit = SimpleNamespace(item_id=UUID(int=1), service_date=date(2026, 1, 5), description="Charge 36415",
                            **_sums(charges="180", insurance_paid="68", adjustments="30", due="82",
                                    deductible="40", coinsurance="17", copay="25"))  # fmt: skip
    flu = SimpleNamespace(item_id=UUID(int=2), service_date=date(2026, 1, 12),
                          description="Flu vaccine (self-pay)", **_sums(charges="45", due="45"))  # fmt: skip
    credit = SimpleNamespace(item_id=None, service_date=None, description=None,
                             **_sums(patient_paid="25", due="-25"))  # fmt: skip
    claim = SimpleNamespace(
        payer_name="Sandbox Health Plan",
        lines=[{"code": "99213", "charge": "150.00"}, {"code": "36415", "charge": "30.00"}],
    )
    visits = domain.apply_credit(
        [domain.visit(visit, claim), domain.visit(flu, None), domain.visit(credit, None)]
    )
    s = payments_settings()
    as_content = [v.as_content() for v in visits]
    statement_date = date(2026, 1, 20)
    due = D("102.00")
    content = {
        "lines": [domain.old_line(v) for v in as_content],
        "visits": as_content,
        "totals": domain.totals(visits, due),
        "explanations": domain.explanations(visits),
        "practice": {"name": s.practice_name, "address": s.practice_address, "phone": s.practice_phone},
        "remit_to": {"name": s.remit_to_name, "address": s.remit_to_address},
        "how_to_pay": {"portal_url": s.payment_portal_url, "phone": s.billing_phone},
        "recipient": {"name": "Jane Sample", "address_lines": ["12 Elm St", "Springfield, IL 62701"]},
        "patient_name": None,
        "past_due": None,
    }
    return SimpleNamespace(
        id=UUID(int=9), account_id="ACCT-100234", statement_date=statement_date,
        due_date=statement_date + timedelta(days=s.statement_due_days), amount_due=due, content=content,
        issued_at=datetime(2026, 1, 20, 9, 0),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "statement-sample.png")
    parser.add_argument("--pdf", type=Path, help="Also write the PDF here.")
    parser.add_argument("--scale", type=float, default=1.6, help="Pixels per PDF point.")
    args = parser.parse_args()
    pdf_bytes = domain.render_pdf(sample_statement())
    if args.pdf:
        args.pdf.write_bytes(pdf_bytes)
    page = pypdfium2.PdfDocument(pdf_bytes)[0]
    page.render(scale=args.scale).to_pil().save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
