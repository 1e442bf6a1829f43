"""Deterministic adjudication: a parsed 837P and the payer's rules in, claim payments out.

Plain functions over plain data, so every rule can be read (and tested) on its own:

- price each line from the payer's fee schedule (allowed per unit x units, capped by the
  charge; codes without an entry at default_allowed_percent) and write off the rest CO-45;
- deny lines: CO-96 non-covered code, CO-197 code needing prior auth without an
  authorization number, CO-97 column-2 code of a bundled pair (unless a bypass modifier
  is allowed and present);
- deny whole claims: CO-27 coverage not active on the date of service, CO-29 past the
  timely-filing limit, CO-18 duplicate of an adjudicated claim (same member, payer, first
  date of service and codes), and a configurable random share (volume runs);
- patient responsibility from the same benefits the 271 reports for the member id:
  copay PR-3 (once per service type per claim; instead of deductible/coinsurance, unless the
  tier lists the service type in cost_share_after_copay: then they apply to the rest),
  deductible PR-1 (remaining, capped by the family's), coinsurance PR-2, all capped by
  the remaining out-of-pocket maximum;
- secondary claims pay what the prior payer left to the patient (its PR adjustments from
  loops 2430/2320), up to the secondary's own allowed amount minus the prior payment;
  the prior payer's share and write-off become OA-23;
- frequency 7 reverses the original (CLP02=22) and adjudicates the replacement;
  frequency 8 reverses the original only.

Randomness (the random denial share) comes from a hash of (seed, patient control number),
never from call order, so the same seed and claims give the same remittances.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from deploy.payer_sandbox.claim837 import Cas, Claim837, Line
from deploy.payer_sandbox.claimpayment import ZERO, Adj, ClaimPayment, PaidLine, money
from deploy.payer_sandbox.cob import secondary_share
from deploy.payer_sandbox.data import PayerRules, Scenario, Tables

# CLP06 (claim filing indicator) codes an 835 may carry; an 837's SBR09 outside this list
# (e.g. CI) falls back to the payer's own indicator.
CLP06_CODES = frozenset("12 13 14 15 16 17 AM CH DS HM LM MA MB MC OF TV VA WC ZZ".split())


def derive(seed: int, *parts: str) -> int:
    """A stable 60-bit number from the seed and the given parts (no call-order dependence)."""
    digest = hashlib.sha256("|".join([str(seed), *parts]).encode()).hexdigest()
    return int(digest[:15], 16)


def fraction(seed: int, *parts: str) -> Decimal:
    return Decimal(derive(seed, *parts) % 1_000_000) / Decimal(1_000_000)


@dataclass
class Memory:
    """What one payer remembers between claims: payments by payer claim control number
    (for reversals) and the duplicate keys of claims it paid."""

    payments: dict[str, ClaimPayment] = field(default_factory=dict)
    keys: dict[tuple[str, ...], str] = field(default_factory=dict)
    key_of: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def remember(self, payment: ClaimPayment, key: tuple[str, ...]) -> None:
        self.payments[payment.pccn] = payment
        if payment.status in ("1", "2", "3"):
            self.keys[key] = payment.pccn
            self.key_of[payment.pccn] = key

    def forget(self, pccn: str) -> ClaimPayment | None:
        payment = self.payments.pop(pccn, None)
        key = self.key_of.pop(pccn, None)
        if key is not None and self.keys.get(key) == pccn:
            del self.keys[key]
        return payment


@dataclass(frozen=True)
class Context:
    """Everything about a submission that is not in the 837 itself."""

    seed: int
    claim_id: str
    submitted_on: date
    coverage_order: str  # primary | secondary | tertiary
    original_pccn: str | None
    random_denial_share: Decimal


def duplicate_key(claim: Claim837, payer_id: str) -> tuple[str, ...]:
    first = claim.first_date.isoformat() if claim.first_date else ""
    codes = sorted(line.revenue_code + line.code + "-" + "-".join(line.modifiers) for line in claim.lines)
    return (payer_id, claim.member_id, first, *codes)


def payer_claim_control_number(seed: int, payer_id: str, ctx_claim_id: str, claim: Claim837) -> str:
    n = derive(seed, "pccn", payer_id, claim.pcn, ctx_claim_id, claim.frequency_code)
    return f"{payer_id[-3:]}{n % 10**12:012d}"


def find_original(claim: Claim837, ctx: Context, memory: Memory) -> ClaimPayment | None:
    """The claim a frequency 7/8 submission replaces or voids: by the payer claim control
    number the submitter quotes (event field or REF*F8), else by patient control number."""
    for ref in (ctx.original_pccn, claim.original_reference):
        if ref and ref in memory.payments:
            return memory.payments[ref]
    candidates = [p for p in memory.payments.values() if p.pcn == claim.pcn and p.status != "22"]
    return candidates[-1] if candidates else None


def adjudicate(
    claim: Claim837,
    ctx: Context,
    *,
    tables: Tables,
    payer: PayerRules,
    scenario: Scenario,
    memory: Memory,
) -> list[ClaimPayment]:
    """The CLPs this submission produces (reversal first when it replaces or voids)."""
    return with_reversal(
        claim,
        payer.payer_id,
        memory,
        original=lambda: find_original(claim, ctx, memory),
        new=lambda key: _adjudicate_new(
            claim, ctx, tables=tables, payer=payer, scenario=scenario, key=key, memory=memory
        ),
    )


def with_reversal(
    claim: Claim837,
    payer_id: str,
    memory: Memory,
    *,
    original: Callable[[], ClaimPayment | None],
    new: Callable[[tuple[str, ...]], ClaimPayment],
) -> list[ClaimPayment]:
    """The CLPs of a submission, 837P or 837I: a replacement or void (7/8) first reverses the
    payment `original` finds (a void stops there); then the payment `new` makes, given the
    claim's duplicate key, is remembered under that key."""
    out: list[ClaimPayment] = []
    if claim.frequency_code in ("7", "8"):
        found = original()
        if found is not None:
            memory.forget(found.pccn)
            out.append(found.reversal())
        if claim.frequency_code == "8":
            return out
    key = duplicate_key(claim, payer_id)
    payment = new(key)
    memory.remember(payment, key)
    out.append(payment)
    return out


