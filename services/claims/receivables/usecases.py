"""Keeping claims' A/R rows as payments keeps its insurance ledger: when a claim is first sent,
when a payer's adjudication (or its reversal) is applied, and when payments works a denial.
Each runs in the caller's transaction; the reports and the claim view read the sums."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.claims import store as claims_store
from services.claims.claims.tables import Claim
from services.claims.receivables import domain, store
from services.claims.receivables.domain import ZERO
from shared import receivables
from shared.events.catalogue import DenialResolved, PaymentPosted

LATER_ORDERS = ("secondary", "tertiary")


async def on_submitted(session: AsyncSession, claims: Sequence[Claim]) -> None:
    """Claims just marked submitted: on their first submission, a primary's charges, a later
    payer's opening (what the previous payer left to the patient), and a corrected or void
    claim's retirement of what its original still has with the payer."""
    firsts = [c for c in claims if c.submission_count == 1]
    if not firsts:
        return
    rows = [r for c in firsts for r in domain.charge(c)]
    later = [
        c
        for c in firsts
        if c.coverage_order in LATER_ORDERS and c.primary_claim_id and c.frequency_code == "1"
    ]
    moved = await store.cost_sharing_moved(session, [c.primary_claim_id for c in later])
    for c in later:
        rows += domain.opening(c, moved.get(c.primary_claim_id, ZERO))  # type: ignore[arg-type]
    for c in firsts:
        if c.frequency_code in ("7", "8") and c.original_claim_id is not None:
            original = await claims_store.get_claim(session, c.original_claim_id)
            found = await store.state(session, c.original_claim_id)
            if original is not None and found.rows and not found.retired:
                assert c.submitted_at is not None
                rows.append(domain.retirement(original, Decimal(found.owed), c.submitted_at))
    await store.insert(session, rows)


async def on_posted(session: AsyncSession, claim: Claim, posted: PaymentPosted) -> None:
    """A payer's adjudication as payments posted it; a reversal (CLP02 = 22) negates the payment
    it reverses (named by the event, else the claim's standing adjudication), and is retired in
    turn when a corrected or void claim retired the claim."""
    if posted.claim_status_code != "22":
        owed = ZERO
        if claim.coverage_order in LATER_ORDERS:
            owed = (await store.balances(session, [claim.id])).get(claim.id, ZERO)
        await store.insert(session, domain.posting(claim, posted, owed))
        return
    standing = claim.adjudication or {}
    target = posted.reverses_payment_id
    if target is None and standing.get("payment_id") and not standing.get("reversed_by"):
        target = standing["payment_id"]
    if target is None:
        return
    rows = domain.negation(claim, await store.payment_rows(session, claim.id, target), posted)
    put_back = domain.insurance_change(rows)
    if put_back and (await store.state(session, claim.id)).retired:
        rows.append(domain.retirement(claim, put_back, posted.posted_at, posted.payment_id))
    await store.insert(session, rows)


async def on_worked(session: AsyncSession, claim: Claim, resolved: DenialResolved) -> Decimal:
    """A denial worked in payments leaves the payer's A/R; returns what the payer owes after."""
    await store.insert(session, [domain.worked(claim, resolved)])
    return Decimal((await store.state(session, claim.id)).owed)


async def claim_position(session: AsyncSession, claim: Claim) -> tuple[Decimal, Decimal]:
    """(what the payer owes on the claim, what of it is denied and not worked yet): denied by
    its standing adjudication, less what payments worked off, within what is owed."""
    found = await store.state(session, claim.id)
    owed = Decimal(found.owed)
    standing = claim.adjudication or {}
    if not standing or standing.get("reversed_by"):
        return owed, ZERO
    denied = receivables.denied(_Adjustment(**a) for a in standing.get("adjustments", []))
    return owed, max(ZERO, min(owed, denied - Decimal(found.worked)))


class _Adjustment:
    """A stored adjustment (JSON) with the attributes the shared rule reads."""

    def __init__(self, group_code: str, reason_code: str, amount: str | Decimal) -> None:
        self.group_code, self.reason_code, self.amount = group_code, reason_code, Decimal(str(amount))
