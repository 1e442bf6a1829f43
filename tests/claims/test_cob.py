"""Secondary and tertiary claims carry the prior payers' real adjudication (837P 005010X222A1
loops 2320/2330A/2330B and 2430, from the 835's CLP/CAS and SVC/CAS as payment.posted carries
them) and each coverage's own member id (2010BA: the destination payer's; 2330A: the other
payer's). Every file written here validates with pyx12 and passes the guide's COB balancing
rules (tests/claims/cob.py). Pure: no servers."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from services.claims.adjudication import domain
from services.claims.claims.schemas import ClaimData
from services.claims.claims.tables import Claim
from services.claims.settings import ClaimsSettings
from services.claims.submission.x12 import generate
from shared import x12
from shared.events.catalogue import OtherPayer, PaymentPosted
from tests.claims.cob import cob_errors, x12_837_errors
from tests.claims.helpers import make_claim

REMITTED = date.today()


def make_primary_claim(lines: list[tuple[str, str]], **overrides: Any) -> Claim:
    """A submitted primary claim to SBX001 for member SBX40002 with these (code, charge) lines."""
    body = make_claim("pat-cob-1", **overrides)
    dos = body["lines"][0]["date_of_service"]
    body["subscriber"]["member_id"] = "SBX40002"
    body["lines"] = [
        {"code": code, "charge": charge, "date_of_service": dos, "diagnosis_pointers": [1]}
        for code, charge in lines
    ]
    data = ClaimData.model_validate(body)
    return make_stored(data)


def make_stored(data: ClaimData) -> Claim:
    now = datetime.now(UTC)
    return Claim(
        id=uuid.uuid4(),
        patient_control_number=f"C{uuid.uuid4().hex[:12].upper()}",
        status="accepted",
        patient_id=data.patient_id,
        payer_id=data.payer_id,
        coverage_order=data.coverage_order,
        frequency_code=data.frequency_code,
        data=data.model_dump(mode="json"),
        total_charge=data.total_charge,
        date_of_service=data.first_date_of_service,
        created_by="test",
        created_at=now,
        updated_at=now,
    )


def make_posted(
    claim: Claim,
    lines: list[tuple[str, str, str, list[tuple[str, str, str]]]],
    claim_adjustments: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    *,
    status: str = "1",
    with_lines: bool = True,
) -> PaymentPosted:
    """payment.posted as payments publishes it from one 835 CLP: lines are (code, charge, paid,
    CAS) per SVC; `adjustments` keeps the claim's and lines' totals by group and reason."""
    totals: dict[tuple[str, str], Decimal] = {}
    for g, r, a in [*claim_adjustments, *(adj for line in lines for adj in line[3])]:
        totals[(g, r)] = totals.get((g, r), Decimal(0)) + Decimal(a)
    charge = sum((Decimal(line[1]) for line in lines), Decimal(0))
    paid = charge - sum(totals.values(), Decimal(0))
    patient = sum((a for (g, _), a in totals.items() if g == "PR"), Decimal(0))
    payload: dict[str, Any] = {
        "payment_id": str(uuid.uuid4()),
        "source": "insurer",
        "claim_id": str(claim.id),
        "account_id": claim.patient_id,
        "amount": str(paid),
        "method": "eft",
        "posted_at": datetime(2026, 3, 3, 9, 0, tzinfo=UTC).isoformat(),
        "remittance_date": REMITTED.isoformat(),
        "payer_id": claim.payer_id,
        "patient_control_number": claim.patient_control_number,
        "payer_claim_control_number": f"ICN-{claim.payer_id}-1",
        "claim_status_code": status,
        "charge": str(charge),
        "patient_responsibility": str(patient),
        "adjustments": [
            {"group_code": g, "reason_code": r, "amount": str(a)} for (g, r), a in totals.items()
        ],
        "trace_number": "TRN-COB-1",
    }
    if with_lines:
        payload["claim_adjustments"] = [
            {"group_code": g, "reason_code": r, "amount": a} for g, r, a in claim_adjustments
        ]
        payload["lines"] = [
            {
                "line_item_control_number": str(n),
                "procedure_qualifier": "HC",
                "code": code,
                "charge": line_charge,
                "paid": line_paid,
                "units": "1",
                "adjustments": [{"group_code": g, "reason_code": r, "amount": a} for g, r, a in cas],
            }
            for n, (code, line_charge, line_paid, cas) in enumerate(lines, start=1)
        ]
    return PaymentPosted.model_validate(payload)


def make_837(data: ClaimData) -> list[list[str]]:
    """The claim's 837P, checked by pyx12 and by the COB balancing rules, as segment lists."""
    text = generate(data, "CCOB1", control_number=7101, settings=ClaimsSettings())
    assert x12_837_errors(text) == []
    return [[s.id, *s.elements] for s in x12.parse(text).transactions[0].segments]


