"""The shared mechanisms every service uses, against a real PostgreSQL: due-work claiming,
the idempotent write, cursor paging, date ranges, backoff and circuit breakers, templates."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, select, text
from sqlalchemy.dialects.postgresql import UUID

from shared import templates
from shared.due import claim_due, kept
from shared.idempotency import idempotent_write
from shared.paging import DateRange, PageQuery, date_range, decode_cursor, paginate
from shared.problems import ProblemError
from shared.retry import CircuitBreaker, CircuitOpen, backoff, retrying

META = MetaData()
WORK = Table(
    "work_items",
    META,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False),
    Column("label", String, nullable=False),
)
DDL = (
    "CREATE TABLE work_items (id uuid PRIMARY KEY, created_at timestamptz NOT NULL, "
    "lease_until timestamptz, attempts int NOT NULL DEFAULT 0, label text NOT NULL)"
)


@pytest.fixture
async def db(scratch_db):
    async with scratch_db.session() as session, session.begin():
        await session.execute(text(DDL))
    return scratch_db


async def _add(db, n: int) -> list[uuid.UUID]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [uuid.uuid4() for _ in range(n)]
    async with db.session() as session, session.begin():
        for i, ident in enumerate(ids):
            await session.execute(
                WORK.insert().values(
                    id=ident, created_at=start + timedelta(minutes=i), attempts=0, label=f"w{i}"
                )
            )
    return ids


def _due():
    return (WORK.c.lease_until.is_(None)) | (WORK.c.lease_until < text("clock_timestamp()"))


async def test_two_replicas_never_take_the_same_row_and_a_lease_hides_it(db):
    """FOR UPDATE SKIP LOCKED: while one transaction holds rows, another skips them instead of
    waiting; a lease keeps taken rows away after the first transaction commits."""
    ids = await _add(db, 5)
    async with db.session() as first, first.begin():
        mine = await claim_due(first, WORK, due=_due(), order_by=[WORK.c.created_at], limit=3)
        assert [r.id for r in mine] == ids[:3]  # oldest first
        async with db.session() as second, second.begin():
            theirs = await claim_due(second, WORK, due=_due(), order_by=[WORK.c.created_at], limit=3)
            assert [r.id for r in theirs] == ids[3:]
    async with db.session() as s, s.begin():
        leased = await claim_due(
            s,
            WORK,
            due=_due(),
            order_by=[WORK.c.created_at],
            limit=2,
            lease=(WORK.c.lease_until, 60),
            values={"attempts": WORK.c.attempts + 1},
        )
        assert [r.id for r in leased] == ids[:2]
        assert all(r.attempts == 1 and r.lease_until is not None for r in leased)
    async with db.session() as s, s.begin():
        again = await claim_due(s, WORK, due=_due(), order_by=[WORK.c.created_at], limit=10)
        assert [r.id for r in again] == ids[2:]  # leased rows are not due until the lease ends


async def test_a_kept_lease_outlives_its_length_while_the_work_runs_and_lapses_after(db):
    """`kept` renews a short lease while the block runs (a send slower than the lease is not
    taken by another replica); it says when renewals fail; afterwards the lease runs out."""
    ids = await _add(db, 2)
    loop = asyncio.get_running_loop()

    async def take(limit: int, lease: float | None = None) -> list[uuid.UUID]:
        async with db.session() as s, s.begin():
            rows = await claim_due(
                s,
                WORK,
                due=_due(),
                order_by=[WORK.c.created_at],
                limit=limit,
                lease=(WORK.c.lease_until, lease) if lease else None,
            )
        return [r.id for r in rows]

    async def renew() -> None:
        async with db.session() as s, s.begin():
            await s.execute(
                WORK.update()
                .where(WORK.c.id == ids[0])
                .values(lease_until=text("clock_timestamp() + interval '1 second'"))
            )

    taken_at = loop.time()
    assert await take(1, lease=1) == ids[:1]
    async with kept(renew, 1, taken_at=taken_at) as lease:
        await asyncio.sleep(2.5)  # two and a half leases
        assert lease.held()
        assert await take(10) == ids[1:]  # the kept row is not due
    await asyncio.sleep(1.2)
    assert await take(10) == ids  # no heartbeat: the lease ran out

    async def broken() -> None:
        raise ConnectionError("database away")

    async with kept(broken, 0.3, taken_at=loop.time()) as lease:
        await asyncio.sleep(0.6)
        assert not lease.held()


async def test_idempotent_write_replays_per_caller_and_refuses_a_changed_body(db):
    writes: list[str] = []

    async def write(label: str):
        async def run():
            ident = uuid.uuid4()
            writes.append(label)
            await session.execute(
                WORK.insert().values(id=ident, created_at=datetime.now(UTC), attempts=0, label=label)
            )
            return {"id": str(ident), "label": label}

        return run

    async with db.session() as session:
        first = await idempotent_write(
            session, scope="work", actor="alice", key="k-1", request={"a": 1}, write=await write("one")
        )
    async with db.session() as session:
        again = await idempotent_write(
            session, scope="work", actor="alice", key="k-1", request={"a": 1}, write=await write("two")
        )
    assert not first.replayed and again.replayed and again.body == first.body
    assert again.response().headers["Idempotent-Replayed"] == "true"
    async with db.session() as session:  # the same key from another caller is another operation
        other = await idempotent_write(
            session, scope="work", actor="bob", key="k-1", request={"a": 1}, write=await write("three")
        )
    assert not other.replayed and other.body != first.body
    async with db.session() as session:
        with pytest.raises(ProblemError) as refused:
            await idempotent_write(
                session, scope="work", actor="alice", key="k-1", request={"a": 2}, write=await write("four")
            )
    assert refused.value.status == 422 and refused.value.errors[0].field == "header.Idempotency-Key"
    assert writes == ["one", "three"]
    async with db.session() as session:
        labels = (await session.execute(select(WORK.c.label).order_by(WORK.c.label))).scalars().all()
    assert labels == ["one", "three"]  # the refused and the replayed requests wrote nothing


async def test_cursor_pages_walk_every_row_once_newest_first(db):
    ids = await _add(db, 7)
    seen: list[uuid.UUID] = []
    cursor = None
    async with db.session() as session:
        for _ in range(5):
            items, cursor = await paginate(
                session, select(WORK), PageQuery(cursor, 3), WORK.c.created_at, WORK.c.id
            )
            seen += [r.id for r in items]
            if cursor is None:
                break
            created, _ = decode_cursor(cursor)
            assert created.tzinfo is not None
    assert seen == list(reversed(ids))
    seen, cursor = [], None
    async with db.session() as session:  # a work queue: oldest first
        while True:
            items, cursor = await paginate(
                session, select(WORK), PageQuery(cursor, 2), WORK.c.created_at, WORK.c.id, oldest_first=True
            )
            seen += [r.id for r in items]
            if cursor is None:
                break
    assert seen == ids
    with pytest.raises(ProblemError) as bad:
        decode_cursor("not-a-cursor")
    assert bad.value.errors[0].field == "query.cursor"


def test_date_range_names_the_field_when_reversed():
    assert date_range(date(2026, 1, 1), date(2026, 1, 31)) == DateRange(date(2026, 1, 1), date(2026, 1, 31))
    with pytest.raises(ProblemError) as bad:
        date_range(date(2026, 2, 1), date(2026, 1, 1))
    error = bad.value.errors[0]
    assert (bad.value.status, error.field, error.rule) == (422, "query.date_from", "range")


def test_backoff_doubles_up_to_the_cap_and_jitter_stays_under_it():
    assert [backoff(n, base=0.5, cap=4) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    for n in range(1, 9):
        assert 0 <= backoff(n, base=0.5, cap=4, jitter=True) <= min(4, 0.5 * 2 ** (n - 1))


async def test_retrying_gives_up_after_the_attempts_and_reraises_the_real_error():
    tries = 0
    with pytest.raises(ConnectionError):
        async for attempt in retrying(attempts=3, base=0.001, cap=0.002, on=ConnectionError):
            with attempt:
                tries += 1
                raise ConnectionError("down")
    assert tries == 3
    tries = 0
    with pytest.raises(ValueError):  # not retried: not the kind of failure retries help with
        async for attempt in retrying(attempts=3, base=0.001, cap=0.002, on=ConnectionError):
            with attempt:
                tries += 1
                raise ValueError("bad input")
    assert tries == 1


async def test_a_budget_never_starts_a_pause_that_would_end_past_it():
    tries = 0
    with pytest.raises(ConnectionError):
        async for attempt in retrying(attempts=None, base=10, cap=10, on=ConnectionError, budget_seconds=5):
            with attempt:
                tries += 1
                raise ConnectionError("down")
    assert tries == 1  # the first pause (10 s) would end past the 5 s budget: no second try


async def test_breaker_opens_per_key_and_closes_after_a_good_probe():
    breaker = CircuitBreaker(threshold=2, reset_seconds=0.2, exclude=(LookupError,))
    for _ in range(2):
        with pytest.raises(OSError):
            async with breaker.guard("payer-a"):
                raise OSError
    with pytest.raises(CircuitOpen) as opened:
        async with breaker.guard("payer-a"):
            raise AssertionError("an open breaker must not call out")
    assert 0 < opened.value.retry_after <= 0.2
    async with breaker.guard("payer-b"):  # another payer is not affected
        pass
    for _ in range(3):  # excluded errors (the partner answered) never open it, and reset the count
        with pytest.raises(LookupError):
            async with breaker.guard("payer-b"):
                raise LookupError
    assert await breaker.state("payer-b") == "closed"
    await asyncio.sleep(0.25)
    async with breaker.guard("payer-a"):
        pass
    assert await breaker.state("payer-a") == "closed"


def test_one_template_environment_with_prefixes_filters_and_escaping(tmp_path):
    (tmp_path / "hello.txt").write_text("Dear {{ name }}, you owe {{ amount | cents }}.\n")
    templates.add_filters(cents=lambda v: f"${v:,.2f}")
    templates.add_template_dir("test-mechanisms", tmp_path)
    assert templates.template("test-mechanisms/hello.txt").render(name="<Pat>", amount=12.5) == (
        "Dear <Pat>, you owe $12.50."
    )
    assert templates.render("<p>{{ n }}</p>", html=True, n="<script>") == "<p>&lt;script&gt;</p>"
    with pytest.raises(Exception, match="undefined"):
        templates.render("{{ missing }}")
