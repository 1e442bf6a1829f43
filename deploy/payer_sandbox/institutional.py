"""Adjudicating an institutional claim (837I) the way hospital contracts pay them.

- Inpatient (bill classification 1/2, `Institutional837.inpatient`): the whole claim is priced
  at once. By MS-DRG: the DRG on the claim (HI*DR) x the payer's base rate x the DRG's FY 2026
  relative weight (rates.py), at the lesser of that and the charges when the contract says so;
  or by per diem, covered days x rate, for the facility types / billing taxonomies the payer's
  data lists (SNF, psychiatric hospital). No DRG: denied CO-16 N208; a DRG not in the table:
  CO-A8. Adjustments are at claim level (the 835 sends no 2110 loop when no service line is
  adjudicated on its own: X12 RFI 1608 on the 835 TR3's SVC note); MIA01 covered days, MIA04
  the DRG amount, MIA05 the remark; CLP11/CLP12 the DRG and weight.
- Outpatient and emergency: line by line, by HCPCS in the fee schedule, else by revenue code
  (a percent of the charge, or an adjustment such as packaged CO-97), with MOA02 the HCPCS
  payable amount. A claim with an emergency revenue code (045x) is service type 86, else 50.
- Patient share from the member's benefits for service type 48 / 50 / 86
  (`NetworkBenefits.hospital_share`, the same the 271 reports): a copay (PR-3), a deductible
  per admission or the year's (PR-1), coinsurance (PR-2), capped by the out-of-pocket maximum.
- Secondary claims pay what the prior payer (loop 2320, or 2430 per line) left to the patient,
  up to their own allowed amount minus the prior payment; the rest is OA-23.
Replacements (7) and voids (8), duplicates, coverage and timely filing as for 837P.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from deploy.payer_sandbox.adjudication import (
    Context,
    Memory,
    _prior_adjudication,
    _status_for,
    derive,
    find_original,
    paid_line,
    payment_base,
    secondary_share,
    whole_claim_denial,
    with_reversal,
)
from deploy.payer_sandbox.claim837 import Cas, Claim837, Institutional837, Line
from deploy.payer_sandbox.claimpayment import ZERO, Adj, ClaimPayment, PaidLine, money
from deploy.payer_sandbox.data import HospitalShare, NetworkBenefits, PayerRules, Scenario
from deploy.payer_sandbox.rates import Adjustment, InstitutionalRules, Rates

HUNDRED = Decimal(100)


def adjudicate_institutional(
    claim: Claim837, ctx: Context, *, payer: PayerRules, scenario: Scenario, memory: Memory, rates: Rates
) -> list[ClaimPayment]:
    """The CLPs an 837I claim produces (a reversal first when it replaces or voids)."""
    return with_reversal(
        claim,
        payer.payer_id,
        memory,
        original=lambda: _original(claim, ctx, memory),
        new=lambda key: _new(claim, ctx, payer, scenario, memory, rates.payers[payer.payer_id], rates, key),
    )


def _original(claim: Claim837, ctx: Context, memory: Memory) -> ClaimPayment | None:
    """The payment a replacement or void reverses: the one REF*F8 names, else the latest paid
    (not denied) payment of the patient control number, else find_original's answer."""
    for ref in (ctx.original_pccn, claim.original_reference):
        if ref and ref in memory.payments:
            return memory.payments[ref]
    paid = [p for p in memory.payments.values() if p.pcn == claim.pcn and p.status in ("1", "2", "3")]
    return paid[-1] if paid else find_original(claim, ctx, memory)


