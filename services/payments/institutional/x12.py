"""What an 835 (005010X221A1) says only of institutional claims, read on behalf of the remittance
reader (`remittances.x12`), which walks the set and collects the errors: loop 2100 CLP08-CLP13,
MIA (inpatient adjudication) and MOA (outpatient adjudication), loop 2110 SVC04.

Every element of MIA and MOA is read and checked (an amount or quantity that is not a number is
an error of the set, as a 999 would report it); none of them takes part in the guide's balancing."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from services.payments.institutional.domain import Mia835, Moa835, revenue_code
from shared.x12 import Segment

MIA_AMOUNTS = (2, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 24)
MIA_QUANTITIES = (1, 3, 15)
MIA_REMARKS = (5, 20, 21, 22, 23)
MOA_REMARKS = (3, 4, 5, 6, 7)


class Reader(Protocol):
    """What the remittance reader lends: amounts and quantities read with their errors located."""

    def money(self, seg: Segment, index: int, *, required: bool = True) -> Decimal: ...

    def quantity(self, seg: Segment, index: int) -> Decimal | None: ...

    def fail(self, seg: Segment, element: int | None, rule: str, message: str) -> None: ...


def _amount(reader: Reader, seg: Segment, index: int) -> Decimal | None:
    return reader.money(seg, index, required=False) if seg.get(index) else None


def read_clp(reader: Reader, clp: Segment) -> dict[str, object]:
    """CLP08 facility type code (type of bill digits 2-3; a place of service on professional
    claims), CLP09 claim frequency, CLP11 DRG, CLP12 DRG weight, CLP13 discharge fraction (a
    percentage, checked and not kept): the fields of `Claim835` they fill."""
    reader.quantity(clp, 13)
    return {
        "facility_type_code": clp.get(8),
        "frequency_code": clp.get(9),
        "drg_code": clp.get(11),
        "drg_weight": reader.quantity(clp, 12),
    }


def read_mia(reader: Reader, mia: Segment) -> Mia835:
    """MIA01 covered days (required), MIA04 DRG amount, MIA08 PPS capital amount, remark codes
    MIA05 and MIA20-23; the other amounts and quantities kept by element."""
    if not mia.get(1):
        reader.fail(mia, 1, "required", "MIA01 covered days or visits is required")
    quantities = {i: reader.quantity(mia, i) for i in MIA_QUANTITIES}
    amounts = {i: _amount(reader, mia, i) for i in MIA_AMOUNTS}
    named = (1, 4, 8)
    other = {f"MIA{i:02d}": v for i, v in (quantities | amounts).items() if v is not None and i not in named}
    return Mia835(
        covered_days=quantities[1] or Decimal(0),
        drg_amount=amounts[4],
        capital_amount=amounts[8],
        remark_codes=[mia.get(i) for i in MIA_REMARKS if mia.get(i)],
        other=dict(sorted(other.items())),
    )


def read_moa(reader: Reader, moa: Segment) -> Moa835:
    """MOA01 reimbursement rate (a percentage), MOA02 HCPCS payable amount, MOA03-07 remark
    codes; MOA08 ESRD payment and MOA09 non-payable professional component kept by element."""
    other = {f"MOA{i:02d}": v for i in (8, 9) if (v := _amount(reader, moa, i)) is not None}
    return Moa835(
        reimbursement_rate=reader.quantity(moa, 1),
        hcpcs_payable_amount=_amount(reader, moa, 2),
        remark_codes=[moa.get(i) for i in MOA_REMARKS if moa.get(i)],
        other=other,
    )


def line_revenue_code(svc: Segment, qualifier: str, code: str) -> str | None:
    """The revenue code of an 835 service line: SVC01-2 of an `NU` line, else SVC04 (an
    institutional line adjudicated by HCPCS names its revenue code there)."""
    return revenue_code(code) if qualifier == "NU" else revenue_code(svc.get(4))
