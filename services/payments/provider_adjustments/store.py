"""All of the provider-level adjustments' SQL: the claims references name, the open forward
balances (locked per payer and reference), the adjustments and balances written for a
whole poll, and the views: per remittance, per account, forward balances and their totals."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.provider_adjustments.domain import ClaimRef, ForwardBalance
from services.payments.provider_adjustments.tables import forward_balances, provider_adjustments
from shared.bulk import insert_many
from shared.paging import DateRange, PageQuery, paginate

# A claim by payer claim control number (from the postings) or by patient control number
# (from the claim copies), newest first; both tables belong to other sub-domains (postings,
# claimcopies) and are only read here.
_BY_PAYER_NUMBER = text(
    "SELECT DISTINCT ON (p.payer_id, p.payer_claim_control_number) p.payer_id, "
    "p.payer_claim_control_number AS key, c.claim_id, c.account_id, c.coverage_order, c.date_of_service "
    "FROM claim_postings p JOIN claim_copies c ON c.claim_id = p.claim_id "
    "WHERE p.payer_id = ANY(:payers) AND p.payer_claim_control_number = ANY(:keys) "
    "ORDER BY p.payer_id, p.payer_claim_control_number, p.posted_at DESC"
)
_BY_PCN = text(
    "SELECT DISTINCT ON (payer_id, patient_control_number) payer_id, patient_control_number AS key, "
    "claim_id, account_id, coverage_order, date_of_service FROM claim_copies "
    "WHERE payer_id = ANY(:payers) AND patient_control_number = ANY(:keys) "
    "ORDER BY payer_id, patient_control_number, submitted_at DESC"
)


async def claims_named(
    session: AsyncSession, payer_ids: Sequence[str], keys: Sequence[str]
) -> tuple[dict[tuple[str, str], ClaimRef], dict[tuple[str, str], ClaimRef]]:
    """The claims these payers' references may name: (by payer claim control number, by
    patient control number), each keyed by (payer, identifier)."""
    found: list[dict[tuple[str, str], ClaimRef]] = []
    params = {"payers": list(set(payer_ids)), "keys": list(set(keys))}
    for query in (_BY_PAYER_NUMBER, _BY_PCN):
        rows = await session.execute(query, params) if keys else []
        found.append(
            {
                (r.payer_id, r.key): ClaimRef(r.claim_id, r.account_id, r.coverage_order, r.date_of_service)
                for r in rows
            }
        )
    return found[0], found[1]


async def lock_open_balances(
    session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], ForwardBalance]:
    """The open forward balances of these (payer, reference) keys, each key locked until
    commit (in one order, so two remittances never wait on each other), so two remittances
    recovering or opening one at the same time take turns."""
    unique = sorted({k for k in keys if k[1]})
    if not unique:
        return {}
    for payer_id, reference in unique:
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('payments-forward-balance'), hashtext(:k))"),
            {"k": f"{payer_id}\x1f{reference}"},
        )
    rows = await session.execute(
        text(
            "SELECT * FROM forward_balances WHERE recovered_at IS NULL "
            "AND payer_id = ANY(:payers) AND reference = ANY(:refs)"
        ),
        {"payers": list({k[0] for k in unique}), "refs": list({k[1] for k in unique})},
    )
    columns = [c.name for c in forward_balances.columns]
    return {
        (r.payer_id, r.reference): ForwardBalance(**{c: getattr(r, c) for c in columns})
        for r in rows
        if (r.payer_id, r.reference) in unique
    }


async def next_ids(session: AsyncSession, count: int) -> list[int]:
    """Ids for `count` new adjustments (their ledger rows point at them)."""
    if not count:
        return []
    rows = await session.execute(
        text(
            "SELECT nextval(pg_get_serial_sequence('provider_adjustments', 'id')) FROM generate_series(1, :n)"
        ),
        {"n": count},
    )
    return [r[0] for r in rows]


async def save_balances(session: AsyncSession, balances: Sequence[ForwardBalance]) -> None:
    """Changed forward balances updated, then new ones inserted (a balance recovered and a
    new one opened with its reference in the same poll keep one open per reference)."""
    changed = [b for b in balances if not b.new]
    if changed:
        await session.execute(
            text(
                "UPDATE forward_balances SET open_amount = :open_amount, recovered_at = :recovered_at, "
                "recovered_by_remittance_id = :recovered_by_remittance_id WHERE id = :id"
            ),
            [
                {
                    "id": b.id,
                    "open_amount": b.open_amount,
                    "recovered_at": b.recovered_at,
                    "recovered_by_remittance_id": b.recovered_by_remittance_id,
                }
                for b in changed
            ],
        )
    await insert_many(session, forward_balances, [b.row() for b in balances if b.new])


async def insert_adjustments(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """A poll's PLB adjustments, with one INSERT."""
    await insert_many(session, provider_adjustments, rows)