def _new(
    claim: Claim837,
    ctx: Context,
    payer: PayerRules,
    scenario: Scenario,
    memory: Memory,
    rules: InstitutionalRules,
    rates: Rates,
    key: tuple[str, ...],
) -> ClaimPayment:
    inst = claim.institutional
    assert inst is not None
    status = _status_for(ctx, claim)
    base = payment_base(
        claim,
        ctx,
        payer,
        status,
        place_of_service=inst.facility_type,  # CLP08: the facility type code
        statement_from=inst.statement_from,
        statement_to=inst.statement_to,
    )
    found = whole_claim_denial(claim, ctx, payer, scenario, key, memory)
    denial = Adjustment(found[0], found[1], "") if found is not None else None
    if denial is not None and denial.reason == "18":
        # A duplicate gets a control number of its own: under the original's it would replace
        # the payment a later replacement or void must reverse.
        n = derive(ctx.seed, "pccn-duplicate", payer.payer_id, claim.pcn, ctx.claim_id, str(ctx.submitted_on))
        base = replace(base, pccn=f"{payer.payer_id[-3:]}{n % 10**12:012d}")
    if denial is not None:
        return _deny(base, claim, inst, denial)
    benefits = scenario.in_network
    if inst.inpatient:
        return _inpatient(base, claim, inst, rules, rates, benefits, status)
    return _outpatient(base, claim, rules, benefits, status)


def covered_days(inst: Institutional837) -> int:
    """MIA01: value code 80 (covered days) when the claim gives it, else the statement period's
    days (the discharge day not counted; counted while the patient is still in, CL103 30)."""
    if "80" in inst.value_codes:
        return int(inst.value_codes["80"])
    if inst.statement_from is None or inst.statement_to is None:
        return 0
    days = (inst.statement_to - inst.statement_from).days + (1 if inst.patient_status == "30" else 0)
    return max(days, 1)


def _deny(base: ClaimPayment, claim: Claim837, inst: Institutional837, why: Adjustment) -> ClaimPayment:
    """The whole claim denied: inpatient at claim level with MIA (remark in MIA05), outpatient
    per line."""
    charge = claim.total_charge or ZERO
    if inst.inpatient:
        return replace(
            base,
            status="4",
            claim_charge=charge,
            claim_adjustments=(Adj(why.group, why.reason, charge),),
            mia=("0", "", "", "", why.remark),
        )
    lines = tuple(
        paid_line(line, ZERO, None, [Adj(why.group, why.reason, line.charge)]) for line in claim.lines
    )
    return replace(base, status="4", lines=lines, moa=("", "0.00"))


def _share(
    allowed: Decimal, share: HospitalShare, left: dict[str, Decimal], benefits: NetworkBenefits | None
) -> list[tuple[str, Decimal]]:
    """PR reason -> amount on `allowed`: copay (what is left of the claim's copay), then the
    deductible (per admission, or what is left of the year's), then coinsurance; each capped
    by what is left of the out-of-pocket maximum. `left` carries copay/deductible/oop across
    the lines of one claim."""
    out: list[tuple[str, Decimal]] = []
    rest = allowed
    copay = min(left["copay"], rest)
    left["copay"] -= copay
    out.append(("3", copay))
    rest -= copay
    if benefits is not None and not share.copay_only:
        deductible = min(left["deductible"], rest)
        left["deductible"] -= deductible
        out.append(("1", deductible))
        out.append(("2", money((rest - deductible) * share.coinsurance_percent / HUNDRED)))
    capped = []
    for reason, amount in out:
        amount = min(amount, left["oop"])
        left["oop"] -= amount
        if amount > 0:
            capped.append((reason, amount))
    return capped


def _left(share: HospitalShare, benefits: NetworkBenefits | None) -> dict[str, Decimal]:
    if benefits is None:
        return {"copay": ZERO, "deductible": ZERO, "oop": ZERO}
    if share.deductible_per_admission is not None:
        deductible = share.deductible_per_admission
    else:
        deductible = benefits.deductible_remaining if share.year_deductible else ZERO
    return {"copay": share.copay, "deductible": deductible, "oop": benefits.oop_remaining}


