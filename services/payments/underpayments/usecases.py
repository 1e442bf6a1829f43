"""What is done with underpayments: found while posting (`ContractCheck`, one per batch of
postings), worked by people (dispute, recover, accept: each a transition kept in the
history), listed as a work queue and summed per payer and status."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.claimcopies import store as claimcopies
from services.payments.contracts import store as contracts
from services.payments.contracts.domain import FeeBook
from services.payments.remittances.domain import Claim835
from services.payments.underpayments import domain, store
from services.payments.underpayments.domain import RECOVERED, Standing
from services.payments.underpayments.schemas import (
    AcceptIn,
    DisputeIn,
    RecoverIn,
    ReportRow,
    TransitionOut,
    UnderpaymentDetail,
    UnderpaymentOut,
    UnderpaymentReport,
)
from shared.events import Event
from shared.paging import DateRange, PageQuery
from shared.problems import FieldError, ProblemError

POSTING_ACTOR = "system:posting"


@dataclass
class ContractCheck:
    """What a batch of postings compares its lines with (its payers' fee schedule versions
    and its claims' standing underpayments), and what it found, written at `flush`."""

    book: FeeBook
    standing: dict[uuid.UUID, list[Standing]]
    rows: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    recovered: list[tuple[uuid.UUID, Decimal, datetime]] = field(default_factory=list)

    def check(
        self,
        claim: Claim835,
        *,
        payer_id: str,
        claim_id: uuid.UUID,
        posting_id: uuid.UUID,
        claim_dos: date,
        now: datetime,
    ) -> list[Event]:
        """Stage a posting's underpayments and recoveries; returns its `payment.underpaid` events."""
        checks = domain.check_lines(claim, self.book, payer_id=payer_id, claim_dos=claim_dos)
        found, recoveries = domain.assess(checks, self.standing.get(claim_id, []))
        for r in recoveries:
            self.recovered.append((r.underpayment.id, r.amount, now))
            self.transitions.append(
                _transition(r.underpayment.id, r.underpayment.status, RECOVERED, POSTING_ACTOR, now)
                | {"amount": r.amount, "posting_id": posting_id}
            )
        new = [
            domain.underpayment_row(c, posting_id=posting_id, claim_id=claim_id, payer_id=payer_id, now=now)
            for c in found
        ]
        self.rows += new
        # A later posting of the claim in the same batch sees them, as it would one poll later.
        self.standing.setdefault(claim_id, []).extend(
            Standing(r["id"], r["status"], r["code"], r["modifier"], r["actual_allowed"], r["variance"])
            for r in new
        )
        return [domain.underpaid_event(row) for row in new]

    async def flush(self, session: AsyncSession) -> None:
        await store.insert_underpayments(session, self.rows)
        await store.recover_many(session, self.recovered)
        await store.insert_transitions(session, self.transitions)
        self.rows, self.transitions, self.recovered = [], [], []


async def contract_check(
    session: AsyncSession, payer_ids: Sequence[str], codes: Sequence[str], claim_ids: Sequence[uuid.UUID]
) -> ContractCheck:
    """The fee schedule versions and standing underpayments a batch of postings needs, with
    three queries for the whole batch."""
    book = await contracts.fee_book(session, sorted(set(payer_ids)), sorted(set(codes)))
    return ContractCheck(book, await store.standing(session, claim_ids))


def _transition(
    underpayment_id: uuid.UUID, from_status: str, to_status: str, actor: str, at: datetime
) -> dict[str, Any]:
    return {
        "underpayment_id": underpayment_id,
        "from_status": from_status,
        "to_status": to_status,
        "actor": actor,
        "note": None,
        "reference": None,
        "amount": None,
        "posting_id": None,
        "at": at,
    }


def _illegal(status: str, action: str) -> ProblemError:
    return ProblemError(
        409,
        "illegal-transition",
        f"An underpayment that is {status} cannot be {action}d",
        "Open underpayments are disputed first; disputed ones end recovered or accepted; those are final.",
        retryable=False,
    )


async def transition(
    session: AsyncSession,
    underpayment_id: uuid.UUID,
    action: str,
    body: DisputeIn | RecoverIn | AcceptIn,
    actor: str,
) -> UnderpaymentDetail | None:
    """Move one underpayment by `action` (dispute, recover, accept) in one transaction and
    keep the step in its history; None when there is no such underpayment, a 409 problem
    when the step is not allowed from its status."""
    async with session.begin():
        row = await store.lock(session, underpayment_id)
        if row is None:
            return None
        to_status = domain.next_status(row.status, action)
        if to_status is None:
            raise _illegal(row.status, action)
        now = datetime.now(UTC)
        step = _transition(underpayment_id, row.status, to_status, actor, now)
        changes: dict[str, Any] = {"status": to_status, "updated_at": now}
        if isinstance(body, DisputeIn):
            changes |= {"dispute_note": body.note, "dispute_reference": body.reference}
            step |= {"note": body.note, "reference": body.reference}
        elif isinstance(body, RecoverIn):
            if body.amount > row.variance:
                raise ProblemError(
                    422,
                    "validation-error",
                    "The request is not valid",
                    errors=[
                        FieldError(
                            field="body.amount", rule="at_most_variance", message="At most the variance."
                        )
                    ],
                )
            changes["recovered_amount"] = body.amount
            step |= {"amount": body.amount, "note": body.note}
        else:
            changes |= {"accepted_amount": row.variance, "accepted_reason": body.reason}
            step |= {"amount": row.variance, "note": body.reason}
        await store.update(session, underpayment_id, changes)
        await store.insert_transitions(session, [step])
    return await detail(session, underpayment_id)


async def detail(session: AsyncSession, underpayment_id: uuid.UUID) -> UnderpaymentDetail | None:
    """One underpayment with its history, or None."""
    row = await store.get(session, underpayment_id)
    if row is None:
        return None
    history = [
        TransitionOut.model_validate(h, from_attributes=True) for h in await store.history(session, row.id)
    ]
    return UnderpaymentDetail(
        **UnderpaymentOut.model_validate(row, from_attributes=True).model_dump(), history=history
    )


async def list_underpayments(
    session: AsyncSession,
    page: PageQuery,
    dates: DateRange,
    *,
    payer_id: str | None,
    claim_id: uuid.UUID | None,
    status: str | None,
) -> tuple[list[UnderpaymentOut], str | None]:
    """One page: a status's work queue (oldest first), or all of them (newest first)."""
    rows, cursor = await store.list_underpayments(
        session, page, dates, payer_id=payer_id, claim_id=claim_id, status=status
    )
    return [UnderpaymentOut.model_validate(r, from_attributes=True) for r in rows], cursor


async def report(session: AsyncSession, dates: DateRange, payer_id: str | None) -> UnderpaymentReport:
    """The variance (and what was recovered and accepted) per payer and status, for the
    underpayments detected in the range."""
    rows = [
        ReportRow.model_validate(r, from_attributes=True)
        for r in await store.report(session, dates, payer_id)
    ]
    return UnderpaymentReport(date_from=dates.date_from, date_to=dates.date_to, rows=rows)


async def accounts_of(session: AsyncSession, claim_ids: Sequence[uuid.UUID]) -> set[str]:
    """The patient accounts of these claims: an underpayment names its claim only, and the audit
    of reading a list of them records the patients (issue 17)."""
    return {copy.account_id for copy in (await claimcopies.copies(session, claim_ids)).values()}
