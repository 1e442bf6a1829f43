"""Eligibility as a payer answers it: read an X12 270 (005010X279A1), answer a 271.

The answer comes from the scenario table (data/scenarios.json) keyed by the member id in
the 270's subscriber loop. A 270 about a dependent (loop 2000D/2100D) is answered for the
dependent on file with the same first name and birth date, in the 271's 2000D/2100D/2110D;
one not on file gets AAA 67 (patient not found) in 2100D. The syntax (envelopes, counts,
delimiters) is shared/x12.py's; this module only knows which segments a 270 carries and
which a 271 must carry; the 2110C/2110D eligibility and benefit rows are benefits271.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from deploy.payer_sandbox.benefits271 import eligibility_loops
from deploy.payer_sandbox.data import Scenario, Tables
from shared import x12

VERSION = "005010X279A1"


@dataclass
class DependentAsked:
    """The 270's loop 2100D: the patient is the subscriber's dependent."""

    last_name: str = ""
    first_name: str = ""
    birth_date: str = ""  # CCYYMMDD
    gender: str = ""
    relationship: str = ""


@dataclass
class Inquiry:
    """What a 270 asks, as far as the sandbox cares (one patient per real-time inquiry)."""

    submitter_reference: str = "0"
    payer_name: str = ""
    payer_id: str = ""
    provider_name: str = ""
    provider_id_qualifier: str = "XX"
    provider_id: str = ""
    trace_number: str = ""
    trace_originator: str = ""
    member_id: str = ""
    last_name: str = ""
    first_name: str = ""
    birth_date: str = ""
    date_of_service: date | None = None
    service_types: list[str] = field(default_factory=list)
    sender_id: str = ""
    receiver_id: str = ""
    patient_account: str = ""  # REF*EJ of the patient's loop, echoed in the 271
    dependent: DependentAsked | None = None


def _patient_segment(q: Inquiry, s: x12.Segment, level: str) -> None:
    """REF, DMG and INS of the subscriber's (22) or the dependent's (23) name loop."""
    dep = q.dependent if level == "23" else None
    if s.id == "REF" and s.get(1) == "EJ":
        q.patient_account = s.get(2)
    elif s.id == "DMG" and dep is not None:
        dep.birth_date, dep.gender = s.get(2), s.get(3)
    elif s.id == "DMG" and level == "22":
        q.birth_date = s.get(2)
    elif s.id == "INS" and dep is not None:
        dep.relationship = s.get(2)


def parse_270(text: str) -> Inquiry:
    """Read the first patient inquiry of a 270; raises x12.X12Error with a location."""
    inter = x12.parse(text, expect="270")
    tx = inter.transactions[0]
    q = Inquiry(sender_id=inter.sender_id, receiver_id=inter.receiver_id)
    level = ""
    for s in tx.segments:
        if s.id == "BHT":
            q.submitter_reference = s.get(3, "0")
        elif s.id == "HL":
            level = s.get(3)
            if level == "23":
                if q.dependent is not None:
                    break  # one patient per real-time inquiry
                q.dependent = DependentAsked()
        elif s.id in ("REF", "DMG", "INS"):
            _patient_segment(q, s, level)
        elif s.id == "NM1" and s.get(1) == "03" and q.dependent is not None:
            q.dependent.last_name, q.dependent.first_name = s.get(3), s.get(4)
        elif s.id == "NM1" and s.get(1) == "PR":
            q.payer_name, q.payer_id = s.get(3), s.get(9)
        elif s.id == "NM1" and s.get(1) == "1P":
            q.provider_name = s.get(3) or " ".join(p for p in (s.get(4), s.get(3)) if p)
            q.provider_id_qualifier, q.provider_id = s.get(8, "XX"), s.get(9)
        elif s.id == "TRN" and level in ("22", "23") and not q.trace_number:
            q.trace_number, q.trace_originator = s.get(2), s.get(3)
        elif s.id == "NM1" and s.get(1) == "IL":
            q.last_name, q.first_name = s.get(3), s.get(4)
            q.member_id = s.get(9).strip() if s.get(8) == "MI" else ""
        elif s.id == "DTP" and s.get(1) == "291":
            raw = s.get(3)
            try:
                q.date_of_service = datetime.strptime(raw[:8], "%Y%m%d").date()
            except ValueError:
                raise s.error("not a CCYYMMDD date", 3) from None
        elif s.id == "EQ":
            q.service_types.extend(t for t in s.get(1).split(inter.delimiters.repetition) if t)
    if not q.service_types:
        q.service_types = ["30"]
    return q


@dataclass(frozen=True)
class Answer:
    """The decision for one inquiry: HTTP status, delay, and the 271 (None for an HTTP error)."""

    http_status: int
    delay_ms: int
    body: str | None
    outcome: str  # active | inactive | error | http_error


def answer(
    inquiry: Inquiry,
    tables: Tables,
    *,
    today: date,
    now: datetime,
    control_number: int,
    slow_delay_ms: int | None = None,
) -> Answer:
    """Pick the scenario for the inquiry's member id and build the 271 it calls for."""
    member_id = inquiry.member_id
    scenario = tables.scenario(member_id) if member_id else None
    if not tables.well_formed(member_id):
        body = _aaa_271(inquiry, tables, None, "2100C", tables.malformed_aaa, "C", now, control_number)
        return Answer(200, 0, body, "error")
    if scenario is None:
        body = _aaa_271(inquiry, tables, None, "2100C", tables.unknown_aaa, "C", now, control_number)
        return Answer(200, 0, body, "error")
    delay = scenario.delay_ms
    if delay is None:
        delay = slow_delay_ms if slow_delay_ms is not None else tables.slow_delay_ms
    if scenario.http_status >= 400:
        return Answer(scenario.http_status, delay, None, "http_error")
    if scenario.aaa:
        a = scenario.aaa
        body = _aaa_271(inquiry, tables, scenario, a.loop, a.code, a.follow_up, now, control_number)
        return Answer(200, delay, body, "error")
    dependent = None
    if inquiry.dependent is not None:
        dependent = scenario.dependent(inquiry.dependent.first_name, inquiry.dependent.birth_date)
        if dependent is None:
            body = _unknown_dependent_271(inquiry, tables, scenario, now, control_number)
            return Answer(200, delay, body, "error")
    dos = inquiry.date_of_service or today
    active = scenario.active_on(dos)
    body = build_271(
        inquiry, tables, scenario, active=active, now=now, control_number=control_number, dependent=dependent
    )
    return Answer(200, delay, body, "active" if active else "inactive")