def loops(segs: list[list[str]]) -> tuple[list[list[list[str]]], list[list[list[str]]]]:
    """The 2320 loops (SBR to the next SBR or LX) and the 2400 loops (LX to the next LX)."""
    clm = next(i for i, s in enumerate(segs) if s[0] == "CLM")
    others: list[list[list[str]]] = []
    lines: list[list[list[str]]] = []
    for s in segs[clm:]:
        if s[0] == "LX":
            lines.append([s])
        elif lines:
            lines[-1].append(s)
        elif s[0] == "SBR":
            others.append([s])
        elif others:
            others[-1].append(s)
    return others, lines


# The 295.00 claim: 99214 220.00, 36415 15.00, 85025 60.00; the primary paid 106.00 and
# adjusted 189.00, every adjustment at line level (as the sandbox's 835 reports them).
LINES_295 = [
    ("99214", "220.00", "95.00", [("CO", "45", "100.00"), ("PR", "3", "25.00")]),
    ("36415", "15.00", "8.00", [("CO", "45", "5.00"), ("PR", "2", "2.00")]),
    ("85025", "60.00", "3.00", [("CO", "45", "45.00"), ("PR", "1", "12.00")]),
]
SECONDARY = OtherPayer(payer_id="SBX002", order="secondary", member_id="SBX40002S")


def secondary_of(claim: Claim, posted: PaymentPosted) -> ClaimData:
    other_payers = {(claim.patient_id, claim.payer_id): [SECONDARY.model_dump(mode="json")]}
    nxt = domain.next_coverage(claim, other_payers)
    assert nxt is not None
    return domain.next_payer_data(claim, posted, nxt)


def test_secondary_2430_is_the_primarys_835_lines_and_no_adjustment_is_reported_twice():
    primary = make_primary_claim([(code, charge) for code, charge, _, _ in LINES_295])
    posted = make_posted(primary, LINES_295)
    assert (posted.charge, posted.amount) == (Decimal("295.00"), Decimal("106.00"))
    segs = make_837(secondary_of(primary, posted))
    (other,), lines = loops(segs)
    assert [s for s in other if s[0] == "CAS"] == []  # no claim-level adjustment in this 835
    assert ["AMT", "D", "106"] in other and ["AMT", "EAF", "39"] in other
    assert not [s for s in other if s[:2] == ["DTP", "573"]]  # the date is the lines' (2430)
    got = [[s for s in line if s[0] in ("SVD", "CAS", "DTP")] for line in lines]
    assert got == [
        [
            ["DTP", "472", "D8", x12.d8(primary.date_of_service)],
            ["SVD", "SBX001", "95", "HC:99214", "", "1"],
            ["CAS", "CO", "45", "100"],
            ["CAS", "PR", "3", "25"],
            ["DTP", "573", "D8", x12.d8(REMITTED)],
        ],
        [
            ["DTP", "472", "D8", x12.d8(primary.date_of_service)],
            ["SVD", "SBX001", "8", "HC:36415", "", "1"],
            ["CAS", "CO", "45", "5"],
            ["CAS", "PR", "2", "2"],
            ["DTP", "573", "D8", x12.d8(REMITTED)],
        ],
        [
            ["DTP", "472", "D8", x12.d8(primary.date_of_service)],
            ["SVD", "SBX001", "3", "HC:85025", "", "1"],
            ["CAS", "CO", "45", "45"],
            ["CAS", "PR", "1", "12"],
            ["DTP", "573", "D8", x12.d8(REMITTED)],
        ],
    ]


def test_claim_level_adjustments_stay_in_2320_and_line_ones_in_2430():
    """An 835 with a claim-level CAS (CO-253 sequestration) next to line CAS: the 2320 CAS
    has only the claim-level one; AMT*D is CLP04, which is not the sum of the lines' SVC03."""
    lines = [
        ("99213", "125.00", "80.00", [("CO", "45", "25.00"), ("PR", "2", "20.00")]),
        ("93000", "50.00", "12.00", [("CO", "45", "30.00"), ("PR", "2", "8.00")]),
    ]
    primary = make_primary_claim([(c, ch) for c, ch, _, _ in lines])
    posted = make_posted(primary, lines, [("CO", "253", "2.00")])
    assert posted.amount == Decimal("90.00")
    segs = make_837(secondary_of(primary, posted))
    (other,), out = loops(segs)
    assert [s for s in other if s[0] == "CAS"] == [["CAS", "CO", "253", "2"]]
    assert ["AMT", "D", "90"] in other and ["AMT", "EAF", "28"] in other
    svd = [s for line in out for s in line if s[0] == "SVD"]
    assert [s[2] for s in svd] == ["80", "12"]


