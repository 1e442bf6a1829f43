"""The 835 (005010X221A1) read into the dataclasses of `domain.py`, on top of the shared X12 syntax layer.

Only meaning lives here; `shared.x12` does delimiters, envelopes and segment counts. Each ST/SE set
stands on its own, as a 999 acknowledges them: a set is read to its end and every error in it is
collected (segment position, id, element, rule; never data: 835s carry PHI), so a broken set is
refused with all its errors while the others post. Only an interchange or group error (ISA/IEA,
GS/GE) refuses the whole file. Amounts must balance per the guide (`domain.balance_issues`). Each
set gets a digest of its content (BPR..PLB, delimiters and line breaks normalised, no ST/SE control
numbers): the same remittance in another interchange has the same digest, a corrected one does not.
What only institutional claims carry (CLP08-13, MIA, MOA, SVC04) is read by `institutional.x12`.

Public samples vary more than the guide allows; two deviations are read with a warning, not refused
(the money in them still balances): SVC01 written with `>` as the component separator while ISA16
says `:`; SVC01 split by the element separator (`SVC*HC*99213*...`), which shifts the amounts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation

from services.payments.institutional import x12 as institutional
from services.payments.remittances import domain
from services.payments.remittances.domain import (
    PAYMENT_METHODS,
    ZERO,
    Adjustment835,
    Claim835,
    Issue,
    Line835,
    Party835,
    ProviderAdjustment,
    Read835,
    Remittance835,
    Set835,
)
from shared import x12
from shared.x12 import Delimiters, Segment, TransactionSet, X12Error

CENT = Decimal("0.01")
GROUP_CODES = {"CO", "PR", "OA", "PI", "CR"}
SVC_QUALIFIERS = {"AD", "ER", "HC", "HP", "IV", "N4", "NU", "WK", "ZZ"}
PAYER_REFS = ("2U", "EO", "HI", "NF")  # loop 1000A REF: additional payer identification


def read_835(text: str) -> Read835:
    """Every transaction set of an 835 interchange, each with all of its errors."""
    try:
        interchange = x12.parse(text, expect="835", strict=False, per_set=True)
    except X12Error as exc:
        return Read835([], [Issue.of(exc, domain.ENVELOPE)])
    sets = []
    for index, transaction in enumerate(interchange.transactions):
        reader = _Reader(transaction)
        remittance = reader.read()
        remittance.warnings[:0] = interchange.warnings
        digest = set_digest(transaction, interchange.delimiters)
        issues = sorted(reader.issues, key=lambda i: i.position or 0)  # in file order, as a 999 lists them
        control = transaction.control_number
        sets.append(Set835(index, control, remittance, issues, digest, reader.deposit_read))
    return Read835(sets, [])


def parse_835(text: str) -> list[Remittance835]:
    """Every transaction set of an 835 interchange, checked; raises the first located
    X12Error (tools and tests that want a file whole or not at all)."""
    read = read_835(text)
    for issue in read.all_errors:
        raise issue.error()
    return [s.remittance for s in read.sets]


def set_digest(transaction: TransactionSet, delimiters: Delimiters) -> str:
    """SHA-256 of a set's content: its segments between ST and SE, with `*`, `:` and `^` as
    delimiters whatever the file used, trailing empty elements dropped, one segment a line."""
    lines = []
    for seg in transaction.segments:
        elements = list(seg.elements)
        while elements and not elements[-1]:
            elements.pop()
        if delimiters.component != ":":
            elements = [e.replace(delimiters.component, ":") for e in elements]
        lines.append("*".join([seg.id, *elements]))
    return hashlib.sha256("~\n".join(lines).encode()).hexdigest()


class _Reader:
    """Reads one transaction set with one-segment lookahead, collecting every error."""

    def __init__(self, transaction: TransactionSet) -> None:
        self.segments = transaction.segments
        self.index = 0
        self.st = transaction.st
        self.end_position = (self.segments[-1].position + 1) if self.segments else self.st.position + 1
        self.control_number = transaction.control_number
        self.issues: list[Issue] = []
        self.unreadable: set[int] = set()  # positions of claims with an amount that could not be read
        self.deposit_read = True  # BPR02 and BPR03
        self.sums_read = True  # every amount
        self.warnings: list[X12Error] = []
        self._claim_position: int | None = None
        for error in transaction.errors:
            rule = domain.SEGMENT_COUNT if error.segment == "SE" else domain.TRANSACTION_TYPE
            self._add(error, rule)

    # --- errors ----------------------------------------------------------------------

    def _add(self, error: X12Error, rule: str) -> None:
        set_position = None if error.position is None else error.position - self.st.position + 1
        self.issues.append(
            Issue.of(error, rule, transaction_set=self.control_number, set_position=set_position)
        )

    def fail(self, seg: Segment, element: int | None, rule: str, message: str) -> None:
        self._add(seg.error(message, element), rule)

    def money(self, seg: Segment, index: int, *, required: bool = True) -> Decimal:
        """An amount as Decimal with two places; a missing, malformed or over-precise one is
        an error (ZERO stands in, and the sums it feeds are not checked again)."""
        raw = seg.get(index)
        problem: tuple[str, str] | None = None
        value = ZERO
        if not raw:
            if required:
                problem = (domain.REQUIRED, "a required amount is missing")
        else:
            try:
                value = Decimal(raw)
                if not value.is_finite():
                    raise InvalidOperation
                exponent = value.as_tuple().exponent
                if isinstance(exponent, int) and exponent < -2:
                    problem, value = (domain.DECIMALS, "an amount has more than two decimals"), ZERO
                else:
                    value = value.quantize(CENT)
            except InvalidOperation:
                problem, value = (domain.NUMBER, "not a number"), ZERO
        if problem is not None:
            self.fail(seg, index, *problem)
            self.sums_read = False
            self.deposit_read = self.deposit_read and seg.id != "BPR"
            if self._claim_position is not None:
                self.unreadable.add(self._claim_position)
        return value

    def date(self, seg: Segment, index: int) -> date | None:
        try:
            return x12.read_d8(seg, index, optional=True)
        except X12Error as exc:
            self._add(exc, domain.DATE)
            return None

    # --- walking ---------------------------------------------------------------------

    def peek(self) -> Segment | None:
        return self.segments[self.index] if self.index < len(self.segments) else None

    def take(self) -> Segment:
        seg = self.segments[self.index]
        self.index += 1
        return seg

    def require(self, segment_id: str, what: str) -> Segment | None:
        seg = self.peek()
        if seg is None or seg.id != segment_id:
            position = seg.position if seg else self.end_position
            self._add(
                X12Error(f"{what}: expected {segment_id}", position=position, segment=segment_id),
                domain.REQUIRED_SEGMENT,
            )
            return None
        return self.take()

    def until(self, *stops: str) -> Iterator[Segment]:
        while (seg := self.peek()) is not None and seg.id not in stops:
            yield self.take()

    # --- the set ---------------------------------------------------------------------

    def read(self) -> Remittance835:
        bpr = self.require("BPR", "the 835 must start with the financial information")
        remittance = self._bpr(bpr)
        self.warnings = remittance.warnings
        trn = self.require("TRN", "the reassociation trace number must follow BPR")
        if trn is not None:
            if not trn.get(2):
                self.fail(trn, 2, domain.REQUIRED, "the trace number is missing")
            remittance.trace_number, remittance.trace_originator = trn.get(2), trn.get(3)
        for seg in self.until("N1", "LX", "CLP", "PLB"):
            if seg.id == "DTM" and seg.get(1) == "405":
                remittance.production_date = self.date(seg, 2)
        self._parties(remittance)
        if remittance.paid_date is None and bpr is not None:
            remittance.paid_date = remittance.production_date
            remittance.warnings.append(
                bpr.error("no valid payment date in BPR16; the production date is used", 16)
            )
        while (seg := self.peek()) is not None:
            if seg.id in ("LX", "TS3", "TS2"):
                self.take()
            elif seg.id == "CLP":
                remittance.claims.append(self._claim())
            elif seg.id == "PLB":
                remittance.provider_adjustments.extend(self._plb(self.take()))
            else:
                self.fail(
                    self.take(), None, domain.UNEXPECTED_SEGMENT, "unexpected segment in the 835 detail"
                )
        total_readable = bpr is not None and self.deposit_read and self.sums_read
        for error in domain.balance_issues(
            remittance, unreadable=self.unreadable, total_readable=total_readable
        ):
            self._add(error, domain.BALANCE)
        return remittance

    def _bpr(self, bpr: Segment | None) -> Remittance835:
        """The financial information; a bad payment date is a warning (the production date
        stands in), anything else wrong is an error of the set."""
        remittance = Remittance835(control_number=self.control_number)  # a broken set's fields stay empty
        if bpr is None:
            self.deposit_read = False
            return remittance
        remittance.bpr_position = bpr.position
        remittance.handling_code = bpr.get(1)
        if remittance.handling_code not in {"C", "D", "H", "I", "P", "U", "X"}:
            self.fail(bpr, 1, domain.CODE_VALUE, "unknown transaction handling code")
        remittance.amount = self.money(bpr, 2)
        remittance.credit_debit = bpr.get(3)
        if remittance.credit_debit not in {"C", "D"}:
            self.fail(bpr, 3, domain.CODE_VALUE, "credit/debit flag must be C or D")
            self.deposit_read = False
        remittance.method_code = bpr.get(4)
        if remittance.method_code not in PAYMENT_METHODS:
            self.fail(bpr, 4, domain.CODE_VALUE, "unknown payment method code")
        try:
            remittance.paid_date = x12.read_d8(bpr, 16, optional=True)
        except X12Error as exc:
            remittance.warnings.append(exc)
        return remittance

    def _parties(self, remittance: Remittance835) -> None:
        """Loops 1000A (payer: name, N104 and REF identifiers, then TRN03) and 1000B (payee)."""
        sources: list[tuple[str, str]] = []
        seen_payer = False
        while (n1 := self.peek()) is not None and n1.id == "N1":
            n1 = self.take()
            details = list(self.until("N1", "LX", "CLP", "PLB"))
            if n1.get(1) == "PR":
                seen_payer, remittance.payer_position = True, n1.position
                remittance.payer_name = n1.get(2)
                sources = [("N104", n1.get(4))] if n1.get(4) else []
                sources += [
                    (f"REF*{s.get(1)}", s.get(2)) for s in details if s.id == "REF" and s.get(1) in PAYER_REFS
                ]
            elif n1.get(1) == "PE":
                remittance.payee_name, remittance.payee_id = n1.get(2), n1.get(4)
        if not seen_payer:
            seg = self.peek()
            self._add(
                X12Error(
                    "the payer identification loop (N1*PR, loop 1000A) is missing",
                    position=seg.position if seg else self.end_position,
                    segment="N1",
                ),
                domain.REQUIRED_SEGMENT,
            )
        if remittance.trace_originator:
            sources.append(("TRN03", remittance.trace_originator))
        remittance.payer_sources = [(q, v) for q, v in sources if v]
        remittance.payer_identifiers = [v for _, v in remittance.payer_sources]

    def _adjustments(self, cas: Segment) -> list[Adjustment835]:
        group = cas.get(1)
        if group not in GROUP_CODES:
            self.fail(cas, 1, domain.CODE_VALUE, "claim adjustment group code must be CO, PR, OA, PI or CR")
            if self._claim_position is not None:
                self.unreadable.add(self._claim_position)
        result = []
        for start in range(2, 20, 3):  # up to six reason/amount/quantity triplets
            reason = cas.get(start)
            if not reason:
                if cas.get(start + 1):
                    self.fail(cas, start, domain.REQUIRED, "an adjustment amount without a reason code")
                continue
            amount = self.money(cas, start + 1)
            quantity = self.quantity(cas, start + 2)
            result.append(Adjustment835(group, reason, amount, quantity))
        if not result:
            self.fail(cas, 2, domain.REQUIRED, "an adjustment segment without a reason code")
        return result

    def quantity(self, seg: Segment, index: int) -> Decimal | None:
        try:
            return x12.read_amount(seg, index, required=False)
        except X12Error as exc:
            self._add(exc, domain.NUMBER)
            return None

    def _claim(self) -> Claim835:
        clp = self.take()
        self._claim_position = clp.position
        for element, what in ((1, "the patient control number"), (2, "the claim status code")):
            if not clp.get(element):
                self.fail(clp, element, domain.REQUIRED, f"{what} is missing")
        claim = Claim835(
            patient_control_number=clp.get(1),
            status_code=clp.get(2),
            charge=self.money(clp, 3),
            paid=self.money(clp, 4),
            patient_responsibility=self.money(clp, 5, required=False),
            filing_indicator=clp.get(6),
            payer_claim_control_number=clp.get(7),
            position=clp.position,
            **institutional.read_clp(self, clp),  # type: ignore[arg-type]
        )
        line: Line835 | None = None
        for seg in self.until("CLP", "LX", "PLB", "TS3", "TS2"):
            if seg.id == "SVC":
                line = self._line(seg)
                claim.lines.append(line)
            elif seg.id == "CAS":
                (line.adjustments if line else claim.adjustments).extend(self._adjustments(seg))
            elif seg.id == "AMT" and seg.get(1) == "B6" and line is not None:
                line.allowed = self.money(seg, 2)
            elif seg.id == "LQ" and seg.get(1) == "HE" and line is not None:
                line.remark_codes.append(seg.get(2))
            elif seg.id == "REF" and seg.get(1) == "6R" and line is not None:
                line.control_number = seg.get(2)[:50] or None
            elif seg.id == "DTM" and seg.get(1) == "472" and line is not None:
                line.service_date = self.date(seg, 2)
            elif seg.id in ("NM1", "DTM") and line is None:
                self._claim_detail(claim, seg)
            elif seg.id == "MOA" and line is None:
                claim.outpatient = institutional.read_moa(self, seg)
                claim.remark_codes += claim.outpatient.remark_codes
            elif seg.id == "MIA" and line is None:
                claim.inpatient = institutional.read_mia(self, seg)
                claim.remark_codes += claim.inpatient.remark_codes
        self._claim_position = None
        return claim

    def _claim_detail(self, claim: Claim835, seg: Segment) -> None:
        """What finds the claim when its CLP01 does not (the unmatched worklist): loop 2100 NM1*QC
        (patient), NM1*IL (insured): NM103/NM104 names, NM109 member id; DTM*232/233 statement period."""
        if seg.id == "NM1" and seg.get(1) in ("QC", "IL"):
            who = "patient" if seg.get(1) == "QC" else "subscriber"
            setattr(claim, who, Party835(seg.get(3), seg.get(4), seg.get(9)))
        elif seg.id == "DTM" and seg.get(1) in ("232", "233"):
            setattr(claim, "statement_from" if seg.get(1) == "232" else "statement_to", self.date(seg, 2))

    def _line(self, svc: Segment) -> Line835:
        elements = list(svc.elements)
        composite = svc.components(1)
        if len(composite) == 1 and ">" in composite[0]:
            composite = composite[0].split(">")
            self.warnings.append(
                svc.error("SVC01 uses '>' as component separator, not the ISA16 one; read anyway", 1)
            )
        elif len(composite) == 1 and composite[0] in SVC_QUALIFIERS and len(elements) >= 3:
            # SVC*HC*24599*...: the composite was split by the element separator.
            composite = [composite[0], elements[1]]
            elements = [svc.component_separator.join(composite), *elements[2:]]
            svc = Segment(svc.id, tuple(elements), svc.position, svc.component_separator)
            self.warnings.append(svc.error("SVC01 composite split by the element separator; read as one", 1))
        if len(composite) < 2 or not composite[1]:
            self.fail(svc, 1, domain.REQUIRED, "SVC01 must be a qualifier and a procedure code")
            composite = [*composite, ""][:2]
        return Line835(
            qualifier=composite[0],
            code=composite[1],
            modifiers=[m for m in composite[2:6] if m],
            charge=self.money(svc, 2),
            paid=self.money(svc, 3),
            units=self.quantity(svc, 5),
            position=svc.position,
            revenue_code=institutional.line_revenue_code(svc, composite[0], composite[1]),
        )

    def _plb(self, plb: Segment) -> list[ProviderAdjustment]:
        result = []
        fiscal = self.date(plb, 2)
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
                    amount=self.money(plb, start + 1),
                )
            )
        if not result:
            self.fail(plb, 3, domain.REQUIRED, "a provider adjustment without a reason")
        return result