def _inpatient(
    base: ClaimPayment,
    claim: Claim837,
    inst: Institutional837,
    rules: InstitutionalRules,
    rates: Rates,
    benefits: NetworkBenefits | None,
    status: str,
) -> ClaimPayment:
    charge = claim.total_charge or ZERO
    days = covered_days(inst)
    per_diem = rules.per_diem_for(inst.facility_type, inst.taxonomy)
    drg, weight = inst.drg_code, None
    if per_diem is not None:
        priced = money(per_diem.rate * days)
        mia: tuple[str, ...] = (str(days),)
    else:
        if not drg:
            return _deny(base, claim, inst, rules.no_drg)
        weight = rates.drg_weights.get(drg)
        if weight is None:
            return _deny(base, claim, inst, rules.unknown_drg)
        priced = money(rules.drg_base_rate * weight)
        mia = (str(days), "", "", str(priced))
    allowed = min(priced, charge) if rules.lesser_of_charges else priced
    adjustments = [Adj("CO", "45", charge - allowed)] if charge != allowed else []
    if status in ("2", "3"):
        adjustments = _secondary(allowed, claim.other_paid or ZERO, list(claim.other_adjustments), charge)
    else:
        share = benefits.hospital_share("48") if benefits else HospitalShare(None, False, ZERO, ZERO)
        left = _left(share, benefits)
        adjustments += [Adj("PR", r, a) for r, a in _share(allowed, share, left, benefits)]
    return replace(
        base,
        claim_charge=charge,
        claim_adjustments=tuple(adjustments),
        drg_code=drg if weight is not None else "",
        drg_weight=weight,
        mia=mia,
    )


def _secondary(allowed: Decimal, prior_paid: Decimal, prior: list[Cas], charge: Decimal) -> list[Adj]:
    """A secondary payer's adjustments on `charge`, up to its own allowed amount minus the prior
    payment (adjudication.secondary_share: the 837P's rule)."""
    return secondary_share(max(ZERO, allowed - prior_paid), prior_paid, prior, charge)[1]


def _price_line(line: Line, rules: InstitutionalRules) -> tuple[Decimal | None, Adjustment | None, bool]:
    """(allowed, adjustment, priced by HCPCS) of an outpatient line."""
    if line.code and line.code in rules.fee_schedule:
        return money(min(line.charge, rules.fee_schedule[line.code] * line.units)), None, True
    rate = rules.revenue_codes.get(line.revenue_code)
    if rate is not None and rate.adjust is not None:
        return None, rate.adjust, False
    percent = rate.percent_of_charge if rate and rate.percent_of_charge is not None else None
    percent = rules.default_percent_of_charge if percent is None else percent
    return money(line.charge * percent / HUNDRED), None, False


def _outpatient(
    base: ClaimPayment,
    claim: Claim837,
    rules: InstitutionalRules,
    benefits: NetworkBenefits | None,
    status: str,
) -> ClaimPayment:
    emergency = any(line.revenue_code in rules.emergency_revenue_codes for line in claim.lines)
    share = benefits.hospital_share("86" if emergency else "50") if benefits else None
    left = _left(share, benefits) if share else {"copay": ZERO, "deductible": ZERO, "oop": ZERO}
    prior = _prior_adjudication(claim) if status in ("2", "3") else [(ZERO, [])] * len(claim.lines)
    lines: list[PaidLine] = []
    hcpcs_payable = ZERO
    for line, (prior_paid, prior_adjs) in zip(claim.lines, prior, strict=True):
        allowed, adjust, by_hcpcs = _price_line(line, rules)
        if allowed is None:
            assert adjust is not None
            remarks = (adjust.remark,) if adjust.remark else ()
            lines.append(
                paid_line(line, ZERO, None, [Adj(adjust.group, adjust.reason, line.charge)], remarks)
            )
            continue
        if by_hcpcs:
            hcpcs_payable += allowed
        if status in ("2", "3"):
            adjustments = _secondary(allowed, prior_paid, prior_adjs, line.charge)
        else:
            adjustments = [Adj("CO", "45", line.charge - allowed)] if line.charge > allowed else []
            if share is not None:
                adjustments += [Adj("PR", r, a) for r, a in _share(allowed, share, left, benefits)]
        paid = line.charge - sum((a.amount for a in adjustments), ZERO)
        lines.append(paid_line(line, paid, allowed, adjustments))
    all_denied = all(line.allowed is None for line in lines)
    return replace(
        base, status="4" if all_denied else status, lines=tuple(lines), moa=("", str(money(hcpcs_payable)))
    )
