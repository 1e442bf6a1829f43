"""Matching a parked remittance claim by hand: the check (the same payer, the amounts side by
side), posting it through the one posting path, and the override a second person approves
(kind `match_override`) when the claim is another payer's."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.accounts import store as ledger
from services.payments.approvals import usecases as approvals
from services.payments.approvals.tables import Approval
from services.payments.claimcopies import store as claimcopies
from services.payments.claimcopies.domain import ClaimCopy
from services.payments.matching import domain, store
from services.payments.matching.schemas import MatchCheck, MatchIn, MatchOut
from services.payments.postings import store as postings_store, usecases as postings
from shared.problems import FieldError, ProblemError

KIND = "match_override"


def _not_open() -> ProblemError:
    return ProblemError(
        409, "not-open", "This item is already resolved or cannot be posted to that claim", retryable=False
    )


async def _check(
    session: AsyncSession, unmatched_id: uuid.UUID, claim_id: uuid.UUID, where: str
) -> tuple[Any, ClaimCopy, MatchCheck]:
    """The parked claim (locked), the claim chosen and their comparison; 404 / 422 when either
    is unknown (`where`: the field that named the claim)."""
    row = await postings_store.lock_unmatched(session, unmatched_id)
    if row is None:
        raise ProblemError(404, "not-found", "No such item in the unmatched queue")
    copy = await claimcopies.get(session, claim_id)
    if copy is None:
        raise ProblemError(
            422,
            "unknown-claim",
            "No such claim",
            errors=[FieldError(field=where, rule="exists", message="No claim.submitted with this id.")],
        )
    insurance, patient = await ledger.item_totals(session, claim_id)
    return row, copy, domain.check(row, copy, insurance, patient)


async def preview(session: AsyncSession, unmatched_id: uuid.UUID, claim_id: uuid.UUID) -> MatchCheck:
    """What matching would compare, without posting."""
    async with session.begin():
        return (await _check(session, unmatched_id, claim_id, "query.claim_id"))[2]


async def match(
    session: AsyncSession, unmatched_id: uuid.UUID, body: MatchIn, actor: str
) -> MatchOut | Approval:
    """Post the parked claim to the claim chosen, in one transaction, when it is the
    remittance's payer's; another payer's claim needs an override reason and then waits for a
    second person (the approval is returned)."""
    async with session.begin():
        row, copy, result = await _check(session, unmatched_id, body.claim_id, "body.claim_id")
        if row.resolved_at is not None:
            raise _not_open()
        if result.override_required:
            if body.override_reason is None:
                hard = [m for m in result.mismatches if m.hard]
                raise ProblemError(
                    422,
                    "match-refused",
                    "This claim cannot be matched without an approved override",
                    "Give `override_reason`; a second person approves the match before it is posted.",
                    errors=[FieldError(field=m.field, rule=m.rule, message=m.message) for m in hard],
                )
            return await approvals.request_approval(
                session,
                kind=KIND,
                subject=str(unmatched_id),
                command=domain.command(unmatched_id, body.claim_id),
                summary=domain.approval_summary(result),
                reason=body.override_reason,
                actor=actor,
            )
        posting_id = await postings.match_unmatched(session, unmatched_id, copy, actor)
        if posting_id is None:
            raise _not_open()
        return MatchOut(**result.model_dump(), posting_id=posting_id, claim_id=body.claim_id)


@approvals.executor(KIND)
async def _override(session: AsyncSession, command: dict[str, Any], approval: Approval) -> dict[str, Any]:
    """The approved cross-payer match: posted as `override`, audited under both ids."""
    unmatched_id, claim_id = uuid.UUID(command["unmatched_id"]), uuid.UUID(command["claim_id"])
    row, copy, _ = await _check(session, unmatched_id, claim_id, "command.claim_id")
    actor = f"{approval.requested_by} (override {approval.id})"
    posting_id = None
    if row.resolved_at is None:
        posting_id = await postings.match_unmatched(session, unmatched_id, copy, actor, matched_by="override")
    if posting_id is None:
        raise _not_open()
    store.audit_match(session, actor, unmatched_id, claim_id, copy.account_id)
    return {"unmatched_id": str(unmatched_id), "claim_id": str(claim_id), "posting_id": str(posting_id)}
