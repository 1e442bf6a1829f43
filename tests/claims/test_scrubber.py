"""Every scrubber edit fires on a claim built to trip it and stays quiet on a clean one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from services.claims.claims.schemas import ClaimData
from services.claims.codesets.domain import CodeData
from services.claims.codesets.usecases import shipped_code_data
from services.claims.reference import store as reference
from services.claims.scrubbing import domain as scrubber
from tests.claims.helpers import make_claim, make_recent_date, make_spoiled

TODAY = date.today()
DOS = date.fromisoformat(make_recent_date())


def make_active() -> scrubber.EligibilityFact:
    return scrubber.EligibilityFact("active", DOS, DOS - timedelta(days=365), DOS + timedelta(days=365))


def make_context(**kw: Any) -> scrubber.ScrubContext:
    """The context the service would build: an active eligibility check and the shipped code data."""
    kw.setdefault("codes", shipped_code_data())
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
    (  # 837P 2010AA N3/N4 (more in test_providers.py)
        "provider_data",
        lambda: make_spoiled(make_claim(), "billing_provider.address", None),
        make_context,
        "billing_provider.address",
    ),
    (  # 837P 2310B NM104
        "provider_data",
        lambda: make_spoiled(make_claim(), "rendering_provider.first_name", None),
        make_context,
        "rendering_provider.first_name",
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
        "diagnosis_sex_conflict",
        lambda: make_spoiled(make_claim(), "diagnoses.1", "N40.0"),  # prostate; the patient is F
        make_context,
        "diagnoses.1",
    ),
    (
        "diagnosis_age_conflict",
        lambda: make_spoiled(make_claim(), "diagnoses.1", "P07.30"),  # preterm newborn; patient 46
        make_context,
        "diagnoses.1",
    ),
    (
        "first_listed_diagnosis",
        lambda: make_spoiled(make_claim(), "diagnoses", ["W19.XXXA", "E11.9", "I10"]),
        make_context,
        "diagnoses.0",
    ),
    (
        "wrong_primary",
        make_claim,
        lambda: make_context(eligibility=[replace(make_active(), other_payers=(("SBX002", "primary"),))]),
        "coverage_order",
    ),
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
    """Every edit a professional claim meets; the institutional ones are
    tests/claims/test_institutional_scrub.py's."""
    professional = [e for e in reference.edits() if "professional" in e.get("claim_types", ["professional"])]
    assert {e["name"] for e in professional} == {c[0] for c in CASES}


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
    # A distinct-service modifier unbundles a procedure (98940 with 97140-XS, below), but an E/M
    # bundled with a same-day procedure needs 25: XU on the E/M does not keep it quiet.
    assert "ncci_ptp" in fired(make_spoiled(make_claim(), "lines.0.modifiers", ["XU"]))


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


# --- code data, modifiers, diagnoses and payers (issue 14, item 10) -----------------------


def make_lines(*lines: tuple[str, list[str], str]) -> dict[str, Any]:
    """make_claim() with these (code, modifiers, units) lines on its date of service."""
    body = make_claim()
    line = body["lines"][0]
    body["lines"] = [
        {**line, "code": code, "modifiers": mods, "units": units, "diagnosis_pointers": [1]}
        for code, mods, units in lines
    ]
    return body


@pytest.mark.parametrize("modifier", ["GP", "GO", "GN"])
def test_therapy_modifiers_are_recognised(modifier):
    """HCPCS Level II therapy modifiers (services under a PT, OT or SLP plan of care) are on
    the HCPCS file's modifier records; a correctly coded therapy claim passes."""
    assert fired(make_lines(("97140", [modifier], "1"), ("97110", [modifier, "59"], "2"))) == {}


def test_one_line_carries_one_therapy_discipline():
    findings = fired(make_lines(("97110", ["GP", "GO"], "1")))
    assert [f.field for f in findings["modifier_rules"]] == ["lines.0.modifiers"]


def test_an_em_bundled_with_a_same_day_procedure_is_advised_modifier_25_on_the_em():
    """NCCI Policy Manual ch. I, E: modifier 25 (a significant, separately identifiable E/M)
    is the one that applies to an E/M code; 59 and the X modifiers are not used on an E/M."""
    (finding,) = fired(make_lines(("20610", [], "1"), ("99213", [], "1")))["ncci_ptp"]
    assert finding.field == "lines.1.modifiers"
    assert "modifier 25 on the E/M" in finding.message
    assert "59" not in finding.message and " X" not in finding.message
    # 59 on the E/M does not unbundle it; 25 does.
    assert "ncci_ptp" in fired(make_lines(("20610", [], "1"), ("99213", ["59"], "1")))
    assert fired(make_lines(("20610", [], "1"), ("99213", ["25"], "1"))) == {}


def test_a_procedure_bundled_into_a_procedure_is_still_advised_59_or_an_x_modifier():
    """Chiropractic manipulation (98940) bundles manual therapy (97140) unless it treated
    another region: 59 or XS on 97140."""
    (finding,) = fired(make_lines(("98940", [], "1"), ("97140", [], "1")))["ncci_ptp"]
    assert "59 or an X modifier" in finding.message
    assert fired(make_lines(("98940", [], "1"), ("97140", ["XS"], "1"))) == {}


