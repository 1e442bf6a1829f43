"""Appeal letters (no servers needed): what a payer needs to find the claim, and an argument
that answers the denial's reason.

A payer's appeals unit finds a claim by the patient (name, date of birth), the member id, its
own claim number (835 CLP07, the payer claim control number) and the dates of service, and
reads what was billed (the procedure codes, 837P loop 2400 SV1) and what it denied (the CAS
group code and CARC, with the RARCs). Then the letter must argue against that reason: a
timely-filing denial is answered with the proof of filing, not with medical necessity.
PHI in the letter is for its recipient, the payer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from services.claims.claims.schemas import ClaimData
from services.claims.claims.tables import Claim
from services.claims.denials.tables import Denial
from services.claims.denials.usecases import render_letter
from tests.claims.helpers import make_claim

DOS = date(2026, 3, 2)


def make_denied(group: str, reason: str, remarks: list[str], **data: object) -> tuple[Claim, Denial]:
    body = make_claim("pat-letter-1", **data)
    for line in body["lines"]:
        line["date_of_service"] = DOS.isoformat()
    content = ClaimData.model_validate(body)
    submitted = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
    claim = Claim(
        id=uuid.uuid4(),
        patient_control_number="C0123456789ABCDEF",
        status="denied",
        patient_id="pat-letter-1",
        payer_id="SBX001",
        data=content.model_dump(mode="json"),
        total_charge=content.total_charge,
        date_of_service=DOS,
        payer_claim_control_number="ICN-LETTER-9",
        created_by="test",
        created_at=submitted,
        updated_at=submitted,
        first_submitted_at=submitted,
        submitted_at=submitted,
    )
    denial = Denial(
        id=uuid.uuid4(),
        claim_id=claim.id,
        payer_id="SBX001",
        patient_id="pat-letter-1",
        reason_code=reason,
        group_code=group,
        adjustments=[{"group_code": group, "reason_code": reason, "amount": "175.00"}],
        remark_codes=remarks,
        action="appeal",
        denied_amount=Decimal("175.00"),
        payer_claim_control_number="ICN-LETTER-9",
        denied_at=submitted + timedelta(days=30),
    )
    return claim, denial


def letter_for(group: str, reason: str, remarks: list[str] | None = None, **data: object) -> str:
    claim, denial = make_denied(group, reason, remarks or [], **data)
    accepted = datetime(2026, 3, 6, 9, 30, tzinfo=UTC)
    return render_letter(claim, denial, ["See the enclosed records."], "Dana Billing", accepted_at=accepted)


@pytest.mark.parametrize(("group", "reason"), [("CO", "29"), ("CO", "50"), ("OA", "18")])
def test_the_letter_identifies_the_claim_as_the_payer_files_it(group, reason):
    letter = letter_for(group, reason)
    for cited in (
        "Doe, Jane",  # the patient (here the subscriber, relationship 18)
        "1980-02-03",  # date of birth
        "SBX10001",  # member id (2010BA NM109)
        "GRP100",  # group number (2000B SBR03)
        "ICN-LETTER-9",  # the payer's claim number (835 CLP07)
        "C0123456789ABCDEF",  # our claim number (CLM01 / CLP01)
        "2026-03-02",  # date of service
        "99213-25",
        "93000-59",
        "E11.9",
        "$175.00",
        f"{group}-{reason}",
        "Dana Billing",
    ):
        assert cited in letter, (cited, letter)


def test_timely_filing_is_argued_with_the_proof_of_filing():
    letter = letter_for("CO", "29")
    assert "CO-29 (The time limit for filing has expired.)" in letter
    assert "first submitted on 2026-03-05" in letter  # 3 days after the date of service
    assert "accepted" in letter and "2026-03-06" in letter  # the payer's 277CA acceptance
    assert "within your 180-day filing limit" in letter  # SBX001's timely_filing_days
    assert "medically necessary" not in letter


@pytest.mark.parametrize(
    ("group", "reason", "remarks", "argument", "data"),
    [
        ("CO", "50", ["N115"], "medically necessary", {}),
        ("CO", "197", [], "authorization AUTH-77", {"prior_authorization_number": "AUTH-77"}),
        ("CO", "15", ["M62"], "authorization AUTH-77", {"prior_authorization_number": "AUTH-77"}),
        ("CO", "29", [], "filing limit", {}),
        ("CO", "22", [], "coordination of benefits", {}),
        ("OA", "18", [], "not a duplicate", {}),
        ("CO", "97", ["M15"], "separately identifiable", {}),
        ("CO", "236", [], "separately identifiable", {}),
        ("CO", "96", ["N130"], "covered benefit", {}),
        ("CO", "204", [], "covered benefit", {}),
        ("CO", "16", ["N290"], "information you found missing", {}),
    ],
)
def test_the_argument_fits_the_reason(group, reason, remarks, argument, data):
    letter = letter_for(group, reason, remarks, **data)
    assert argument in letter, letter
    if reason not in ("50",):
        assert "medically necessary" not in letter, reason


def test_remark_codes_are_cited_with_their_descriptions():
    letter = letter_for("CO", "16", ["MA130", "N290"])
    assert "N290: Missing/incomplete/invalid rendering provider primary identifier." in letter
    assert "MA130: " in letter
    assert "CO-16 (Claim/service lacks information or has submission/billing error(s).)" in letter


def test_a_dependents_letter_names_the_patient_and_the_subscriber():
    patient = {"first_name": "Tim", "last_name": "Doe", "birth_date": "2015-06-07", "gender": "M"}
    letter = letter_for("CO", "50", relationship_code="19", patient=patient)
    assert "Doe, Tim" in letter and "2015-06-07" in letter
    assert "Subscriber:" in letter and "Doe, Jane" in letter
