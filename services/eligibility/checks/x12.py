"""Writing the 270 inquiry a payer expects (X12 005010X279A1) for one patient and one or more
service type codes, on top of `shared.x12`. The answer, a 271, is read by `coverage.x12`.

The patient is the subscriber (loop 2000C/2100C carries the trace, name, REF*EJ, DMG, date
and EQs), or a dependent without an id of their own: then 2100C carries only the subscriber's
name and member id, and the trace, the dependent's name, REF*EJ, DMG, INS (relationship), date
and EQs go in loop 2000D/2100D/2110D (HL*..*23 under the subscriber's HL, whose HL04 is 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.eligibility.coverage.domain import VERSION
from shared import x12

REF02_MAX = 50


@dataclass(frozen=True)
class Dependent:
    """The patient when they are a dependent of the subscriber (loop 2100D)."""

    first_name: str
    last_name: str
    birth_date: date
    gender: str | None = None  # DMG03: F or M
    relationship_code: str | None = None  # INS02: 01 spouse, 19 child, 34 other adult


@dataclass(frozen=True)
class Inquiry:
    """One patient asked about at one payer: the subscriber, or `dependent` under them."""

    payer_id: str
    payer_name: str
    provider_npi: str
    provider_name: str
    member_id: str
    first_name: str
    last_name: str
    birth_date: date
    date_of_service: date
    service_type_codes: tuple[str, ...]
    trace_number: str
    patient_account: str = ""  # REF*EJ: the practice's patient id, echoed by the payer
    dependent: Dependent | None = None


def inquiry_of(row: Any, request: dict[str, Any], *, payer_name: str, provider_name: str) -> Inquiry:
    """The 270's content: a `checks` row and its opened request PHI (`checks.domain.sealed_request`)."""
    dep = request.get("dependent")
    dependent = None
    if dep is not None:
        dependent = Dependent(
            first_name=dep["first_name"],
            last_name=dep["last_name"],
            birth_date=date.fromisoformat(dep["birth_date"]),
            gender=dep.get("gender"),
            relationship_code=dep.get("relationship_code"),
        )
    return Inquiry(
        payer_id=row["payer_id"],
        payer_name=payer_name,
        provider_npi=row["provider_npi"],
        provider_name=provider_name,
        member_id=request["member_id"],
        first_name=request["first_name"],
        last_name=request["last_name"],
        birth_date=date.fromisoformat(request["birth_date"]),
        date_of_service=row["date_of_service"],
        service_type_codes=tuple(row["service_type_codes"]),
        trace_number=row["id"].hex[:30],
        patient_account=row["patient_id"],
        dependent=dependent,
    )


def _subscriber(inquiry: Inquiry) -> list[str]:
    """2100C NM1*IL: the subscriber's name and member id."""
    last, first = x12.clean(inquiry.last_name, 60), x12.clean(inquiry.first_name, 35)
    return x12.seg("NM1", "IL", "1", last, first, "", "", "", "MI", x12.clean(inquiry.member_id, 80))


def _sendable(account: str) -> bool:
    """Whether the patient id can go in REF02 as it is (1-50 characters, no delimiter), so the
    payer's echo matches it: one that cannot is left out rather than altered."""
    return 0 < len(account) <= REF02_MAX and not any(c in account for c in "*:~^\r\n")


def _patient_loop(inquiry: Inquiry, sender_id: str) -> list[list[str]]:
    """The patient's TRN, name loop (2100C or 2100D) and EQs (2110C or 2110D)."""
    dep = inquiry.dependent
    out = [x12.seg("TRN", "1", inquiry.trace_number[:50], "9" + sender_id[:9].rjust(9, "0"))]
    if dep is None:
        out.append(_subscriber(inquiry))
    else:
        # NM108/NM109 are not used in 2100D
        out.append(x12.seg("NM1", "03", "1", x12.clean(dep.last_name, 60), x12.clean(dep.first_name, 35)))
    if _sendable(inquiry.patient_account):
        out.append(x12.seg("REF", "EJ", inquiry.patient_account))
    if dep is None:
        out.append(x12.seg("DMG", "D8", x12.d8(inquiry.birth_date)))
    else:
        out.append(x12.seg("DMG", "D8", x12.d8(dep.birth_date), *([dep.gender] if dep.gender else [])))
        if dep.relationship_code:
            out.append(x12.seg("INS", "N", dep.relationship_code))
    out.append(x12.seg("DTP", "291", "D8", x12.d8(inquiry.date_of_service)))
    out += [x12.seg("EQ", code) for code in inquiry.service_type_codes]
    return out


def build_270(
    inquiry: Inquiry,
    *,
    sender_id: str,
    control_number: int,
    now: datetime | None = None,
    usage: str = "P",
) -> str:
    """The full interchange (ISA..IEA) of one 270 inquiry for `inquiry`."""
    now = now or datetime.now()
    body = [
        x12.seg("BHT", "0022", "13", inquiry.trace_number[:50], x12.d8(now), now.strftime("%H%M")),
        x12.seg("HL", "1", "", "20", "1"),
        x12.seg("NM1", "PR", "2", x12.clean(inquiry.payer_name, 60), "", "", "", "", "PI", inquiry.payer_id),
        x12.seg("HL", "2", "1", "21", "1"),
        x12.seg(
            "NM1", "1P", "2", x12.clean(inquiry.provider_name, 60), "", "", "", "", "XX", inquiry.provider_npi
        ),
    ]
    if inquiry.dependent is None:
        body.append(x12.seg("HL", "3", "2", "22", "0"))
    else:
        body += [
            x12.seg("HL", "3", "2", "22", "1"),
            _subscriber(inquiry),
            x12.seg("HL", "4", "3", "23", "0"),
        ]
    body += _patient_loop(inquiry, sender_id)
    return x12.build(
        [body],
        transaction_code="270",
        functional_id="HS",
        version=VERSION,
        sender_id=sender_id,
        receiver_id=inquiry.payer_id,
        control_number=control_number,
        now=now,
        usage=usage,
    )