def test_without_line_detail_the_secondary_reports_the_claim_level_only():
    """A payment.posted without lines (an 835 CLP without SVC, or an older producer): 2320
    carries every adjustment once, no 2430 is made up, and 2330B has the remittance date."""
    lines = [
        ("99213", "125.00", "80.00", [("CO", "45", "25.00"), ("PR", "2", "20.00")]),
        ("93000", "50.00", "12.00", [("CO", "45", "30.00"), ("PR", "2", "8.00")]),
    ]
    primary = make_primary_claim([(c, ch) for c, ch, _, _ in lines])
    posted = make_posted(primary, lines, with_lines=False)
    segs = make_837(secondary_of(primary, posted))
    (other,), out = loops(segs)
    assert [s for s in other if s[0] == "CAS"] == [["CAS", "CO", "45", "55"], ["CAS", "PR", "2", "28"]]
    assert ["DTP", "573", "D8", x12.d8(REMITTED)] in other
    assert not [s for line in out for s in line if s[0] in ("SVD", "CAS")]


def test_the_secondary_claim_carries_the_secondary_member_id_from_eligibility():
    """Eligibility's other payer (271 2110C REF*1W) names the secondary's member id: 2010BA
    carries it (the destination payer's member), 2330A the primary's."""
    primary = make_primary_claim([("99214", "220.00")])
    assert primary.data["other_coverages"] == []
    posted = make_posted(
        primary, [("99214", "220.00", "95.00", [("CO", "45", "100.00"), ("PR", "3", "25.00")])]
    )
    data = secondary_of(primary, posted)
    assert data.subscriber is not None and data.subscriber.member_id == "SBX40002S"
    segs = make_837(data)
    il = [s for s in segs if s[:2] == ["NM1", "IL"]]
    assert [s[9] for s in il] == ["SBX40002S", "SBX40002"]  # 2010BA, then 2330A


def test_a_secondary_whose_member_id_is_unknown_is_not_billed_with_the_primarys():
    primary = make_primary_claim([("99214", "220.00")])
    other_payers = {(primary.patient_id, primary.payer_id): [{"payer_id": "SBX002", "order": "secondary"}]}
    assert domain.next_coverage(primary, other_payers) is None


def test_the_tertiary_claim_carries_both_prior_payers_adjudication():
    """Primary SBX001 → secondary SBX002 → tertiary SBX003 (coverages from the encounter): the
    tertiary's 837 has one 2320 per prior payer (P and S), each balancing on its own, each
    with its own member id in 2330A, and the tertiary's member in 2010BA."""
    primary = make_primary_claim(
        [("99214", "220.00"), ("36415", "15.00")],
        other_coverages=[
            {"payer_id": "SBX002", "member_id": "SBX40002S", "order": "secondary"},
            {"payer_id": "SBX003", "member_id": "MLT400021", "order": "tertiary"},
        ],
    )
    first = [
        ("99214", "220.00", "95.00", [("CO", "45", "100.00"), ("PR", "3", "25.00")]),
        ("36415", "15.00", "8.00", [("CO", "45", "5.00"), ("PR", "2", "2.00")]),
    ]
    nxt = domain.next_coverage(primary, {})
    assert nxt is not None and (nxt.payer_id, nxt.member_id) == ("SBX002", "SBX40002S")
    secondary_data = domain.next_payer_data(primary, make_posted(primary, first), nxt)
    make_837(secondary_data)
    secondary = make_stored(secondary_data)
    second = [
        ("99214", "220.00", "20.00", [("OA", "23", "195.00"), ("PR", "3", "5.00")]),
        ("36415", "15.00", "2.00", [("OA", "23", "13.00")]),
    ]
    nxt = domain.next_coverage(secondary, {})
    assert nxt is not None and (nxt.payer_id, nxt.member_id, nxt.order) == ("SBX003", "MLT400021", "tertiary")
    tertiary = domain.next_payer_data(secondary, make_posted(secondary, second, status="2"), nxt)
    segs = make_837(tertiary)
    assert next(s for s in segs if s[0] == "SBR")[1] == "T"
    others, lines = loops(segs)
    assert [o[0][1] for o in others] == ["P", "S"]
    assert [[s for s in o if s[:2] in (["AMT", "D"], ["NM1", "IL"], ["NM1", "PR"])] for o in others] == [
        [
            ["AMT", "D", "103"],
            ["NM1", "IL", "1", "DOE", "JANE", "", "", "", "MI", "SBX40002"],
            ["NM1", "PR", "2", "SANDBOX HEALTH PLAN", "", "", "", "", "PI", "SBX001"],
        ],
        [
            ["AMT", "D", "22"],
            ["NM1", "IL", "1", "DOE", "JANE", "", "", "", "MI", "SBX40002S"],
            ["NM1", "PR", "2", "SANDBOX MUTUAL", "", "", "", "", "PI", "SBX002"],
        ],
    ]
    assert [[s[1:3] for s in line if s[0] == "SVD"] for line in lines] == [
        [["SBX001", "95"], ["SBX002", "20"]],
        [["SBX001", "8"], ["SBX002", "2"]],
    ]


