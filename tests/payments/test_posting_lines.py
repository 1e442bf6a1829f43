"""payment.posted carries the 835's adjudication as the next payer's claim needs it (837P loops
2320/2430): the claim-level CAS on its own, and per service line (835 loop 2110) the SVC
procedure, charge, paid amount and units, the line's CAS and its REF*6R. The totals
(`adjustments`) stay as they were for the consumers that read them. Pure: no servers."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal as D

from services.payments.postings.domain import RemittanceRef, Target, payment_posted
from services.payments.remittances.x12 import parse_835
from shared.events.catalogue import PaymentPosted
from tests.conftest import X12_SAMPLES

SAMPLES = X12_SAMPLES / "835_005010X221A1"


def make_events(name: str) -> dict[str, PaymentPosted]:
    """payment.posted per CLP of a sample 835, by patient control number."""
    (remittance,) = parse_835((SAMPLES / name).read_text())
    ref = RemittanceRef(
        uuid.uuid4(), "SAMPLE", remittance.trace_number, remittance.method, remittance.paid_date
    )
    now = datetime(2026, 1, 5, tzinfo=UTC)
    out = {}
    for claim in remittance.claims:
        event = payment_posted(uuid.uuid4(), ref, claim, Target(uuid.uuid4(), "acct-1"), now)
        out[claim.patient_control_number] = PaymentPosted.model_validate(event.data.model_dump(mode="json"))
    return out


def cas(adjustments) -> list[tuple[str, str, D]]:
    return [(a.group_code, a.reason_code, a.amount) for a in adjustments]


def test_claim_level_cas_and_line_detail_travel_apart():
    """managed-care.835: CLP 800.00 paid 450.00 with a claim-level CO-A2 50.00, and one SVC
    (HC:99211 800.00 paid 500.00) with PR-1 300.00 at line level."""
    posted = make_events("managed-care.835")["5554555444"]
    assert cas(posted.claim_adjustments) == [("CO", "A2", D("50.00"))]
    (line,) = posted.lines
    assert (line.procedure_qualifier, line.code, line.modifiers) == ("HC", "99211", [])
    assert (line.charge, line.paid, line.units) == (D("800.00"), D("500.00"), None)
    assert cas(line.adjustments) == [("PR", "1", D("300.00"))]
    assert sorted(cas(posted.adjustments)) == [("CO", "A2", D("50.00")), ("PR", "1", D("300.00"))]
    assert posted.remittance_date == date(2002, 3, 14)  # BPR16
    # The 835's own balance, as the 837's 2320/2430 will restate it.
    line_cas = sum((a.amount for a in line.adjustments), D(0))
    claim_cas = sum((a.amount for a in posted.claim_adjustments), D(0))
    assert posted.charge - posted.amount - claim_cas - line_cas == 0
    assert line.charge - line.paid - line_cas == 0


def test_lines_keep_modifiers_units_and_several_cas_groups():
    """secondary-payment.835, claim 0001000053: two SVC lines with modifier 26 and 1.00 units;
    the second has PR-1, PR-2 and CO-42."""
    posted = make_events("secondary-payment.835")["0001000053"]
    assert posted.claim_adjustments == []
    assert [(x.code, x.modifiers, x.charge, x.paid, x.units) for x in posted.lines] == [
        ("12345", ["26"], D("166.50"), D("30.00"), D("1.00")),
        ("66543", ["26"], D("585.00"), D("280.00"), D("1.00")),
    ]
    assert cas(posted.lines[1].adjustments) == [
        ("PR", "1", D("150.00")),
        ("PR", "2", D("70.00")),
        ("CO", "42", D("85.00")),
    ]
    assert posted.lines[0].service_date == date(2005, 1, 6)
