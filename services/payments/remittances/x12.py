"""The 835 (005010X221A1) read into the dataclasses of `domain.py`, on top of the shared X12 syntax layer.

Only meaning lives here; `shared.x12` does delimiters, envelopes and segment counts. A file
is read completely and checked before anything is posted: the claim and line amounts must
balance with their adjustments, and the claim payments less the provider-level
adjustments must equal the BPR amount. Every error carries the segment position, id and
element (never the data: 835s are full of PHI), so a 422 can say exactly where.

Public sample files vary more than the guide allows; two deviations are read with a
warning instead of refused, because the money in them still balances:
  * SVC01 written with `>` as the component separator while ISA16 says `:`;
  * SVC01 split by the element separator (`SVC*HC*99213*...`), which shifts the amounts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from services.payments.remittances.domain import (
    PAYMENT_METHODS,
    ZERO,
    Adjustment835,
    Claim835,
    Line835,
    Party835,
    ProviderAdjustment,
    Remittance835,
)
from shared import x12
from shared.x12 import Segment, X12Error, read_d8

CENT = Decimal("0.01")
GROUP_CODES = {"CO", "PR", "OA", "PI", "CR"}
SVC_QUALIFIERS = {"AD", "ER", "HC", "HP", "IV", "N4", "NU", "WK", "ZZ"}


def parse_835(text: str) -> list[Remittance835]:
    """Every transaction set of an 835 interchange, checked; raises a located X12Error."""
    interchange = x12.parse(text, expect="835", strict=False)
    result = []
    for transaction in interchange.transactions:
        remittance = _read_transaction(transaction.control_number, transaction.segments)
        remittance.warnings[:0] = interchange.warnings
        result.append(remittance)
    return result


class _Cursor:
    """Walks a transaction's segments with one-segment lookahead."""

    def __init__(self, segments: list[Segment], end_position: int) -> None:
        self.segments = segments
        self.index = 0
        self.end_position = end_position

    def peek(self) -> Segment | None:
        return self.segments[self.index] if self.index < len(self.segments) else None

    def peek_id(self) -> str:
        seg = self.peek()
        return seg.id if seg else ""

    def take(self) -> Segment:
        seg = self.segments[self.index]
        self.index += 1
        return seg

    def require(self, segment_id: str, what: str) -> Segment:
        seg = self.peek()
        if seg is None or seg.id != segment_id:
            position = seg.position if seg else self.end_position
            raise X12Error(f"{what}: expected {segment_id}", position=position, segment=segment_id)
        return self.take()

    def until(self, *stops: str) -> Iterator[Segment]:
        while (seg := self.peek()) is not None and seg.id not in stops:
            yield self.take()


def _money(seg: Segment, index: int, *, required: bool = True) -> Decimal:
    """An amount with at most two decimals, as Decimal with exactly two."""
    value = x12.read_amount(seg, index, required=required)
    if value is None:
        return ZERO
    exponent = value.as_tuple().exponent
    if exponent == -2:
        return value
    if isinstance(exponent, int) and exponent < -2:
        raise seg.error("an amount has more than two decimals", index)
    return value.quantize(CENT)


def _read_transaction(control_number: str, segments: list[Segment]) -> Remittance835:
    end = (segments[-1].position + 1) if segments else 0
    cur = _Cursor(segments, end)
    bpr = cur.require("BPR", "the 835 must start with the financial information")
    remittance = _read_bpr(bpr, control_number)
    trn = cur.require("TRN", "the reassociation trace number must follow BPR")
    if not trn.get(2):
        raise trn.error("the trace number is missing", 2)
    remittance.trace_number, remittance.trace_originator = trn.get(2), trn.get(3)
    header = list(cur.until("N1"))
    remittance.production_date = next(
        (read_d8(s, 2, optional=True) for s in header if s.id == "DTM" and s.get(1) == "405"), None
    )
    _read_parties(cur, remittance)
    if remittance.paid_date is None:
        remittance.paid_date = remittance.production_date
        remittance.warnings.append(
            bpr.error("no valid payment date in BPR16; the production date is used", 16)
        )
    while (seg := cur.peek()) is not None:
        if seg.id in ("LX", "TS3", "TS2"):
            cur.take()
        elif seg.id == "CLP":
            remittance.claims.append(_read_claim(cur, remittance.warnings))
        elif seg.id == "PLB":
            remittance.provider_adjustments.extend(_read_plb(cur.take()))
        else:
            raise seg.error("unexpected segment in the 835 detail")
    _check_balance(remittance, bpr)
    return remittance


