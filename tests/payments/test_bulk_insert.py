"""shared.bulk.insert_many's options that the remittance and claim-copy batches rely on:
rows that hit a unique constraint are skipped (`on_conflict`), and `returning` reads back
only the rows that were inserted; a JSON column takes objects, or bytes already encoded.
Plain inserts behave as before (nothing returned)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Column, Date, DateTime, MetaData, Numeric, Table, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB

from shared.bulk import insert_many
from shared.config import service_database_url
from shared.db import Database

# The columns of payments.payers that these tests write (identifiers keeps its default).
PAYERS = Table("payers", MetaData(), Column("payer_id", Text, primary_key=True), Column("name", Text))
# payments.claim_copies, for a JSON column.
COPIES = Table(
    "claim_copies",
    MetaData(),
    Column("claim_id", Uuid, primary_key=True),
    *(Column(name, Text) for name in ("patient_control_number", "patient_id", "account_id", "payer_id")),
    *(Column(name, Text) for name in ("coverage_order", "frequency_code")),
    Column("total_charge", Numeric(14, 2)),
    Column("date_of_service", Date),
    Column("lines", JSONB),
    Column("submitted_at", DateTime(timezone=True)),
)


async def test_conflicting_rows_are_skipped_and_only_inserted_rows_come_back(settings):
    db = Database(service_database_url("payments", settings), "payments", pool_size=1)
    new, other = f"BULK-{uuid.uuid4().hex[:8]}", f"BULK-{uuid.uuid4().hex[:8]}"
    try:
        async with db.session() as session, session.begin():
            rows = [
                {"payer_id": new, "name": "first"},
                {"payer_id": "SBX001", "name": "already there"},
                {"payer_id": new, "name": "again in the same batch"},
                {"payer_id": other, "name": "second"},
            ]
            got = await insert_many(session, PAYERS, rows, on_conflict=["payer_id"], returning=["payer_id"])
            assert [r.payer_id for r in got] == [new, other]
            names = await session.execute(
                text("SELECT payer_id, name FROM payers WHERE payer_id = ANY(:p)"),
                {"p": [new, other, "SBX001"]},
            )
            assert dict(names.all()) == {new: "first", other: "second", "SBX001": "Sandbox Health Plan"}
            assert await insert_many(session, PAYERS, [{"payer_id": new, "name": "x"}], on_conflict=()) == []
            plain = await insert_many(session, PAYERS, [{"payer_id": f"{new}-2", "name": "plain"}])
            assert plain == []
            await session.rollback()
    finally:
        await db.dispose()


async def test_json_columns_take_objects_or_json_already_encoded_as_bytes(settings):
    db = Database(service_database_url("payments", settings), "payments", pool_size=1)
    ids = [uuid.uuid4(), uuid.uuid4()]
    lines = [{"code": "99213", "charge": "50.00"}]
    try:
        async with db.session() as session, session.begin():
            await insert_many(
                session,
                COPIES,
                [
                    _copy(ids[0], lines=lines),
                    _copy(ids[1], lines=b'[{"code": "99213", "charge": "50.00"}]'),
                ],
            )
            stored = await session.execute(
                text("SELECT lines FROM claim_copies WHERE claim_id = ANY(:ids)"), {"ids": ids}
            )
            assert [r.lines for r in stored] == [lines, lines]
            await session.rollback()
    finally:
        await db.dispose()


def _copy(claim_id: uuid.UUID, *, lines: object) -> dict[str, object]:
    return {
        "claim_id": claim_id,
        "patient_control_number": "BULK",
        "patient_id": "bulk",
        "account_id": "bulk",
        "payer_id": "SBX001",
        "coverage_order": "primary",
        "frequency_code": "1",
        "total_charge": Decimal("50.00"),
        "date_of_service": None,
        "lines": lines,
        "submitted_at": datetime.now(UTC),
    }