def _aaa_271(
    inquiry: Inquiry,
    tables: Tables,
    scenario: Scenario | None,
    loop: str,
    code: str,
    follow_up: str,
    now: datetime,
    control_number: int,
) -> str:
    """A 271 that answers the inquiry with an AAA rejection in the given loop."""
    aaa = x12.seg("AAA", "Y", "", code, follow_up)
    payer_id, payer_name = _payer(inquiry, tables, scenario)
    body = _header(inquiry, payer_id, payer_name, now)
    if loop == "2100A":
        body.append(aaa)
    body += _receiver(inquiry)
    body += _subscriber_name(inquiry, scenario=None)
    if loop == "2100C":
        body.append(aaa)
    return _envelope(body, inquiry, payer_id, now, control_number)


def _unknown_dependent_271(
    inquiry: Inquiry, tables: Tables, scenario: Scenario, now: datetime, control_number: int
) -> str:
    """The subscriber is on file, the dependent asked about is not: AAA*Y**67*C in 2100D."""
    payer_id, payer_name = _payer(inquiry, tables, scenario)
    body = _header(inquiry, payer_id, payer_name, now) + _receiver(inquiry, dependent=True)
    body += _subscriber_name(inquiry, scenario, trace=False)
    body += _dependent_name(inquiry)
    body.append(x12.seg("AAA", "Y", "", "67", "C"))
    return _envelope(body, inquiry, payer_id, now, control_number)


def _payer(inquiry: Inquiry, tables: Tables, scenario: Scenario | None) -> tuple[str, str]:
    if scenario is not None:
        rules = tables.payer(scenario.payer_id)
        return scenario.payer_id, rules.name if rules else scenario.payer_id
    payer_id = inquiry.payer_id or "SBX001"
    rules = tables.payer(payer_id)
    return payer_id, rules.name if rules else (inquiry.payer_name or "SANDBOX PAYER")


def _header(inquiry: Inquiry, payer_id: str, payer_name: str, now: datetime) -> list[list[str]]:
    return [
        x12.seg(
            "BHT",
            "0022",
            "11",
            x12.clean(inquiry.submitter_reference, 50) or "0",
            x12.d8(now),
            now.strftime("%H%M"),
        ),
        x12.seg("HL", "1", "", "20", "1"),
        x12.seg("NM1", "PR", "2", x12.clean(payer_name, 60), "", "", "", "", "PI", x12.clean(payer_id, 80)),
    ]


def _receiver(inquiry: Inquiry, *, dependent: bool = False) -> list[list[str]]:
    """2000B/2100B, and the subscriber's HL (HL04 = 1 when a dependent HL follows)."""
    return [
        x12.seg("HL", "2", "1", "21", "1"),
        x12.seg(
            "NM1",
            "1P",
            "2",
            x12.clean(inquiry.provider_name, 60) or "PROVIDER",
            "",
            "",
            "",
            "",
            inquiry.provider_id_qualifier or "XX",
            x12.clean(inquiry.provider_id, 80) or "1234567893",
        ),
        x12.seg("HL", "3", "2", "22", "1" if dependent else "0"),
    ]


def _trace(inquiry: Inquiry) -> list[list[str]]:
    if not inquiry.trace_number:
        return []
    return [x12.seg("TRN", "2", x12.clean(inquiry.trace_number, 50), x12.clean(inquiry.trace_originator, 10))]


