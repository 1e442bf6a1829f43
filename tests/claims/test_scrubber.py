"""Every scrubber edit fires on a claim built to trip it and stays quiet on a clean one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from services.claims.claims.schemas import ClaimData
from services.claims.reference import store as reference
from services.claims.scrubbing import domain as scrubber
from tests.claims.helpers import make_claim, make_recent_date, make_spoiled

TODAY = date.today()
DOS = date.fromisoformat(make_recent_date())


def make_active() -> scrubber.EligibilityFact:
    return scrubber.EligibilityFact("active", DOS, DOS - timedelta(days=365), DOS + timedelta(days=365))


def make_context(**kw: Any) -> scrubber.ScrubContext:
    return scrubber.ScrubContext(today=TODAY, eligibility=kw.pop("eligibility", [make_active()]), **kw)


def make_data(body: dict[str, Any]) -> ClaimData:
    return ClaimData.model_validate(body)


def fired(
    body: dict[str, Any], ctx: scrubber.ScrubContext | None = None
) -> dict[str, list[scrubber.Finding]]:
    result: dict[str, list[scrubber.Finding]] = {}
    for f in scrubber.scrub(make_data(body), ctx or make_context()):
        result.setdefault(f.edit, []).append(f)
    return result


def test_a_clean_claim_trips_no_edit():
    assert fired(make_claim()) == {}


def make_auth(**kw: Any) -> scrubber.AuthorizationFact:
    values = dict(
        number="AUTH1",
        service_codes=("29881", "97110"),
        start_date=DOS - timedelta(days=30),
        end_date=DOS + timedelta(days=30),
        visits_allowed=10,
        visits_used=1,
    )
    values.update(kw)
    return scrubber.AuthorizationFact(**values)


def make_pt_claim() -> dict[str, Any]:
    body = make_claim()
    body["lines"] = [{**body["lines"][0], "code": "29881", "modifiers": [], "units": "1"}]
    return body


# (edit, how to spoil the claim, the context, the field it should name)
CASES: list[tuple[str, Callable[[], dict[str, Any]], Callable[[], scrubber.ScrubContext], str]] = [
    ("required_data", lambda: make_spoiled(make_claim(), "subscriber", None), make_context, "subscriber"),
    (
        "required_data",
        lambda: make_spoiled(make_claim(), "subscriber.address", None),
        make_context,
        "subscriber.address",
    ),
    (
        "npi_check_digit",
        lambda: make_spoiled(make_claim(), "billing_provider.npi", "1234567890"),
        make_context,
        "billing_provider.npi",
    ),
    (
        "npi_check_digit",
        lambda: make_spoiled(make_claim(), "rendering_provider.npi", "1245319590"),
        make_context,
        "rendering_provider.npi",
    ),
    (
        "icd10cm_valid",
        lambda: make_spoiled(make_claim(), "diagnoses.1", "Q99.99X"),
        make_context,
        "diagnoses.1",
    ),
    ("icd10cm_valid", lambda: make_spoiled(make_claim(), "diagnoses.0", "E11"), make_context, "diagnoses.0"),
    (
        "procedure_code",
        lambda: make_spoiled(make_claim(), "lines.1.code", "9300Z"),
        make_context,
        "lines.1.code",
    ),
    (
        "procedure_code",
        lambda: make_spoiled(make_claim(), "lines.1.code", "12345"),
        make_context,
        "lines.1.code",
    ),
    (
        "modifier_rules",
        lambda: make_spoiled(make_claim(), "lines.1.modifiers", ["25"]),
        make_context,
        "lines.1.modifiers.0",
    ),
    (
        "modifier_rules",
        lambda: make_spoiled(make_claim(), "lines.1.modifiers", ["59", "LT", "RT"]),
        make_context,
        "lines.1.modifiers",
    ),
    (
        "modifier_rules",
        lambda: make_spoiled(make_claim(), "lines.1.modifiers", ["ZZ"]),
        make_context,
        "lines.1.modifiers.0",
    ),
    (
        "diagnosis_pointers",
        lambda: make_spoiled(make_claim(), "lines.0.diagnosis_pointers", [1, 3]),
        make_context,
        "lines.0.diagnosis_pointers.1",
    ),
    (
        "place_of_service",
        lambda: make_spoiled(make_claim(), "place_of_service", "98"),
        make_context,
        "place_of_service",
    ),
    (
        "date_rules",
        lambda: make_spoiled(
            make_claim(), "lines.1.date_of_service", (TODAY + timedelta(days=2)).isoformat()
        ),
        make_context,
        "lines.1.date_of_service",
    ),
    (
        "date_rules",
        lambda: make_spoiled(make_claim(), "subscriber.birth_date", (DOS + timedelta(days=1)).isoformat()),
        make_context,
        "subscriber.birth_date",
    ),
    (
        "timely_filing",
        lambda: make_old_claim(200),
        lambda: make_context(eligibility=[make_active_on(200)]),
        "lines.0.date_of_service",
    ),
    ("prior_authorization", make_pt_claim, make_context, "lines.0.code"),
    (
        "prior_authorization",
        lambda: make_therapy_claim(),
        lambda: make_context(eligibility=[make_needs_auth_for("PT")]),
        "lines.0.code",
    ),
    (
        "prior_authorization",
        make_pt_claim,
        lambda: make_context(authorizations=[make_auth(end_date=DOS - timedelta(days=1))]),
        "lines.0.code",
    ),
    (
        "prior_authorization",
        make_pt_claim,
        lambda: make_context(authorizations=[make_auth(visits_used=10)]),
        "lines.0.code",
    ),
    (
        "coverage_inactive",
        make_claim,
        lambda: make_context(eligibility=[scrubber.EligibilityFact("inactive", DOS, None, None)]),
        "payer_id",
    ),
    (
        "coverage_inactive",
        make_claim,
        lambda: make_context(
            eligibility=[
                scrubber.EligibilityFact(
                    "active", DOS - timedelta(days=90), DOS - timedelta(days=400), DOS - timedelta(days=10)
                )
            ]
        ),
        "payer_id",
    ),
    ("coverage_not_verified", make_claim, lambda: make_context(eligibility=[]), "payer_id"),
    (
        "ncci_ptp",
        lambda: make_spoiled(make_claim(), "lines.0.modifiers", []),
        make_context,
        "lines.0.modifiers",
    ),
    ("ncci_ptp", lambda: make_pair("99214", "99213"), make_context, "lines.1.code"),
    ("mue_units", lambda: make_spoiled(make_claim(), "lines.1.units", "2"), make_context, "lines.1.units"),
    (
        "duplicate_claim",
        make_claim,
        lambda: make_context(other_claims=[scrubber.OtherClaim("C0000000000000001", ("99213",), (DOS,))]),
        "lines",
    ),
]


def make_therapy_claim() -> dict[str, Any]:
    body = make_claim()
    body["lines"] = [{**body["lines"][0], "code": "97110", "modifiers": [], "units": "2"}]
    return body


def make_needs_auth_for(*service_types: str) -> scrubber.EligibilityFact:
    fact = make_active()
    return scrubber.EligibilityFact(
        fact.status, fact.date_of_service, fact.coverage_start, fact.coverage_end, service_types
    )


def make_active_on(days_ago: int) -> scrubber.EligibilityFact:
    day = TODAY - timedelta(days=days_ago)
    return scrubber.EligibilityFact("active", day, day - timedelta(days=30), day + timedelta(days=30))


def make_old_claim(days_ago: int) -> dict[str, Any]:
    body = make_claim()
    old = (TODAY - timedelta(days=days_ago)).isoformat()
    for line in body["lines"]:
        line["date_of_service"] = old
    return body


def make_pair(first: str, second: str) -> dict[str, Any]:
    body = make_claim()
    body["lines"][0]["code"], body["lines"][1]["code"] = first, second
    body["lines"][1]["modifiers"] = ["25"]  # indicator 0: no modifier unbundles it
    return body


@pytest.mark.parametrize(
    ("edit", "make", "ctx", "field"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_each_edit_fires_on_a_claim_built_to_trip_it(edit, make, ctx, field):
    findings = fired(make(), ctx())
    assert edit in findings, f"{edit} did not fire; got {sorted(findings)}"
    assert field in [f.field for f in findings[edit]]
    assert all(f.message and f.severity in ("error", "warning") for f in findings[edit])
    # ...and the spoilt part is the only thing wrong: no other edit fires.
    assert set(findings) == {edit}, findings


def test_every_configured_edit_is_exercised():
    assert {e["name"] for e in reference.edits()} == {c[0] for c in CASES}


def test_a_valid_authorization_or_a_distinct_service_modifier_keeps_them_quiet():
    assert fired(make_pt_claim(), make_context(authorizations=[make_auth()])) == {}
    # Physical therapy needs authorization only where the eligibility check says so (SBX30001).
    assert fired(make_therapy_claim()) == {}
    assert (
        fired(
            make_therapy_claim(),
            make_context(eligibility=[make_needs_auth_for("PT")], authorizations=[make_auth()]),
        )
        == {}
    )
    assert fired(make_spoiled(make_claim(), "lines.0.modifiers", ["XU"])) == {}


def test_an_edit_can_be_turned_off_and_reseverity_is_data(tmp_path, monkeypatch):
    import json
    import shutil

    data = tmp_path / "data"
    shutil.copytree(reference.get_claims_settings().data_dir, data)
    edits = json.loads((data / "edits.json").read_text())
    for edit in edits["edits"]:
        if edit["name"] == "mue_units":
            edit["enabled"] = False
        if edit["name"] == "place_of_service":
            edit["severity"] = "warning"
    (data / "edits.json").write_text(json.dumps(edits))
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(data))
    reference.reload()
    try:
        body = make_spoiled(make_spoiled(make_claim(), "lines.1.units", "2"), "place_of_service", "98")
        findings = fired(body)
        assert "mue_units" not in findings
        assert [f.severity for f in findings["place_of_service"]] == ["warning"]
    finally:
        monkeypatch.delenv("CLAIMS_DATA_DIR")
        reference.reload()


def test_operator_code_set_file_adds_codes(tmp_path, monkeypatch):
    codes = tmp_path / "cpt.txt"
    codes.write_text("# licensed list\n12345,Some procedure\n")
    monkeypatch.setenv("CLAIMS_CODE_SET_FILE", str(codes))
    reference.reload()
    try:
        assert "procedure_code" not in fired(make_spoiled(make_claim(), "lines.1.code", "12345"))
    finally:
        monkeypatch.delenv("CLAIMS_CODE_SET_FILE")
        reference.reload()
