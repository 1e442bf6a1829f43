"""Writing the 270 inquiry a payer expects (X12 005010X279A1) for one patient, who is the
subscriber, and one or more service type codes, on top of `shared.x12`. The answer, a 271,
is read by `coverage.x12`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.eligibility.coverage.domain import VERSION
from shared import x12


@dataclass(frozen=True)
class Inquiry:
    """One patient (the subscriber) asked about at one payer."""

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
        x12.seg("HL", "3", "2", "22", "0"),
        x12.seg("TRN", "1", inquiry.trace_number[:50], "9" + sender_id[:9].rjust(9, "0")),
        x12.seg(
            "NM1",
            "IL",
            "1",
            x12.clean(inquiry.last_name, 60),
            x12.clean(inquiry.first_name, 35),
            "",
            "",
            "",
            "MI",
            x12.clean(inquiry.member_id, 80),
        ),
        x12.seg("DMG", "D8", x12.d8(inquiry.birth_date)),
        x12.seg("DTP", "291", "D8", x12.d8(inquiry.date_of_service)),
    ]
    body += [x12.seg("EQ", code) for code in inquiry.service_type_codes]
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