def _status_for(ctx: Context, claim: Claim837) -> str:
    order = ctx.coverage_order
    if claim.payer_responsibility == "S":
        order = "secondary"
    elif claim.payer_responsibility == "T":
        order = "tertiary"
    return {"primary": "1", "secondary": "2", "tertiary": "3"}.get(order, "1")


def _adjudicate_new(
    claim: Claim837,
    ctx: Context,
    *,
    tables: Tables,
    payer: PayerRules,
    scenario: Scenario,
    key: tuple[str, ...],
    memory: Memory,
) -> ClaimPayment:
    status = _status_for(ctx, claim)
    base = payment_base(claim, ctx, payer, status, place_of_service=claim.place_of_service or "11")
    denial = whole_claim_denial(claim, ctx, payer, scenario, key, memory)
    if denial is not None:
        return _deny_all(base, claim, denial[1], denial[0])
    if status in ("2", "3"):
        lines = _secondary_lines(claim, payer)
    else:
        lines = _primary_lines(claim, tables, payer, scenario)
    all_denied = all(line.paid == 0 and line.allowed is None for line in lines)
    return replace(base, lines=tuple(lines), status="4" if all_denied else status)


def payment_base(claim: Claim837, ctx: Context, payer: PayerRules, status: str, **extra: Any) -> ClaimPayment:
    """The CLP a new adjudication starts from, before any line is paid: who and what it is about
    (the 837's identity, this payer's control number and filing indicator); `extra` adds what
    the claim type sets (CLP08 place of service or facility type, the statement dates)."""
    return ClaimPayment(
        pcn=claim.pcn,
        status=status,
        payer_id=payer.payer_id,
        pccn=payer_claim_control_number(ctx.seed, payer.payer_id, ctx.claim_id, claim),
        filing_indicator=claim.filing_indicator
        if claim.filing_indicator in CLP06_CODES
        else payer.claim_filing_indicator,
        frequency_code=claim.frequency_code,
        member_id=claim.member_id,
        patient_last=claim.patient_last or claim.subscriber_last,
        patient_first=claim.patient_first or claim.subscriber_first,
        billing_npi=claim.billing_npi,
        billing_name=claim.billing_name,
        lines=(),
        claim_id=ctx.claim_id,
        **extra,
    )


