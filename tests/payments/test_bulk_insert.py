"""shared.bulk.insert_many's options that the remittance and claim-copy batches rely on:
rows that hit a unique constraint are skipped (`on_conflict`), and `returning` reads back
only the rows that were inserted. Plain inserts behave as before (nothing returned)."""

from __future__ import annotations

import uuid

from sqlalchemy import Column, MetaData, Table, Text, text

from shared.bulk import insert_many
from shared.config import service_database_url
from shared.db import Database

# The columns of payments.payers that these tests write (identifiers keeps its default).
PAYERS = Table("payers", MetaData(), Column("payer_id", Text, primary_key=True), Column("name", Text))


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