def respliced(text: str, old: str, new: str) -> str:
    """`text` with `old` replaced by `new`, SE01 counting the segments added."""
    added = new.count("~") - old.count("~")
    text = text.replace(old, new)
    return re.sub(r"SE\*(\d+)\*", lambda m: f"SE*{int(m.group(1)) + added}*", text)


def test_the_balancing_check_catches_what_the_guide_forbids():
    """The check itself: a file that reports adjustments at both levels, a line that does not
    balance, and a 2430 naming no 2330B payer are each caught."""
    primary = make_primary_claim([(code, charge) for code, charge, _, _ in LINES_295])
    text = generate(
        secondary_of(primary, make_posted(primary, LINES_295)),
        "CCOB1",
        control_number=7102,
        settings=ClaimsSettings(),
    )
    assert cob_errors(text) == []
    doubled = respliced(text, "AMT*D*106~", "CAS*CO*45*150~CAS*PR*1*39~AMT*D*106~")
    assert cob_errors(doubled) == [
        "claim CCOB1 payer SBX001: CLM02 295 - AMT*D 106 - 2320 CAS 189 - 2430 CAS 189 = -189, not 0"
    ]
    off = text.replace("SVD*SBX001*95*", "SVD*SBX001*96*")
    assert "claim CCOB1 line 1 payer SBX001: SV102 220 - SVD02 96 - 2430 CAS 125 = -1, not 0" in cob_errors(
        off
    )
    stranger = text.replace("SVD*SBX001*8*", "SVD*SBX009*8*")
    assert "claim CCOB1 line 2: SVD01 SBX009 names no 2330B payer" in cob_errors(stranger)


def test_a_secondary_posted_by_a_person_must_balance_as_the_guide_says():
    """POST /v1/claims takes other payers' adjudication as typed; what the guide's COB
    balancing forbids is refused (422) before anything is stored, naming the loop."""
    from services.claims.claims.domain import strict_errors

    body = make_claim(payer_id="SBX002", coverage_order="secondary")  # 125.00 + 50.00
    primary = {
        "payer_id": "SBX001",
        "member_id": "SBX40002",
        "order": "primary",
        "paid": "100.00",
        "patient_responsibility": "30.00",
        "adjustments": [],
        "lines": [
            {
                "line_number": 1,
                "paid": "80.00",
                "adjustments": [
                    {"group_code": "CO", "reason_code": "45", "amount": "25.00"},
                    {"group_code": "PR", "reason_code": "2", "amount": "20.00"},
                ],
            },
            {
                "line_number": 2,
                "paid": "20.00",
                "adjustments": [
                    {"group_code": "CO", "reason_code": "45", "amount": "20.00"},
                    {"group_code": "PR", "reason_code": "2", "amount": "10.00"},
                ],
            },
        ],
    }
    assert strict_errors(ClaimData.model_validate({**body, "other_coverages": [primary]})) == []
    doubled = {**primary, "adjustments": [{"group_code": "CO", "reason_code": "45", "amount": "45.00"}]}
    wrong_line = {**primary, "lines": [{**primary["lines"][0], "paid": "81.00"}, primary["lines"][1]]}
    no_line = {**primary, "lines": [primary["lines"][0], {**primary["lines"][1], "line_number": 3}]}
    found = {
        name: [
            (e.field, e.rule)
            for e in strict_errors(ClaimData.model_validate({**body, "other_coverages": [o]}))
        ]
        for name, o in (("doubled", doubled), ("wrong_line", wrong_line), ("no_line", no_line))
    }
    assert found == {
        "doubled": [("body.other_coverages.0", "cob_unbalanced")],  # CLM02 - AMT*D - 45 - 75 = -45
        "wrong_line": [("body.other_coverages.0.lines.0", "cob_unbalanced")],  # 125 - 81 - 45 = -1
        "no_line": [("body.other_coverages.0.lines.1.line_number", "no_such_line")],
    }