def _read_bpr(bpr: Segment, control_number: str) -> Remittance835:
    """The financial information; a bad payment date is a warning (the production date
    stands in), anything else wrong refuses the file."""
    handling = bpr.get(1)
    if handling not in {"C", "D", "H", "I", "P", "U", "X"}:
        raise bpr.error("unknown transaction handling code", 1)
    amount = _money(bpr, 2)
    credit_debit = bpr.get(3)
    if credit_debit not in {"C", "D"}:
        raise bpr.error("credit/debit flag must be C or D", 3)
    method = bpr.get(4)
    if method not in PAYMENT_METHODS:
        raise bpr.error("unknown payment method code", 4)
    paid_date: date | None = None
    warnings: list[X12Error] = []
    try:
        paid_date = read_d8(bpr, 16, optional=True)
    except X12Error as exc:
        warnings.append(exc)
    return Remittance835(
        control_number=control_number,
        handling_code=handling,
        amount=amount,
        credit_debit=credit_debit,
        method_code=method,
        paid_date=paid_date,
        trace_number="",
        trace_originator="",
        production_date=None,
        payer_name="",
        payer_identifiers=[],
        payee_name="",
        payee_id="",
        warnings=warnings,
    )


def _read_parties(cur: _Cursor, remittance: Remittance835) -> None:
    """Loops 1000A (payer: name, N104 and REF identifiers, then TRN03) and 1000B (payee)."""
    payer_ids: list[str] = []
    seen_payer = False
    while cur.peek_id() == "N1":
        n1 = cur.take()
        details = list(cur.until("N1", "LX", "CLP", "PLB"))
        if n1.get(1) == "PR":
            seen_payer, remittance.payer_position = True, n1.position
            remittance.payer_name = n1.get(2)
            payer_ids = [n1.get(4)] if n1.get(4) else []
            payer_ids += [s.get(2) for s in details if s.id == "REF" and s.get(1) in ("2U", "EO", "HI", "NF")]
        elif n1.get(1) == "PE":
            remittance.payee_name, remittance.payee_id = n1.get(2), n1.get(4)
    if not seen_payer:
        raise X12Error(
            "the payer identification loop (N1*PR, loop 1000A) is missing",
            position=cur.peek().position if cur.peek() else cur.end_position,
            segment="N1",
        )
    if remittance.trace_originator:
        payer_ids.append(remittance.trace_originator)
    remittance.payer_identifiers = [p for p in payer_ids if p]


def _read_adjustments(cas: Segment) -> list[Adjustment835]:
    group = cas.get(1)
    if group not in GROUP_CODES:
        raise cas.error("claim adjustment group code must be CO, PR, OA, PI or CR", 1)
    result = []
    for start in range(2, 20, 3):  # up to six reason/amount/quantity triplets
        reason = cas.get(start)
        if not reason:
            if cas.get(start + 1):
                raise cas.error("an adjustment amount without a reason code", start)
            continue
        amount = _money(cas, start + 1)
        quantity = x12.read_amount(cas, start + 2, required=False)
        result.append(Adjustment835(group, reason, amount, quantity))
    if not result:
        raise cas.error("an adjustment segment without a reason code", 2)
    return result


def _remarks_moa(seg: Segment) -> list[str]:
    return [seg.get(i) for i in range(3, 8) if seg.get(i)]


def _remarks_mia(seg: Segment) -> list[str]:
    return [seg.get(i) for i in (5, 20, 21, 22, 23) if seg.get(i)]


def _read_claim(cur: _Cursor, warnings: list[X12Error]) -> Claim835:
    clp = cur.take()
    if not clp.get(1):
        raise clp.error("the patient control number is missing", 1)
    if not clp.get(2):
        raise clp.error("the claim status code is missing", 2)
    claim = Claim835(
        patient_control_number=clp.get(1),
        status_code=clp.get(2),
        charge=_money(clp, 3),
        paid=_money(clp, 4),
        patient_responsibility=_money(clp, 5, required=False),
        filing_indicator=clp.get(6),
        payer_claim_control_number=clp.get(7),
        position=clp.position,
    )
    line: Line835 | None = None
    for seg in cur.until("CLP", "LX", "PLB", "TS3", "TS2"):
        if seg.id == "SVC":
            line = _read_line(seg, warnings)
            claim.lines.append(line)
        elif seg.id == "CAS":
            (line.adjustments if line else claim.adjustments).extend(_read_adjustments(seg))
        elif seg.id == "AMT" and seg.get(1) == "B6" and line is not None:
            line.allowed = _money(seg, 2)
        elif seg.id == "LQ" and seg.get(1) == "HE" and line is not None:
            line.remark_codes.append(seg.get(2))
        elif seg.id == "REF" and seg.get(1) == "6R" and line is not None:
            line.control_number = seg.get(2)[:50] or None
        elif seg.id == "DTM" and seg.get(1) == "472" and line is not None:
            line.service_date = read_d8(seg, 2, optional=True)
        elif seg.id == "NM1" and line is None and seg.get(1) in ("QC", "IL"):
            party = Party835(seg.get(3), seg.get(4), seg.get(9))
            if seg.get(1) == "QC":
                claim.patient = party
            else:
                claim.subscriber = party
        elif seg.id == "DTM" and line is None and seg.get(1) in ("232", "233"):
            when = read_d8(seg, 2, optional=True)
            if seg.get(1) == "232":
                claim.statement_from = when
            else:
                claim.statement_to = when
        elif seg.id == "MOA" and line is None:
            claim.remark_codes += _remarks_moa(seg)
        elif seg.id == "MIA" and line is None:
            claim.remark_codes += _remarks_mia(seg)
    return claim