def test_mue_line_edits_count_per_line_and_date_of_service_edits_per_day():
    # 20610: MUE 2 with MAI 1 (a line edit): two lines of 2 (right and left knee) pass.
    assert fired(make_lines(("20610", ["RT"], "2"), ("20610", ["LT"], "2"))) == {}
    assert "mue_units" in fired(make_lines(("20610", ["RT"], "3")))
    # 80053: MUE 1 with MAI 2 (date of service, policy): two lines of 1 on one day exceed it.
    (finding,) = fired(make_lines(("80053", [], "1"), ("80053", ["91"], "1")))["mue_units"]
    assert "policy" in finding.message
    # 97110: MAI 3 (date of service, clinical): the excess can be paid on appeal with records.
    (finding,) = fired(make_lines(("97110", [], "3"), ("97110", [], "2")))["mue_units"]
    assert "clinical" in finding.message


def test_a_code_the_hcpcs_file_terminated_is_refused_after_its_termination_date():
    """G2012 (virtual check-in) was terminated 2024-12-31 (replaced by CPT 98016)."""
    (finding,) = fired(make_lines(("G2012", [], "1")))["procedure_code"]
    assert "2024-12-31" in finding.message


def test_with_no_code_set_in_effect_the_scrubber_says_to_load_one():
    findings = fired(make_claim(), make_context(codes=CodeData()))
    assert {f.field for f in findings["procedure_code"]} == {"lines.0.code", "lines.1.code"}
    assert all("load" in f.message for f in findings["procedure_code"])


@pytest.mark.parametrize(
    ("diagnosis", "gender", "edit"),
    [
        ("O09.90", "M", "diagnosis_sex_conflict"),  # supervision of high-risk pregnancy
        ("Z34.00", "M", "diagnosis_sex_conflict"),  # supervision of normal first pregnancy
        ("N40.0", "F", "diagnosis_sex_conflict"),  # benign prostatic hyperplasia
        ("C61", "F", "diagnosis_sex_conflict"),  # malignant neoplasm of prostate
        ("N95.1", "M", "diagnosis_sex_conflict"),  # menopausal states
    ],
)
def test_a_diagnosis_for_the_other_sex_conflicts(diagnosis, gender, edit):
    body = make_spoiled(make_spoiled(make_claim(), "diagnoses.1", diagnosis), "subscriber.gender", gender)
    assert set(fired(body)) == {edit}
    flipped = make_spoiled(body, "subscriber.gender", "F" if gender == "M" else "M")
    assert edit not in fired(flipped)
    assert edit not in fired(make_spoiled(body, "subscriber.gender", "U"))  # unknown: no edit


@pytest.mark.parametrize(
    ("diagnosis", "birth_date", "fires"),
    [
        ("P07.30", "1980-02-03", True),  # a newborn code on an adult
        ("P07.30", None, False),  # ...on a newborn
        ("Z00.129", "1980-02-03", True),  # a child's routine exam on an adult
        ("Z00.00", "2019-05-01", True),  # an adult's exam on a 7-year-old
        ("O09.90", "1950-01-01", True),  # pregnancy at 76
        ("O09.90", "1995-01-01", False),
    ],
)
def test_a_diagnosis_outside_its_age_range_conflicts(diagnosis, birth_date, fires):
    born = birth_date or (DOS - timedelta(days=10)).isoformat()
    body = make_spoiled(make_spoiled(make_claim(), "diagnoses.1", diagnosis), "subscriber.birth_date", born)
    assert ("diagnosis_age_conflict" in fired(body)) is fires


def test_the_patient_not_the_subscriber_is_who_the_diagnoses_are_about():
    body = make_spoiled(make_claim(), "diagnoses.1", "O09.90")
    body = make_spoiled(body, "subscriber.gender", "M")
    body["relationship_code"] = "01"
    body["patient"] = {"first_name": "Ann", "last_name": "Doe", "birth_date": "1985-01-01", "gender": "F"}
    assert fired(body) == {}


def test_an_external_cause_code_is_never_first_listed():
    """ICD-10-CM Official Guidelines, Section I.C.20: an external cause code can never be a
    principal (first-listed) diagnosis; the same holds for a line's first pointer."""
    body = make_spoiled(make_claim(), "diagnoses", ["E11.9", "W19.XXXA"])
    body["lines"][1]["diagnosis_pointers"] = [1, 2]
    assert fired(body) == {}  # listed after the injury or condition: fine
    body["lines"][1]["diagnosis_pointers"] = [2, 1]
    findings = fired(body)["first_listed_diagnosis"]
    assert [f.field for f in findings] == ["lines.1.diagnosis_pointers.0"]


def test_billing_a_payer_as_primary_when_eligibility_names_another_primary_is_caught():
    """The 271's other-payer loop (2120C NM1*PRP) says another payer is primary: COB order
    bills that payer first; this payer is billed as secondary after its 835."""
    other_primary = replace(make_active(), other_payers=(("SBX002", "primary"),))
    (finding,) = fired(make_claim(), make_context(eligibility=[other_primary]))["wrong_primary"]
    assert "SBX002" in finding.message
    assert "wrong_primary" not in fired(
        make_claim(coverage_order="secondary"), make_context(eligibility=[other_primary])
    )
    other_secondary = replace(make_active(), other_payers=(("SBX002", "secondary"),))
    assert fired(make_claim(), make_context(eligibility=[other_secondary])) == {}


def test_the_age_and_sex_rules_name_real_icd10cm_chapters_blocks_and_categories():
    import simple_icd_10_cm as icd

    rules = reference.icd10cm_conflicts()
    for rule in rules["sex"] + rules["age"]:
        for bound in rule["codes"].split("-"):
            assert icd.is_valid_item(bound), rule
        assert rule["source"], rule
