"""Receiving a bank file: keep it as received, read it, import its deposits once, and match
them (reconciliation). The file is stored in its own transaction before it is read, so a
refused file is kept too, with its errors; the same bytes again are the same file, and
importing it again does nothing."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments.deposits import store
from services.payments.deposits.domain import (
    BankDeposit,
    BankFileError,
    over_maximum,
    read_bai2,
    read_csv,
)
from services.payments.deposits.schemas import BankFileRef, BankImport, DepositOut
from services.payments.limits import usecases as limits
from services.payments.reconciliation import usecases as reconciliation
from shared.idempotency import Outcome, idempotent_write, require_key
from shared.paging import CursorPage, DateRange, PageQuery
from shared.problems import FieldError, ProblemError

READERS = {"bai2": read_bai2, "csv": read_csv}


def refused(error: BankFileError) -> ProblemError:
    """A refused bank file: every error found, by record (or row) and rule, never a value."""
    return ProblemError(
        422,
        "invalid-bank-file",
        "The bank file cannot be imported",
        f"{len(error.errors)} error(s); nothing from this file was imported. The file is kept as received.",
        errors=[FieldError(field=f, rule=r, message=m) for f, r, m in error.errors],
    )


async def receive(session: AsyncSession, content: str, fmt: str, *, actor: str, key: str | None) -> Outcome:
    """Keep the file, read it (a 422 naming each record and rule when it cannot be read), then
    import its deposits and match them under the Idempotency-Key: 201 the first time, 200 with
    `duplicate: true` for a file imported before. A deposit over the practice's maximum insurer
    payment or deposit refuses the file (422 `max_insurer_payment`), as an unreadable one is."""
    key = require_key(key)
    content = content.removeprefix("\ufeff")
    digest = hashlib.sha256(content.encode()).hexdigest()
    async with session.begin():
        kept = await store.keep_file(
            session,
            {
                "id": uuid.uuid4(),
                "sha256": digest,
                "format": fmt,
                "content": content,
                "status": "received",
                "received_by": actor,
                "received_at": datetime.now(UTC),
            },
        )
        bounds = await limits.current(session)
    try:
        deposits = READERS[fmt](content)
        if kept.status != "imported":  # a file imported before answers its first import
            over_maximum(deposits, fmt, bounds)
    except BankFileError as error:
        if kept.status != "refused":
            async with session.begin():
                await store.set_outcome(
                    session,
                    kept.id,
                    status="refused",
                    errors=[{"field": f, "rule": r, "message": m} for f, r, m in error.errors],
                )
        raise refused(error) from None
    return await idempotent_write(
        session,
        scope="bank-deposits",
        actor=actor,
        key=key,
        request={"sha256": digest, "format": fmt},
        write=lambda: _import(session, kept.id, deposits, actor),
        status_code=200 if kept.status == "imported" else 201,
    )


async def _import(
    session: AsyncSession, file_id: uuid.UUID, deposits: Sequence[BankDeposit], actor: str
) -> BankImport:
    """Import a read file's deposits and match them, once (the file row is locked: two
    uploads of one file import it once)."""
    kept = await store.lock_file(session, file_id)
    if kept.status == "imported":
        return await summary(session, kept, duplicate=True)
    now = datetime.now(UTC)
    rows = [{"id": uuid.uuid4(), "file_id": file_id, **vars(x), "created_at": now} for x in deposits]
    inserted = await store.insert_deposits(session, rows)
    await reconciliation.auto_match(session, inserted, actor)
    await store.set_outcome(
        session,
        file_id,
        status="imported",
        errors=[],
        deposit_count=len(inserted),
        repeated_count=len(rows) - len(inserted),
        imported_at=now,
    )
    return await summary(session, await store.lock_file(session, file_id), duplicate=False)


async def summary(session: AsyncSession, kept: Any, *, duplicate: bool) -> BankImport:
    """A file, its outcome and its deposits, each with its current match."""
    rows = await store.deposits_of(session, kept.id)
    matches = await reconciliation.matches_of(session, [r.id for r in rows])
    return BankImport(
        **_file_fields(kept),
        duplicate=duplicate,
        deposits=[deposit_out(r, matches.get(r.id)) for r in rows],
    )


async def file_or_404(session: AsyncSession, file_id: uuid.UUID) -> BankImport:
    kept = await store.file(session, file_id)
    if kept is None:
        raise ProblemError(404, "not-found", "Bank file not found")
    return await summary(session, kept, duplicate=False)


async def deposit_or_404(session: AsyncSession, deposit_id: uuid.UUID) -> DepositOut:
    row = await store.deposit(session, deposit_id)
    if row is None:
        raise ProblemError(404, "not-found", "Deposit not found")
    return deposit_out(row, (await reconciliation.matches_of(session, [deposit_id])).get(deposit_id))


async def list_files(
    session: AsyncSession, page: PageQuery, dates: DateRange, status: str | None
) -> CursorPage[BankFileRef]:
    rows, cursor = await store.list_files(session, page, dates, status)
    return CursorPage[BankFileRef](items=[BankFileRef(**_file_fields(r)) for r in rows], next_cursor=cursor)


def _file_fields(row: Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in BankFileRef.model_fields}


def deposit_out(row: Any, match: Any) -> DepositOut:
    """A deposit as the API shows it: the account number by its last four digits only."""
    fields = {k: getattr(row, k) for k in DepositOut.model_fields if k not in ("account", "match")}
    account = row.account_number
    return DepositOut(**fields, account=f"****{account[-4:]}" if account else None, match=match)