def whole_claim_denial(
    claim: Claim837, ctx: Context, payer: PayerRules, scenario: Scenario, key: tuple[str, ...], memory: Memory
) -> tuple[str, str] | None:
    """(group, reason) denying the whole claim, in the order a payer checks them, for 837P and
    837I alike: no coverage on the first date (CO-27), past timely filing (CO-29), an original
    already adjudicated (CO-18), the scenario's random denial share."""
    first = claim.first_date
    if first is not None and not scenario.active_on(first):
        return "CO", "27"
    if first is not None and (ctx.submitted_on - first).days > payer.timely_filing_days:
        return "CO", "29"
    if claim.frequency_code == "1" and key in memory.keys:
        return "CO", "18"
    if ctx.random_denial_share > 0 and fraction(ctx.seed, "deny", claim.pcn) < ctx.random_denial_share:
        return payer.random_denial_group, payer.random_denial_reason
    return None


def _deny_all(base: ClaimPayment, claim: Claim837, reason: str, group: str = "CO") -> ClaimPayment:
    lines = tuple(_denied_line(line, reason, group) for line in claim.lines)
    return replace(base, status="4", lines=lines)


def paid_line(
    line: Line, paid: Decimal, allowed: Decimal | None, adjustments: list[Adj], remarks: tuple[str, ...] = ()
) -> PaidLine:
    """The 835 line (SVC) for a submitted 837P or 837I line: its identity (with an institutional
    line's revenue code) and charge, and the outcome."""
    return PaidLine(
        number=line.number,
        code=line.code,
        modifiers=tuple(line.modifiers),
        charge=line.charge,
        units=line.units,
        paid=paid,
        allowed=allowed,
        adjustments=tuple(adjustments),
        date_of_service=line.date_of_service,
        remarks=remarks,
        revenue_code=line.revenue_code,
    )


def _denied_line(line: Line, reason: str, group: str = "CO", remarks: tuple[str, ...] = ()) -> PaidLine:
    return paid_line(line, ZERO, None, [Adj(group, reason, line.charge)], remarks)


def price(payer: PayerRules, line: Line) -> Decimal:
    """The allowed amount for a line under this payer's fee schedule."""
    per_unit = payer.allowed_per_unit(line.code, line.modifiers)
    if per_unit is None:
        allowed = line.charge * payer.default_allowed_percent / Decimal(100)
    else:
        allowed = per_unit * line.units
    return money(min(line.charge, allowed))


def _line_denial(line: Line, claim: Claim837, payer: PayerRules, scenario: Scenario) -> str | None:
    if line.code in payer.non_covered_codes:
        return "96"
    needs_auth = line.code in payer.prior_auth_codes or line.code in scenario.prior_auth_codes
    if needs_auth and not (line.prior_auth or claim.prior_auth):
        return "197"
    codes_on_day = {other.code for other in claim.lines if other.date_of_service == line.date_of_service}
    for pair in payer.bundling_pairs:
        if line.code == pair.column2 and pair.column1 in codes_on_day:
            bypass = pair.modifier_allowed and any(m in payer.bypass_modifiers for m in line.modifiers)
            if not bypass:
                return "97"
    return None


