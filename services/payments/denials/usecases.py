"""Working a denied balance: billing the patient for a PR denial at once, and writing a denial
off through a second person's approval (kind `denial_write_off`). Either writes the ledger rows
and `denial.resolved` in one transaction, under the account's lock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.accounts import store as ledger
from services.payments.approvals import usecases as approvals
from services.payments.approvals.tables import Approval
from services.payments.denials import domain, store
from services.payments.denials.domain import DeniedItem
from services.payments.denials.schemas import (
    BillPatientIn,
    DeniedAdjustment,
    DeniedItemOut,
    Worked,
    WriteOffIn,
)
from services.payments.limits import usecases as limits
from shared.outbox import add_event
from shared.problems import FieldError, ProblemError

KIND = "denial_write_off"


def item_out(item: DeniedItem) -> DeniedItemOut:
    return DeniedItemOut(
        claim_id=item.claim_id,
        account_id=item.account_id,
        payer_id=item.payer_id,
        service_date=item.service_date,
        insurance_balance=item.insurance,
        denied_open=item.open,
        patient_billable=item.patient_billable,
        denials=[DeniedAdjustment(**d.__dict__) for d in item.denials],
    )


async def get_item(session: AsyncSession, claim_id: uuid.UUID) -> DeniedItem:
    """The claim's denied balance, or 404 when no 835 posting stands on it."""
    item = (await store.denied_items(session, claim_ids=[claim_id])).get(claim_id)
    if item is None:
        raise ProblemError(404, "not-found", "No 835 posting stands on this claim")
    return item


async def _locked_item(session: AsyncSession, claim_id: uuid.UUID) -> DeniedItem:
    item = await get_item(session, claim_id)
    await ledger.lock_account(session, item.account_id)
    return await get_item(session, claim_id)  # again, under the lock


def _nothing_open() -> ProblemError:
    return ProblemError(409, "nothing-denied", "Nothing denied is open on this claim", retryable=False)


async def bill_patient(session: AsyncSession, claim_id: uuid.UUID, body: BillPatientIn) -> Worked:
    """Move the open PR denial to the patient; a CO (or PI, OA, CR) denial may not be."""
    item = await _locked_item(session, claim_id)
    if item.open > 0 and item.patient_denied == 0:
        raise ProblemError(
            422,
            "not-patient-billable",
            "This denial may not be billed to the patient",
            errors=[
                FieldError(
                    field="path.claim_id",
                    rule="patient_billable_group",
                    message="Only a PR (patient responsibility) denial is billed to the patient; CO "
                    "means the provider may not bill the patient, and PI, OA and CR are not the patient's.",
                )
            ],
        )
    amount = item.patient_billable
    if amount <= 0:
        raise _nothing_open()
    return await _work(session, item, "billed_patient", amount, domain.bill_patient(item, amount))


async def request_write_off(
    session: AsyncSession, claim_id: uuid.UUID, body: WriteOffIn, actor: str
) -> Approval:
    """Store the write-off for a second person (nothing moves yet), in its own transaction."""
    async with session.begin():
        return await _request_write_off(session, claim_id, body, actor)


async def _request_write_off(
    session: AsyncSession, claim_id: uuid.UUID, body: WriteOffIn, actor: str
) -> Approval:
    item = await get_item(session, claim_id)
    amount = body.amount if body.amount is not None else item.open
    if item.open <= 0:
        raise _nothing_open()
    # Even with a second person, no write-off beyond the practice's maximum (422 max_write_off).
    await limits.require_within(session, "write_off", amount, "body.amount")
    if amount > item.open:
        raise ProblemError(
            422,
            "more-than-denied",
            "More than the open denial",
            errors=[
                FieldError(field="body.amount", rule="at_most_denied_open", message=f"At most {item.open}.")
            ],
        )
    summary = {
        "claim_id": str(claim_id),
        "account_id": item.account_id,
        "payer_id": item.payer_id,
        "amount": str(amount),
        "denied_open": str(item.open),
        "denials": [f"{d.group_code}-{d.reason_code} {d.amount}" for d in item.denials],
    }
    command = {"claim_id": str(claim_id), "amount": str(amount)}
    return await approvals.request_approval(
        session,
        kind=KIND,
        subject=str(claim_id),
        command=command,
        summary=summary,
        reason=body.reason,
        actor=actor,
    )


@approvals.executor(KIND)
async def _write_off(session: AsyncSession, command: dict[str, Any], approval: Approval) -> dict[str, Any]:
    """The approved write-off, if the denial is still open for that much (else 409: the claim
    changed since it was asked for, e.g. the payer paid it)."""
    item = await _locked_item(session, uuid.UUID(command["claim_id"]))
    amount = Decimal(command["amount"])
    if amount > item.open:
        raise ProblemError(
            409,
            "denial-changed",
            "The denial changed since the write-off was asked for",
            f"Open now: {item.open}.",
        )
    worked = await _work(
        session, item, "written_off", amount, domain.write_off(item, amount, approval.id), approval.id
    )
    return worked.model_dump(mode="json")


async def _work(
    session: AsyncSession,
    item: DeniedItem,
    resolution: str,
    amount: Decimal,
    entries: list[Any],
    approval_id: uuid.UUID | None = None,
) -> Worked:
    when = datetime.now(UTC)
    await ledger.append(session, entries, when)
    add_event(session, domain.resolved(item, resolution, amount, when, approval_id))
    return Worked(
        claim_id=item.claim_id,
        account_id=item.account_id,
        resolution=resolution,
        amount=amount,
        resolved_at=when,  # type: ignore[arg-type]
    )