_SHOWN = (
    "SELECT a.id, a.remittance_id, a.provider_id, a.fiscal_period_date, a.reason_code, a.reference, "
    "a.amount, a.claim_id, a.account_id, a.effect, a.forward_balance_id, r.received_at "
    "FROM provider_adjustments a JOIN remittances r ON r.id = a.remittance_id "
)


async def of_remittance(session: AsyncSession, remittance_id: uuid.UUID) -> Sequence[Any]:
    """A remittance's PLB adjustments, in file order."""
    rows = await session.execute(
        text(_SHOWN + "WHERE a.remittance_id = :id ORDER BY a.id"), {"id": remittance_id}
    )
    return rows.all()


async def of_account(session: AsyncSession, account_id: str) -> Sequence[Any]:
    """The PLB adjustments tied to an account's claims, oldest first."""
    rows = await session.execute(text(_SHOWN + "WHERE a.account_id = :a ORDER BY a.id"), {"a": account_id})
    return rows.all()


def _filtered(stmt: Any, payer_id: str | None, dates: DateRange) -> Any:
    t = forward_balances.c
    if payer_id is not None:
        stmt = stmt.where(t.payer_id == payer_id)
    return dates.apply(stmt, t.opened_at)


async def list_balances(
    session: AsyncSession, page: PageQuery, dates: DateRange, *, payer_id: str | None, status: str | None
) -> tuple[Sequence[Any], str | None]:
    """One page of forward balances, newest opened first."""
    t = forward_balances.c
    stmt = _filtered(select(forward_balances), payer_id, dates)
    if status == "open":
        stmt = stmt.where(t.recovered_at.is_(None))
    elif status == "recovered":
        stmt = stmt.where(t.recovered_at.is_not(None))
    return await paginate(session, stmt, page, t.opened_at, t.id, key=lambda r: (r.opened_at, r.id))


async def recoveries(session: AsyncSession, balance_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
    """The adjustments that recovered or added to these balances (every one but the opening
    FB), with their remittance, in order."""
    rows = await session.execute(
        text(
            "SELECT a.forward_balance_id, a.remittance_id, a.reason_code, a.amount, r.received_at "
            "FROM provider_adjustments a JOIN remittances r ON r.id = a.remittance_id "
            "JOIN forward_balances b ON b.id = a.forward_balance_id "
            "WHERE a.forward_balance_id = ANY(:ids) AND a.id > (SELECT min(o.id) FROM provider_adjustments o "
            "WHERE o.forward_balance_id = b.id) ORDER BY a.id"
        ),
        {"ids": list(balance_ids)},
    )
    return rows.all()


async def totals(session: AsyncSession, dates: DateRange, payer_id: str | None) -> Sequence[Any]:
    """Per payer: open forward balances (how many, Σ open amount) and how many were recovered."""
    t = forward_balances.c
    is_open = t.recovered_at.is_(None)
    stmt = select(
        t.payer_id,
        func.count().filter(is_open).label("open_count"),
        func.coalesce(func.sum(case((is_open, t.open_amount))), 0).label("open_amount"),
        func.count().filter(t.recovered_at.is_not(None)).label("recovered_count"),
    ).group_by(t.payer_id)
    stmt = _filtered(stmt, payer_id, dates).order_by(t.payer_id)
    return (await session.execute(stmt)).all()
