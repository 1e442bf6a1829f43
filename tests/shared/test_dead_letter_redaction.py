"""PHI redaction of dead letters by event schema (issue 16, item 2): what a caller without
`ops:phi` sees of each payload, and a guard for payload fields added later."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from shared.deadletters.domain import PHI_FIELDS, REDACTED, _model_in, redact
from shared.events import encode, new_event
from shared.events.catalogue import (
    CATALOGUE,
    ClaimRejected,
    ClaimSubmitted,
    Coverage,
    EligibilityChecked,
    EncounterCompleted,
    OtherPayer,
    Person,
    RejectionReason,
    RemittanceReceived,
)
from shared.events.frontoffice import (
    CoverageUpdated,
    Demographics,
    DiscrepancyField,
    DiscrepancyFound,
    Guarantor,
    PatientUpdated,
    RegisteredCoverage,
)
from tests.claims.helpers import make_npi
from tests.shared.helpers import make_encounter

SOURCE = "/partners/redaction-test"


def test_redaction_follows_each_event_schema():
    """What a caller without ops:phi sees of every payload that carries PHI: names, birth
    dates, addresses, member ids, diagnoses, raw X12 and partners' free text are gone; the
    ids and codes an operator needs to decide stay."""
    now = datetime.now(UTC)
    subscriber = Person(first_name="Robert", last_name="Leeworth", birth_date=date(1968, 1, 2))
    encounter = make_encounter(make_npi()).model_copy(
        update={"coverages": [Coverage(payer_id="SBX001", member_id="SBX10001", subscriber=subscriber)]}
    )
    payloads = [
        encounter,
        ClaimSubmitted(
            claim_id=uuid.uuid4(),
            patient_control_number="P1",
            patient_id="pat-1",
            payer_id="SBX001",
            total_charge=Decimal("1.00"),
            x12_837="NM1*IL*1*LEEWORTH*ANNABEL",
            submitted_at=now,
        ),
        RemittanceReceived(
            trace_number="T1", payer_id="SBX001", x12_835="NM1*QC*1*LEEWORTH", received_at=now
        ),
        EligibilityChecked(
            check_id=uuid.uuid4(),
            patient_id="pat-1",
            payer_id="SBX001",
            status="active",
            date_of_service=date.today(),
            checked_at=now,
            other_payers=[OtherPayer(payer_id="SBX002", order="secondary", member_id="SBX20002")],
        ),
        ClaimRejected(
            patient_control_number="P1",
            reasons=[RejectionReason(code="A7", message="subscriber LEEWORTH not found")],
            rejected_at=now,
        ),
    ]
    registry = _front_office_payloads(now)
    payloads += registry
    secrets = ("Annabel", "ANNABEL", "Leeworth", "LEEWORTH", "Robert", "1970-03-04", "1968-01-02", "9 Elm St")
    secrets += ("E11.9", "SBX10001", "SBX20002", "5035550142")
    secrets += (
        "Maribel",
        "Okafor",
        "1981-07-19",
        "12 Birch Ln",
        "maribel@example.org",
        "W55501234",
        "1981-07-18",
    )
    for payload in payloads:
        event = new_event(payload, source=SOURCE)
        _, _, value, _ = encode(event)
        seen = json.dumps(redact(event.type, value))
        assert not [s for s in secrets if s in seen], (event.type, seen)
    shown = redact("encounter.completed.v1", encode(new_event(encounter, source=SOURCE))[2])
    assert shown["encounter_id"] == encounter.encounter_id and shown["payer_id"] == "SBX001"
    assert shown["coverages"][0]["subscriber"]["first_name"] == REDACTED
    assert shown["lines"][0]["code"] == "99213" and shown["patient"]["gender"] == "F"
    # An institutional encounter: its facility block (admitting diagnosis, POA by diagnosis,
    # ICD-10-PCS procedures, the stay's dates) is withheld whole; its revenue codes stay.
    stay = encounter.model_dump(mode="json") | {
        "kind": "institutional",
        "lines": [{"revenue_code": "0120", "units": 3, "charge": "7200.00"}],
        "institutional": {
            "facility_type_code": "11",
            "statement_from": "2026-11-17",
            "statement_to": "2026-11-20",
            "patient_status": "01",
            "admitting_diagnosis": "R0602",
            "present_on_admission": {"I5021": "Y"},
            "procedures": [{"code": "0SR90J9", "date": "2026-11-18"}],
        },
    }
    shown = redact("encounter.completed.v1", encode(new_event(EncounterCompleted(**stay), source=SOURCE))[2])
    assert shown["institutional"] == REDACTED and shown["lines"][0]["revenue_code"] == "0120"
    assert not [s for s in ("R0602", "I5021", "0SR90J9") if s in json.dumps(shown)]
    assert redact("encounter.completed.v1", b'{"encounter_id": "e1", "nickname": "Annie"}') == {
        "encounter_id": "e1",
        "nickname": REDACTED,
    }, "a field the schema does not know is redacted"
    assert redact("no.such.v1", b"{}").startswith("[withheld")


def _front_office_payloads(now: datetime) -> list[object]:
    """patient.updated, coverage.updated and eligibility.discrepancy_found carrying one
    patient's (and her guarantor's and subscriber's) PHI."""
    person = Demographics.model_validate(
        {
            "first_name": "Maribel",
            "last_name": "Okafor",
            "birth_date": "1981-07-19",
            "address": {"line1": "12 Birch Ln", "city": "Salem", "state": "OR", "postal_code": "97301"},
            "phone": "5035550142",
            "email": "maribel@example.org",
        }
    )
    coverage = RegisteredCoverage(
        coverage_id=uuid.uuid4(),
        order="primary",
        payer_id="SBX001",
        member_id="W55501234",
        relationship_code="19",
        subscriber=person,
        effective_date=date(2026, 1, 1),
    )
    return [
        PatientUpdated(
            patient_id="pat-1",
            revision=2,
            patient=person,
            guarantor=Guarantor(relationship_code="19", person=person),
            reason="moved",
            changed_by="clerk-1",
            changed_at=now,
        ),
        CoverageUpdated(
            patient_id="pat-1",
            revision=3,
            coverages=[coverage],
            reason="correction",
            changed_by="c",
            changed_at=now,
        ),
        DiscrepancyFound(
            check_id=uuid.uuid4(),
            patient_id="pat-1",
            payer_id="SBX001",
            registry_revision=3,
            fields=[
                DiscrepancyField(field="birth_date", registry_value="1981-07-19", payer_value="1981-07-18")
            ],
            found_at=now,
        ),
    ]


PHI_LOOKING = re.compile(r"name|birth|phone|email|address|member|diagnos|x12|ssn|message")
NOT_PHI = {
    "EncounterLine.diagnosis_pointers",  # positions (1-4) in the claim's diagnoses
    # Our submission file's name: made from a format whose only variables are partner, control
    # numbers, time, kind and a uuid (services/gateway/partners/domain.py NAME_VARIABLES).
    "SubmissionFileAcknowledged.file_name",
}


def test_every_field_that_looks_like_phi_is_redacted():
    """A guard for schemas that grow: every field of every event payload whose name looks like
    PHI (outside a field redacted whole) is in PHI_FIELDS, so a new `phone` or `email` is not
    shown to callers without ops:phi until someone decides."""
    unredacted = []
    seen: set[type] = set()
    todo = [spec.payload for spec in CATALOGUE.values()]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            if name in PHI_FIELDS.get(model, ()):
                continue
            looks = PHI_LOOKING.search(name) and not name.endswith(("_id", "_number", "_code", "_codes"))
            if looks and f"{model.__name__}.{name}" not in NOT_PHI:
                unredacted.append(f"{model.__name__}.{name}")
            nested = _model_in(field.annotation)
            if nested is not None:
                todo.append(nested)
    assert unredacted == []
