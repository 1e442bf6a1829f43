"""Payer sandbox rules without a broker: the 837P reader on the public samples, the
adjudication arithmetic against payers.json and the 271 benefits, claim-level COB, and the
835 writer under pyx12 for every kind of claim payment."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from deploy.payer_sandbox import claim837
from deploy.payer_sandbox.adjudication import ClaimPayment, Context, Memory, adjudicate, price
from deploy.payer_sandbox.data import default_tables
from deploy.payer_sandbox.remit835 import Unbalanced, build_835, check_balanced
from deploy.payer_sandbox.testing import SampleLine, sample_837
from tests.claims.cob import cob_errors
from tests.conftest import pyx12_errors

SAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "payer_sandbox" / "data" / "samples"
TABLES = default_tables()
TODAY = date(2026, 11, 21)
DOS = (TODAY - timedelta(days=2)).strftime("%Y%m%d")


def _ctx(claim_id: str = "c1", order: str = "primary", share: str = "0") -> Context:
    return Context(7, claim_id, TODAY, order, None, Decimal(share))


def _run(text: str, memory: Memory | None = None, order: str = "primary") -> list[ClaimPayment]:
    claim = claim837.parse_837(text)
    payer = TABLES.payer(claim.payer_id)
    scenario = TABLES.scenario(claim.member_id)
    assert payer is not None and scenario is not None
    return adjudicate(
        claim, _ctx(order=order), tables=TABLES, payer=payer, scenario=scenario, memory=memory or Memory()
    )


def _valid_835(payments: list[ClaimPayment]) -> str:
    payer = TABLES.payer(payments[0].payer_id)
    assert payer is not None
    text = build_835(
        payments,
        payer=payer,
        payee_name="CLINIC",
        payee_npi="1234567893",
        trace_number="T1",
        control_number=3,
        now=datetime(2026, 11, 21, 9, 0),
    )
    errors = pyx12_errors(text)
    assert not errors, errors
    check_balanced(text)
    return text


def test_an_unbalanced_835_is_caught() -> None:
    text = _valid_835(_run(sample_837("TAMPER1", "SBX10001", [SampleLine("99213", "150.00")])))
    check_balanced(text)
    with pytest.raises(Unbalanced):
        check_balanced(text.replace("SVC*HC:99213*150*", "SVC*HC:99213*151*"))


def test_public_837p_samples_are_read_and_edited() -> None:
    results = {}
    assert len(list(SAMPLES.glob("*.837"))) == 2
    for path in sorted(SAMPLES.glob("*.837")):
        claim = claim837.parse_837(path.read_text())
        assert claim.pcn and claim.lines
        results[path.name] = [p.code for p in claim837.validate(claim, expected_pcn=claim.pcn)]
    assert results["demo.example1.837"] == []  # a clean claim passes every edit
    assert "A7:562" in results["demo.example2.837"]  # its billing NPI fails the check digit


def test_primary_amounts_follow_fee_schedule_and_271_benefits() -> None:
    tier = TABLES.members["SBX10001"].in_network
    assert tier is not None
    payer = TABLES.payer("SBX001")
    assert payer is not None
    # Two non-copay lines: deductible first (running across lines), then 20% coinsurance.
    text = sample_837(
        "R1",
        "SBX10001",
        [SampleLine("29881", "2000.00", units=3, prior_auth="A1"), SampleLine("70553", "700.00")],
        date_of_service=DOS,
    )
    (payment,) = _run(text)
    first, second = payment.lines
    allowed1 = price(payer, claim837.parse_837(text).lines[0])
    assert allowed1 == payer.fee_schedule[("29881", None)] * 3 > tier.deductible_remaining
    deductible = tier.deductible_remaining
    pr = {(a.group, a.reason): a.amount for a in first.adjustments}
    assert pr[("PR", "1")] == min(deductible, allowed1)
    assert pr[("PR", "2")] == ((allowed1 - pr[("PR", "1")]) * tier.coinsurance_percent / 100).quantize(
        Decimal("0.01")
    )
    assert pr[("CO", "45")] == Decimal("2000.00") - allowed1
    pr2 = {(a.group, a.reason): a.amount for a in second.adjustments}
    assert ("PR", "1") not in pr2  # the deductible was used up by the first line
    allowed2 = payer.fee_schedule[("70553", None)]
    assert pr2[("PR", "2")] == allowed2 * tier.coinsurance_percent / 100
    assert second.paid == allowed2 - pr2[("PR", "2")]
    assert payment.patient_responsibility == sum(
        (a.amount for line in payment.lines for a in line.adjustments if a.group == "PR"), Decimal(0)
    )
    _valid_835([payment])


def test_out_of_pocket_maximum_caps_patient_responsibility() -> None:
    tier = TABLES.members["SBX10002"].in_network
    assert tier is not None
    lines = [SampleLine("29881", "5000.00", units=10, prior_auth="A1")]  # allowed 5200 capped by the charge
    (payment,) = _run(sample_837("R2", "SBX10002", lines, date_of_service=DOS))
    assert payment.patient_responsibility == min(
        tier.oop_remaining,
        tier.deductible_remaining
        + (Decimal("5000.00") - tier.deductible_remaining) * tier.coinsurance_percent / 100,
    )
    _valid_835([payment])


def test_secondary_from_claim_level_cob_only() -> None:
    """Without 2430 line data, the prior payer's 2320 amounts are spread over the lines by
    charge; the secondary pays the PR within its allowed amounts; the rest is OA-23."""
    rebuilt = sample_837(
        "R3",
        "SBX40002S",
        [SampleLine("99213", "150.00"), SampleLine("99214", "150.00")],
        date_of_service=DOS,
        payer_id="SBX002",
        responsibility="S",
        prior_claim_paid="200",
        prior_claim_adjustments=(("PR", "2", "40"), ("CO", "45", "60")),
    )
    assert cob_errors(rebuilt) == []  # the 837P guide's COB balancing (claim level only)
    claim = claim837.parse_837(rebuilt)
    assert claim.other_paid == Decimal(200) and [a.reason for a in claim.other_adjustments] == ["2", "45"]
    (payment,) = _run(rebuilt, order="secondary")
    assert payment.status == "2"
    sbx002 = TABLES.payer("SBX002")
    assert sbx002 is not None
    allowed = sbx002.fee_schedule[("99213", None)] + sbx002.fee_schedule[("99214", None)]
    # The budget is SBX002's allowed for the claim minus what the primary paid.
    assert payment.paid == min(Decimal(40), allowed - 200) == Decimal(30)
    assert payment.patient_responsibility == Decimal(40) - payment.paid  # the rest stays PR-2
    assert {a.reason for line in payment.lines for a in line.adjustments if a.group == "PR"} == {"2"}
    _valid_835([payment])


def test_replacement_reverses_then_repays_in_one_balanced_835() -> None:
    memory = Memory()
    (original,) = _run(
        sample_837("R4", "SBX10001", [SampleLine("99214", "200.00")], date_of_service=DOS), memory
    )
    replaced = _run(
        sample_837(
            "R4",
            "SBX10001",
            [SampleLine("99214", "220.00")],
            date_of_service=DOS,
            frequency_code="7",
            original_reference=original.pccn,
        ),
        memory,
    )
    assert [p.status for p in replaced] == ["22", "1"]
    assert replaced[0].paid == -original.paid and replaced[0].pccn == original.pccn
    assert replaced[1].pccn != original.pccn
    text = _valid_835(replaced)
    assert check_balanced(text)["bpr"] == replaced[1].paid - original.paid


def test_ehr_cli_publishes_at_a_rate(servers: object) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "deploy.payer_sandbox.ehr",
            "--count",
            "20",
            "--rate",
            "40",
            "--run-id",
            "cli" + DOS,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**__import__("os").environ, "KAFKA_BOOTSTRAP_SERVERS": servers.kafka_bootstrap},  # type: ignore[attr-defined]
    )
    assert "published 20 encounter.completed" in result.stdout