def _subscriber_name(inquiry: Inquiry, scenario: Scenario | None, *, trace: bool = True) -> list[list[str]]:
    """TRN (when the subscriber is the patient) and 2100C NM1*IL."""
    out = _trace(inquiry) if trace else []
    sub = scenario.subscriber if scenario and scenario.subscriber else None
    last = sub["last_name"] if sub else inquiry.last_name
    first = sub["first_name"] if sub else inquiry.first_name
    # Echo the member id when it is on file, or when it is at least well-formed text;
    # a malformed one is not repeated back.
    member_id = scenario.member_id if scenario else inquiry.member_id
    nm1 = x12.seg("NM1", "IL", "1", x12.clean(last, 60), x12.clean(first, 35))
    if member_id and (scenario is not None or member_id.isalnum()):
        nm1 += ["", "", "", "MI", x12.clean(member_id, 80)]
    out.append(nm1)
    return out


def _dependent_name(inquiry: Inquiry, dependent: dict[str, str] | None = None) -> list[list[str]]:
    """2000D HL and TRN, and 2100D NM1*03 (no id in 5010): the name on file, else as asked."""
    asked = inquiry.dependent or DependentAsked()
    last = dependent["last_name"] if dependent else asked.last_name
    first = dependent["first_name"] if dependent else asked.first_name
    return [
        x12.seg("HL", "4", "3", "23", "0"),
        *_trace(inquiry),
        x12.seg("NM1", "03", "1", x12.clean(last, 60), x12.clean(first, 35)),
    ]


def _demographics(person: dict[str, Any], address: dict[str, str] | None) -> list[list[str]]:
    """N3/N4 and DMG of a name loop (DMG03 only for F/M)."""
    out = []
    if address:
        out.append(
            x12.seg(
                "N3",
                x12.clean(address["line1"], 55),
                *([x12.clean(address["line2"], 55)] if address.get("line2") else []),
            )
        )
        out.append(x12.seg("N4", x12.clean(address["city"], 30), address["state"], address["postal_code"]))
    if person.get("birth_date"):
        gender = person.get("gender") if person.get("gender") in ("F", "M") else ""
        out.append(x12.seg("DMG", "D8", person["birth_date"].replace("-", ""), gender))
    return out


def _patient_loop(
    inquiry: Inquiry, scenario: Scenario, person: dict[str, Any], relationship: str | None
) -> list[list[str]]:
    """The patient's name loop after NM1: REF*18 (plan number), REF*EJ (the 270's, echoed),
    N3/N4, DMG, INS (a dependent's relationship), DTP*346/347 (coverage dates)."""
    out = []
    plan_number = (scenario.plan or {}).get("plan_number")
    if plan_number:
        out.append(x12.seg("REF", "18", x12.clean(plan_number, 50)))
    if inquiry.patient_account:
        out.append(x12.seg("REF", "EJ", inquiry.patient_account[:50]))
    address = (scenario.subscriber or {}).get("address")
    out += _demographics(person, address)
    if relationship:
        out.append(x12.seg("INS", "N", relationship))
    if scenario.coverage_start:
        out.append(x12.seg("DTP", "346", "D8", x12.d8(scenario.coverage_start)))
    if scenario.coverage_end:
        out.append(x12.seg("DTP", "347", "D8", x12.d8(scenario.coverage_end)))
    return out


def build_271(
    inquiry: Inquiry,
    tables: Tables,
    scenario: Scenario,
    *,
    active: bool,
    now: datetime,
    control_number: int,
    dependent: dict[str, str] | None = None,
) -> str:
    """A full 271 for a known member: coverage status, dates, benefits, prior auth, COB, and
    the patient's demographics; for a dependent, in 2000D/2100D/2110D under the subscriber."""
    payer_id, payer_name = _payer(inquiry, tables, scenario)
    body = _header(inquiry, payer_id, payer_name, now) + _receiver(inquiry, dependent=dependent is not None)
    sub = scenario.subscriber or {}
    if dependent is None:
        body += _subscriber_name(inquiry, scenario)
        body += _patient_loop(inquiry, scenario, sub, None)
        pcp = scenario.primary_care_provider
    else:
        body += _subscriber_name(inquiry, scenario, trace=False)
        body += _demographics(sub, sub.get("address"))
        body += _dependent_name(inquiry, dependent)
        body += _patient_loop(inquiry, scenario, dependent, dependent.get("relationship"))
        pcp = None  # the table's primary care provider is the subscriber's
    body += eligibility_loops(scenario, active, pcp, inquiry.service_types)
    return _envelope(body, inquiry, payer_id, now, control_number)


def _envelope(
    body: list[list[str]], inquiry: Inquiry, payer_id: str, now: datetime, control_number: int
) -> str:
    return x12.build(
        [body],
        transaction_code="271",
        functional_id="HB",
        version=VERSION,
        sender_id=inquiry.receiver_id or payer_id,
        receiver_id=inquiry.sender_id or "SUBMITTER",
        control_number=control_number,
        now=now,
    )
