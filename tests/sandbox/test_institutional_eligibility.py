"""Payer sandbox, eligibility for hospital service types: a 270 asking EQ 48 (hospital
inpatient), 50 (hospital outpatient) and 86 (emergency) gets, in loop 2110C, the cost share
the sandbox's adjudication applies to institutional claims (test_institutional.py checks the
835 against the same scenarios.json entries): 48 a deductible per admission (EB*C, EB06 36)
and coinsurance (EB*A, EB08 a fraction); 50 the plan's calendar-year deductible (EB06 23 total,
29 remaining) and coinsurance; 86 the emergency copay per visit (EB*B, EB06 27). A 270 for
service type 30 only is answered as before, without these rows. Every 271 is read by x12sdk's
typed 005010X279A1 models (pyx12 has no X279A1 map).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from deploy.payer_sandbox.data import scenario_table
from deploy.payer_sandbox.testing import running_sandbox, sample_270
from shared import x12
from tests.sandbox.test_eligibility import parse_271

MEMBERS = scenario_table()["members"]
DOS = "20261120"


@pytest.fixture
async def sandbox() -> Any:
    async with running_sandbox() as handle:
        yield handle


async def ask(sandbox: Any, member_id: str, service_types: tuple[str, ...]) -> str:
    body = sample_270(member_id, date_of_service=DOS, service_types=service_types)
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as client:
        response = await client.post(
            "/x12/270", content=body, headers={"content-type": "application/edi-x12"}
        )
    assert response.status_code == 200, response.text
    model, aaa = parse_271(response.text)
    assert model is not None and aaa == []
    return response.text


def rows(text: str, service_type: str, in_plan: str = "Y") -> dict[tuple[str, str], Decimal]:
    """(EB01, EB06) -> EB07 amount or EB08 percent, for one service type (EB03) and network."""
    out: dict[tuple[str, str], Decimal] = {}
    for s in x12.tokenize(text)[1]:
        if s.id == "EB" and s.get(3) == service_type and s.get(12) == in_plan and s.get(2) == "IND":
            key = (s.get(1), s.get(6))
            assert key not in out, f"one EB*{key[0]} with EB06 {key[1]} for service type {service_type}"
            out[key] = Decimal(s.get(7) or s.get(8))
    return out


async def test_hospital_service_types_carry_the_benefits_adjudication_uses(sandbox: Any) -> None:
    text = await ask(sandbox, "SBX10001", ("30", "48", "50", "86"))
    tier = MEMBERS["SBX10001"]["benefits"]["in_network"]
    inpatient, outpatient = tier["hospital"]["48"], tier["hospital"]["50"]
    deductible = tier["deductible"]["individual"]
    assert rows(text, "48") == {
        ("C", "36"): Decimal(inpatient["deductible_per_admission"]),
        ("A", ""): Decimal(inpatient["coinsurance_percent"]) / 100,
    }, "48: deductible per admission (EB06 36), coinsurance"
    assert rows(text, "50") == {
        ("C", "23"): Decimal(deductible["total"]),
        ("C", "29"): min(
            Decimal(deductible["remaining"]), Decimal(tier["deductible"]["family"]["remaining"])
        ),
        ("A", ""): Decimal(outpatient["coinsurance_percent"]) / 100,
    }, "50: the plan's calendar-year deductible, coinsurance"
    assert rows(text, "86") == {
        ("B", "27"): Decimal(tier["copays"]["86"]),
        ("C", "23"): 0,
        ("C", "29"): 0,
        ("A", ""): 0,
    }, "86: copay per visit and nothing else"


async def test_a_plan_without_hospital_terms_reports_its_own_deductible_and_coinsurance(sandbox: Any) -> None:
    text = await ask(sandbox, "SBX10002", ("48",))
    tier = MEMBERS["SBX10002"]["benefits"]["in_network"]
    remaining = min(
        Decimal(tier["deductible"]["individual"]["remaining"]),
        Decimal(tier["deductible"]["family"]["remaining"]),
    )
    assert rows(text, "48") == {
        ("C", "23"): Decimal(tier["deductible"]["individual"]["total"]),
        ("C", "29"): remaining,
        ("A", ""): Decimal(tier["coinsurance_percent"]) / 100,
    }


async def test_a_270_for_service_type_30_is_answered_without_hospital_rows(sandbox: Any) -> None:
    text = await ask(sandbox, "SBX10001", ("30",))
    assert rows(text, "48") == rows(text, "50") == {}