def _read_line(svc: Segment, warnings: list[X12Error]) -> Line835:
    elements = list(svc.elements)
    composite = svc.components(1)
    if len(composite) == 1 and ">" in composite[0]:
        composite = composite[0].split(">")
        warnings.append(svc.error("SVC01 uses '>' as component separator, not the ISA16 one; read anyway", 1))
    elif len(composite) == 1 and composite[0] in SVC_QUALIFIERS and len(elements) >= 3:
        # SVC*HC*24599*...: the composite was split by the element separator.
        composite = [composite[0], elements[1]]
        elements = [svc.component_separator.join(composite), *elements[2:]]
        svc = Segment(svc.id, tuple(elements), svc.position, svc.component_separator)
        warnings.append(svc.error("SVC01 composite split by the element separator; read as one", 1))
    if len(composite) < 2 or not composite[1]:
        raise svc.error("SVC01 must be a qualifier and a procedure code", 1)
    return Line835(
        qualifier=composite[0],
        code=composite[1],
        modifiers=[m for m in composite[2:6] if m],
        charge=_money(svc, 2),
        paid=_money(svc, 3),
        units=x12.read_amount(svc, 5, required=False),
        position=svc.position,
    )


def _read_plb(plb: Segment) -> list[ProviderAdjustment]:
    result = []
    fiscal = read_d8(plb, 2, optional=True)
    for start in range(3, 15, 2):
        if not plb.get(start):
            continue
        identifier = plb.components(start)
        result.append(
            ProviderAdjustment(
                provider_id=plb.get(1),
                fiscal_period_date=fiscal,
                reason_code=identifier[0],
                reference=identifier[1] if len(identifier) > 1 else "",
                amount=_money(plb, start + 1),
            )
        )
    if not result:
        raise plb.error("a provider adjustment without a reason", 3)
    return result


def _check_balance(remittance: Remittance835, bpr: Segment) -> None:
    """The guide's balancing rules; a file that breaks them is refused, not half-posted."""
    for claim in remittance.claims:
        for line in claim.lines:
            line_adj = sum((a.amount for a in line.adjustments), ZERO)
            if line.charge - line.paid - line_adj != 0:
                raise X12Error(
                    f"service line does not balance: charge - paid - adjustments = "
                    f"{line.charge - line.paid - line_adj}",
                    position=line.position,
                    segment="SVC",
                    element=3,
                )
        all_adj = sum((a.amount for a in claim.all_adjustments), ZERO)
        if claim.charge - claim.paid - all_adj != 0:
            raise X12Error(
                f"claim does not balance: charge - paid - adjustments = "
                f"{claim.charge - claim.paid - all_adj}",
                position=claim.position,
                segment="CLP",
                element=4,
            )
        if claim.lines:
            claim_adj = sum((a.amount for a in claim.adjustments), ZERO)
            lines_paid = sum((line.paid for line in claim.lines), ZERO)
            if lines_paid - claim_adj != claim.paid:
                raise X12Error(
                    "claim payment is not the sum of its line payments less claim adjustments",
                    position=claim.position,
                    segment="CLP",
                    element=4,
                )
        if claim.patient_responsibility != claim.pr_total:
            remittance.warnings.append(
                X12Error(
                    "CLP05 patient responsibility differs from the PR adjustments",
                    position=claim.position,
                    segment="CLP",
                    element=5,
                )
            )
    expected = remittance.claims_paid - remittance.provider_adjustment_total
    if remittance.credit_debit == "D":
        expected = -expected
    if expected != remittance.amount:
        raise bpr.error(
            f"BPR02 is {remittance.amount} but claim payments less provider adjustments are {expected}", 2
        )
