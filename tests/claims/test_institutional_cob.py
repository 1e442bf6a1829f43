"""Secondary billing of institutional claims: the next payer's 837I carries the primary's real
adjudication as payments publishes it from the 835 (payment.posted): its MIA (inpatient) or
MOA (outpatient) in loop 2320, and its SVC lines (NU:<revenue code> or HC:<HCPCS>) placed on
our lines in loop 2430, balanced as the guide says and valid for pyx12. The last test goes
through the real broker: the primary's payment.posted makes and sends the secondary claim."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.claims.adjudication import domain as adjudication
from services.claims.claims.schemas import ClaimData, LineIn
from services.claims.claims.tables import Claim
from services.claims.settings import ClaimsSettings
from services.claims.submission.x12 import generate
from shared import x12
from shared.events.catalogue import AdjudicatedLine, Adjustment, PaymentPosted
from shared.events.institutional import InpatientAdjudication, OutpatientAdjudication
from tests.claims.cob import x12_837_errors
from tests.claims.helpers import (
    RENDERING_NPI,
    get_claim,
    get_claim_if,
    get_claims,
    make_eligibility,
    publish,
    read_write,
)
from tests.claims.test_cob import make_stored
from tests.claims.test_institutional import ADMIT, DISCHARGE, make_inpatient
from tests.conftest import eventually, unique

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now", "practice_providers")
MIA = InpatientAdjudication(covered_days=Decimal(3), drg_amount=Decimal("5100.00"), remark_codes=["MA01"])
# The primary's SVC lines for make_inpatient's four lines: (SVC01-1, SVC01-2, charge, paid).
INPATIENT_SVC = [
    ("NU", "0120", "4500.00", "3400.00"),
    ("NU", "0250", "380.25", "300.00"),
    ("HC", "80053", "95.00", "40.00"),
    ("HC", "99284", "1200.00", "900.00"),
]


def _stored(body: dict[str, Any]) -> Claim:
    return make_stored(ClaimData.model_validate(body))


def _posted(
    claim: Claim | dict[str, Any],
    lines: list[tuple[str, str, str, str]],
    deductible: Decimal = Decimal("0.00"),
    **institutional: Any,
) -> PaymentPosted:
    """The primary's 835 for the claim (stored, or as the API shows it) as payments publishes
    it: per SVC (qualifier, code, charge, paid), the deductible (PR-1) on the first line and
    the rest of each line CO-45; and the MIA or MOA."""
    if isinstance(claim, dict):
        claim = Claim(
            id=uuid.UUID(claim["id"]),
            patient_control_number=claim["patient_control_number"],
            payer_id=claim["payer_id"],
            total_charge=Decimal(claim["total_charge"]),
        )
    svc = []
    for n, (q, code, charge, paid) in enumerate(lines):
        share = deductible if n == 0 else Decimal("0.00")
        cas = [Adjustment(group_code="CO", reason_code="45", amount=Decimal(charge) - Decimal(paid) - share)]
        if share:
            cas.append(Adjustment(group_code="PR", reason_code="1", amount=share))
        svc.append(
            AdjudicatedLine(
                procedure_qualifier=q, code=code, charge=Decimal(charge), paid=Decimal(paid), adjustments=cas
            )
        )
    totals: dict[tuple[str, str], Decimal] = {}
    for adj in (a for line in svc for a in line.adjustments):
        totals[(adj.group_code, adj.reason_code)] = (
            totals.get((adj.group_code, adj.reason_code), Decimal(0)) + adj.amount
        )
    return PaymentPosted(
        payment_id=uuid.uuid4(),
        source="insurer",
        claim_id=claim.id,
        patient_control_number=claim.patient_control_number,
        amount=sum((line.paid for line in svc), Decimal(0)),
        method="eft",
        posted_at=datetime.now(UTC),
        payer_id=claim.payer_id,
        payer_claim_control_number="ICN-P-MIA",
        claim_status_code="1",
        charge=claim.total_charge,
        patient_responsibility=deductible,
        adjustments=[Adjustment(group_code=g, reason_code=r, amount=a) for (g, r), a in totals.items()],
        claim_adjustments=[],
        lines=svc,
        claim_type="institutional",
        **institutional,
    )


def test_the_secondary_of_an_inpatient_claim_carries_the_primarys_mia_and_its_lines():
    body = make_inpatient(
        "pat-mia-1", attending_provider={"npi": RENDERING_NPI, "name": "Smith", "first_name": "Ann"}
    )
    body["other_coverages"] = [{"payer_id": "SBX002", "member_id": "SBX40002S", "order": "secondary"}]
    claim = _stored(body)
    mia = MIA
    posted = _posted(claim, INPATIENT_SVC, drg_code="292", inpatient=mia)
    nxt = ClaimData.model_validate(body).other_coverages[0]
    secondary = adjudication.next_payer_data(claim, posted, nxt)
    (primary,) = secondary.other_coverages
    assert primary.inpatient == mia and primary.outpatient is None
    assert [(line.line_number, line.paid, line.code) for line in primary.lines] == [
        (1, Decimal("3400.00"), None),  # SVC NU:0120 answers our revenue-code line 1
        (2, Decimal("300.00"), None),
        (3, Decimal("40.00"), "80053"),
        (4, Decimal("900.00"), "99284"),
    ]
    assert secondary.institutional == ClaimData.model_validate(body).institutional
    assert secondary.claim_type == "institutional" and secondary.frequency_code == "1"
    edi = generate(secondary, "CSECMIA1", control_number=1, settings=ClaimsSettings())
    assert x12_837_errors(edi) == []  # 2320 AMT*D and CAS, 2430 SVD/CAS balance the claim and lines
    assert "MIA*3**" in edi and "*5100*" in edi.split("MIA*", 1)[1].split("~", 1)[0]


def test_the_secondary_of_an_outpatient_claim_carries_the_primarys_moa():
    body = make_inpatient("pat-moa-1", place_of_service="23", diagnoses=["R0789"])
    body["attending_provider"] = {"npi": RENDERING_NPI, "name": "Smith", "first_name": "Ann"}
    body["lines"] = [
        {
            "revenue_code": "0450",
            "code": "99284",
            "charge": "800.00",
            "date_of_service": DISCHARGE.isoformat(),
        }
    ]
    body["institutional"] = {
        "facility_type_code": "13",
        "statement_from": DISCHARGE.isoformat(),
        "statement_to": DISCHARGE.isoformat(),
        "patient_status": "01",
        "reason_for_visit": ["R0789"],
    }
    body["other_coverages"] = [{"payer_id": "SBX002", "member_id": "SBX40002S", "order": "secondary"}]
    claim = _stored(body)
    moa = OutpatientAdjudication(
        reimbursement_rate=Decimal("80"), hcpcs_payable_amount=Decimal("600.00"), remark_codes=["MA130"]
    )
    secondary = adjudication.next_payer_data(
        claim,
        _posted(claim, [("HC", "99284", "800.00", "600.00")], outpatient=moa),
        ClaimData.model_validate(body).other_coverages[0],
    )
    (primary,) = secondary.other_coverages
    assert primary.outpatient == moa and primary.inpatient is None
    assert [(line.line_number, line.paid) for line in primary.lines] == [(1, Decimal("600.00"))]
    edi = generate(secondary, "CSECMOA1", control_number=1, settings=ClaimsSettings())
    assert x12_837_errors(edi) == [] and "MOA*80*600*MA130~" in edi
    assert secondary.institutional == ClaimData.model_validate(body).institutional


async def test_the_primarys_payment_posted_sends_the_secondary_837i_with_its_mia(claims, settings, producer):
    async with claims() as (_, client):
        body = make_inpatient(unique("pat"))
        body["other_coverages"] = [{"payer_id": "SBX002", "member_id": "SBX40002S", "order": "secondary"}]
        await make_eligibility(settings, body["patient_id"], "SBX001", ADMIT.isoformat())
        claim = (await client.post("/v1/claims", json=body, headers=read_write())).json()
        sent = await client.post(f"/v1/claims/{claim['id']}/submit", headers=read_write())
        assert sent.status_code == 200, sent.text
        await publish(
            producer,
            _posted(sent.json(), INPATIENT_SVC, Decimal("1000.00"), drg_code="292", inpatient=MIA),
        )
        await eventually(lambda: get_claim_if(client, claim["id"], "paid", "partial"))

        async def secondary() -> list[dict[str, Any]]:
            items = await get_claims(client, patient_id=body["patient_id"], payer_id="SBX002")
            return [c for c in items if c["primary_claim_id"] == claim["id"] and c["status"] == "submitted"]

        (listed,) = await eventually(secondary)
        second = await get_claim(client, listed["id"])
        (primary,) = second["data"]["other_coverages"]
        assert primary["inpatient"] == MIA.model_dump(mode="json")
        assert [line["line_number"] for line in primary["lines"]] == [1, 2, 3, 4]
        assert second["data"]["institutional"]["drg_code"] == "292"
        edi = (await client.get(f"/v1/claims/{second['id']}/837", headers=read_write())).text
        assert x12_837_errors(edi) == []
        (mia,) = [s for s in x12.parse(edi).transactions[0].segments if s.id == "MIA"]  # 2320
        assert (mia.get(1), mia.get(4), mia.get(5)) == ("3", "5100", "MA01")  # days, DRG amount, remark


def test_the_2430_lines_follow_the_line_payments_placed_each_svc_on():
    """Two outpatient lines with one HCPCS and charge under different revenue codes: the 835
    answers them in its own order, and only payments' placement (`line_number`, by revenue
    code + HCPCS + date) tells them apart; code and charge alone would swap their payments."""
    day = DISCHARGE.isoformat()
    billed = [
        LineIn(revenue_code="0300", code="80053", charge=Decimal("95.00"), date_of_service=day),
        LineIn(revenue_code="0301", code="80053", charge=Decimal("95.00"), date_of_service=day),
    ]
    paid = [
        AdjudicatedLine(
            code="80053", revenue_code="0301", line_number=2, charge=Decimal("95.00"), paid=Decimal("50.00")
        ),
        AdjudicatedLine(
            code="80053", revenue_code="0300", line_number=1, charge=Decimal("95.00"), paid=Decimal("40.00")
        ),
    ]
    placed = adjudication.match_lines(billed, paid)
    assert [(n, line.paid) for n, line in placed or []] == [(2, Decimal("50.00")), (1, Decimal("40.00"))]
    # Without payments' placement the rule stays the claims service's own (code, then charge).
    unplaced = [line.model_copy(update={"line_number": None}) for line in paid]
    assert [n for n, _ in adjudication.match_lines(billed, unplaced) or []] == [1, 2]
