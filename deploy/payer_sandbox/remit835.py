"""Writing an X12 005010X221A1 835 from claim payments, and checking that it balances.

One 835 per payer and payee (billing NPI): BPR (the money), TRN (the trace number that
identifies the remittance), payer (1000A) and payee (1000B), then per claim CLP, NM1*QC,
SVC lines with DTM*472, CAS adjustments and AMT*B6 allowed, and PLB when the total would
go negative (a void or a reversal larger than the new payments): the negative balance is
carried forward with PLB reason FB so BPR02 never goes below zero.

Balancing, as the guide requires and `check_balanced` verifies before anything is sent:
BPR02 = sum(CLP04) - sum(PLB amounts); per CLP, CLP03 - sum(CAS) = CLP04; per SVC,
SVC02 - sum(its CAS) = SVC03.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from deploy.payer_sandbox.claimpayment import ZERO, ClaimPayment, PaidLine
from deploy.payer_sandbox.data import PayerRules
from shared import x12

VERSION = "005010X221A1"
PAYER_TAX_ID = "1999999999"  # BPR10/TRN03: "1" + a made-up EIN


class Unbalanced(AssertionError):
    """An 835 whose money does not add up (a sandbox bug: never published)."""


def _cas_segments(adjustments: Sequence[object]) -> list[list[str]]:
    """One CAS per group code, up to six reason/amount pairs each."""
    by_group: dict[str, list[tuple[str, Decimal]]] = {}
    for a in adjustments:
        by_group.setdefault(a.group, []).append((a.reason, a.amount))  # type: ignore[attr-defined]
    out = []
    for group, items in by_group.items():
        for start in range(0, len(items), 6):
            seg = ["CAS", group]
            for reason, amount in items[start : start + 6]:
                seg += [reason, x12.amount(amount), ""]
            out.append(seg)
    return out


def _svc01(line: PaidLine) -> str:
    """SVC01: HC:<HCPCS>:<modifiers>, or NU:<revenue code> for an institutional line without one."""
    if not line.code and line.revenue_code:
        return f"NU:{line.revenue_code}"
    return ":".join(["HC", line.code, *line.modifiers])


def _weight(weight: Decimal | None) -> str:
    return format(weight.normalize(), "f") if weight is not None else ""


def _institutional_segments(p: ClaimPayment) -> list[list[str]]:
    """MIA (inpatient: MIA01 covered days, MIA04 DRG amount, MIA05 remark) or MOA (outpatient:
    MOA02 HCPCS payable amount, MOA03 remark), then the statement period DTM*232/233."""
    out = []
    if p.mia:
        out.append(x12.seg("MIA", *_trimmed(p.mia)))
    if p.moa:
        out.append(x12.seg("MOA", *_trimmed(p.moa)))
    if p.statement_from:
        out.append(x12.seg("DTM", "232", x12.d8(p.statement_from)))
    if p.statement_to:
        out.append(x12.seg("DTM", "233", x12.d8(p.statement_to)))
    return out


def _trimmed(elements: tuple[str, ...]) -> list[str]:
    values = list(elements)
    while values and not values[-1]:
        values.pop()
    return values


def build_835(
    payments: Sequence[ClaimPayment],
    *,
    payer: PayerRules,
    payee_name: str,
    payee_npi: str,
    trace_number: str,
    control_number: int,
    now: datetime,
) -> str:
    """One interchange with one 835 paying `payments` to one payee."""
    total_paid = sum((p.paid for p in payments), ZERO)
    plb: list[tuple[str, str, Decimal]] = []
    if total_paid < 0:
        plb.append(("FB", payments[0].pccn, total_paid))  # negative FB: balance carried forward
    bpr_amount = total_paid - sum((p[2] for p in plb), ZERO)
    pay_day = now.date()
    body: list[list[str]] = []
    if bpr_amount > 0 and payer.payment_method == "ACH":
        body.append(
            x12.seg(
                "BPR", "I", x12.amount(bpr_amount), "C", "ACH", "CCP", "01", "999999992", "DA", "123456789",
                PAYER_TAX_ID, "", "01", "999988880", "DA", "98765", x12.d8(pay_day),
            )
        )  # fmt: skip
    elif bpr_amount > 0:
        body.append(x12.seg("BPR", "I", x12.amount(bpr_amount), "C", "CHK", *[""] * 11, x12.d8(pay_day)))
    else:
        body.append(x12.seg("BPR", "H", "0", "C", "NON", *[""] * 11, x12.d8(pay_day)))
    body.append(x12.seg("TRN", "1", trace_number, PAYER_TAX_ID))
    body.append(x12.seg("DTM", "405", x12.d8(pay_day)))
    body.append(x12.seg("N1", "PR", x12.clean(payer.name, 60)))
    body.append(x12.seg("N3", "100 SANDBOX WAY"))
    body.append(x12.seg("N4", "SPRINGFIELD", "IL", "62701"))
    body.append(x12.seg("REF", "2U", payer.payer_id))
    body.append(x12.seg("PER", "BL", "SANDBOX EDI SUPPORT", "TE", "8005550100"))
    body.append(x12.seg("N1", "PE", x12.clean(payee_name, 60) or "PROVIDER", "XX", payee_npi))
    body.append(x12.seg("LX", "1"))
    for p in payments:
        body.append(
            x12.seg(
                "CLP",
                p.pcn,
                p.status,
                x12.amount(p.charge),
                x12.amount(p.paid),
                x12.amount(p.patient_responsibility) if p.patient_responsibility else "",
                p.filing_indicator,
                p.pccn,
                p.place_of_service,
                p.frequency_code,
                *(["", p.drg_code, _weight(p.drg_weight)] if p.drg_code else []),
            )
        )
        body += _cas_segments(p.claim_adjustments)
        nm1 = x12.seg(
            "NM1", "QC", "1", x12.clean(p.patient_last, 60) or "UNKNOWN", x12.clean(p.patient_first, 35)
        )
        if p.member_id:
            nm1 += ["", "", "", "MI", x12.clean(p.member_id, 80)]
        body.append(nm1)
        body += _institutional_segments(p)
        for line in p.lines:
            svc = x12.seg("SVC", _svc01(line), x12.amount(line.charge), x12.amount(line.paid))
            if line.code and line.revenue_code:
                svc.append(line.revenue_code)  # SVC04: the NUBC revenue code beside HC:<code>
            if abs(line.units) != 1:
                svc += [""] * (5 - len(svc)) + [x12.amount(abs(line.units))]  # SVC05 units paid
            body.append(svc)
            if line.date_of_service:
                body.append(x12.seg("DTM", "472", x12.d8(line.date_of_service)))
            body += _cas_segments(line.adjustments)
            body.append(x12.seg("REF", "6R", str(line.number)))
            if line.allowed is not None:
                body.append(x12.seg("AMT", "B6", x12.amount(line.allowed)))
            body += [x12.seg("LQ", "HE", remark) for remark in line.remarks]
    for reason, reference, amount in plb:
        body.append(
            x12.seg("PLB", payee_npi, f"{pay_day.year}1231", f"{reason}:{reference}", x12.amount(amount))
        )
    return x12.build(
        [body],
        transaction_code="835",
        functional_id="HP",
        version=VERSION,
        sender_id=payer.payer_id,
        receiver_id=payee_npi,
        control_number=control_number,
        now=now,
    )


def check_balanced(text: str) -> dict[str, Decimal]:
    """Re-read an 835 and verify every balancing identity; returns the last set's totals."""
    inter = x12.parse(text, expect="835")
    totals: dict[str, Decimal] = {}
    for tx in inter.transactions:
        bpr, plb_total = Decimal(0), Decimal(0)
        claims: list[list[Decimal]] = []  # [charge, paid, adjustments] per CLP
        lines: list[list[Decimal]] = []  # [charge, paid, adjustments] per SVC
        for s in tx.segments:
            if s.id == "BPR":
                bpr = x12.read_amount(s, 2) or Decimal(0)
            elif s.id == "CLP":
                claims.append(
                    [x12.read_amount(s, 3) or Decimal(0), x12.read_amount(s, 4) or Decimal(0), Decimal(0)]
                )
                lines.append([])  # type: ignore[arg-type]  # marker: no open SVC
            elif s.id == "SVC":
                lines.append(
                    [x12.read_amount(s, 2) or Decimal(0), x12.read_amount(s, 3) or Decimal(0), Decimal(0)]
                )
            elif s.id == "CAS":
                amount = sum(
                    (x12.read_amount(s, i) or Decimal(0) for i in range(3, 20, 3) if s.get(i)), Decimal(0)
                )
                if claims:
                    claims[-1][2] += amount
                if lines and lines[-1]:
                    lines[-1][2] += amount
            elif s.id == "PLB":
                plb_total += sum(
                    (x12.read_amount(s, i) or Decimal(0) for i in range(4, 15, 2) if s.get(i)), Decimal(0)
                )
        for charge, paid, adjustments in (line for line in lines if line):
            if charge - adjustments != paid:
                raise Unbalanced(f"SVC charge {charge} - adjustments {adjustments} != paid {paid}")
        for charge, paid, adjustments in claims:
            if charge - adjustments != paid:
                raise Unbalanced(f"CLP charge {charge} - adjustments {adjustments} != paid {paid}")
        clp_paid = sum((c[1] for c in claims), Decimal(0))
        if bpr != clp_paid - plb_total:
            raise Unbalanced(f"BPR02 {bpr} != sum(CLP04) {clp_paid} - PLB {plb_total}")
        totals = {"bpr": bpr, "clp_paid": clp_paid, "plb": plb_total}
    return totals