def _primary_lines(claim: Claim837, tables: Tables, payer: PayerRules, scenario: Scenario) -> list[PaidLine]:
    benefits = scenario.in_network
    deductible_left = benefits.deductible_remaining if benefits else ZERO
    oop_left = benefits.oop_remaining if benefits else ZERO
    coinsurance = benefits.coinsurance_percent if benefits else Decimal(0)
    copays_taken: set[str] = set()
    out: list[PaidLine] = []
    for line in claim.lines:
        reason = _line_denial(line, claim, payer, scenario)
        if reason:
            remark = tables.remark_codes.get(reason)
            out.append(_denied_line(line, reason, remarks=(remark,) if remark else ()))
            continue
        allowed = price(payer, line)
        responsibility: list[tuple[str, Decimal]] = []
        service_type = tables.service_type(line.code)
        copay = benefits.copays.get(service_type, ZERO) if benefits else ZERO
        rest = allowed
        if copay > 0 and service_type not in copays_taken:
            copays_taken.add(service_type)
            responsibility.append(("3", min(copay, allowed)))
            rest = allowed - min(copay, allowed)
        if benefits is None or not benefits.copay_only(service_type):
            # No copay, or a plan whose deductible and coinsurance apply after the copay.
            deductible = min(deductible_left, rest)
            deductible_left -= deductible
            responsibility.append(("1", deductible))
            responsibility.append(("2", money((rest - deductible) * coinsurance / Decimal(100))))
        adjustments: list[Adj] = []
        if line.charge > allowed:
            adjustments.append(Adj("CO", "45", line.charge - allowed))
        for code, amount in responsibility:
            amount = min(amount, oop_left)  # the out-of-pocket maximum caps what the patient owes
            oop_left -= amount
            if amount > 0:
                adjustments.append(Adj("PR", code, amount))
        paid = allowed - sum((a.amount for a in adjustments if a.group == "PR"), ZERO)
        out.append(paid_line(line, paid, allowed, adjustments))
    return out


def _prior_adjudication(claim: Claim837) -> list[tuple[Decimal, list[Cas]]]:
    """Per line: (prior payer paid, prior payer's adjustments). Line-level data (2430)
    wins; otherwise claim-level (2320) amounts are spread over lines by charge."""
    if claim.prior_lines_adjudicated:
        return [(line.other_paid or ZERO, list(line.other_adjustments)) for line in claim.lines]
    total = sum((line.charge for line in claim.lines), ZERO)
    out: list[tuple[Decimal, list[Cas]]] = []
    left_paid = claim.other_paid or ZERO
    left_adj = [Cas(a.group, a.reason, a.amount) for a in claim.other_adjustments]
    for i, line in enumerate(claim.lines):
        last = i == len(claim.lines) - 1
        share = line.charge / total if total else Decimal(0)
        paid = left_paid if last else money((claim.other_paid or ZERO) * share)
        left_paid -= paid
        adjs = []
        for j, a in enumerate(claim.other_adjustments):
            amount = left_adj[j].amount if last else money(a.amount * share)
            left_adj[j].amount -= amount
            adjs.append(Cas(a.group, a.reason, amount))
        out.append((paid, adjs))
    return out


def _secondary_lines(claim: Claim837, payer: PayerRules) -> list[PaidLine]:
    """With the prior payer's line data (2430) each line is paid up to its own allowed
    amount minus the prior payment; with claim-level data only (2320), the whole claim's
    allowed minus the prior payment is the budget, spent line by line."""
    prior = _prior_adjudication(claim)
    line_level = claim.prior_lines_adjudicated
    covered = [
        (line, paid)
        for line, (paid, _) in zip(claim.lines, prior, strict=True)
        if line.code not in payer.non_covered_codes
    ]
    budget = max(ZERO, sum((price(payer, line) - paid for line, paid in covered), ZERO))
    out: list[PaidLine] = []
    for line, (prior_paid, prior_adjs) in zip(claim.lines, prior, strict=True):
        if line.code in payer.non_covered_codes:
            out.append(_denied_line(line, "96"))
            continue
        allowed = price(payer, line)
        room = max(ZERO, allowed - prior_paid) if line_level else budget
        paid, adjustments = secondary_share(room, prior_paid, prior_adjs, line.charge)
        if not line_level:
            budget -= paid
        out.append(paid_line(line, paid, allowed, adjustments))
    return out
