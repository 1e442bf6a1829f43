"""Plain helpers of the shared tests: a TCP proxy a test can cut (a real network fault, in front
of the shared PostgreSQL, which no test may stop), reading a consumer group's offsets and a
topic's records, and the claims service taking encounters from one test EHR."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pytest import MonkeyPatch

from shared.events.catalogue import Address, Coverage, EncounterCompleted, EncounterLine, Person
from shared.kafka import client_kwargs


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a server. `cut()` is the server going away: the listener
    closes, so new connections are refused, and open ones are reset on both sides (PostgreSQL
    sees its clients leave and ends their sessions, releasing their locks). `restore()` listens
    on the same port again. The client sees what it would see in a real outage; nothing is
    mocked."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @classmethod
    def in_front_of(cls, url: str) -> TcpProxy:
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 5432)

    def url(self, url: str) -> str:
        """`url` with its server replaced by this proxy."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    async def __aenter__(self) -> TcpProxy:
        await self.restore()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cut()

    @property
    def is_cut(self) -> bool:
        return self._server is None

    async def restore(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accept, "127.0.0.1", self.port, reuse_address=True
            )
            self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            await server.wait_closed()
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if self._server is None:  # cut while connecting
            writer.transport.abort()
            upstream_writer.transport.abort()
            return
        self._open |= {writer, upstream_writer}
        try:
            await asyncio.gather(
                self._pipe(reader, upstream_writer),
                self._pipe(upstream_reader, writer),
                return_exceptions=True,
            )
        finally:
            for w in (writer, upstream_writer):
                self._open.discard(w)
                w.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()


async def committed_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """A consumer group's committed offsets, as the broker has them."""
    from tests.conftest import as_admin

    admin = AIOKafkaAdminClient(**client_kwargs(as_admin(bootstrap)))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def records_between(
    bootstrap: str, topic: str, start: dict[TopicPartition, int], end: dict[TopicPartition, int] | None = None
) -> list[Any]:
    """The records of `topic` from the offsets `start` up to `end` (the end offsets now when not
    given): everything written in between, whatever it is."""
    from tests.conftest import as_admin, end_offsets

    end = end if end is not None else await end_offsets(bootstrap, topic)
    wanted = {tp: offset for tp, offset in end.items() if offset > start.get(tp, 0)}
    if not wanted:
        return []
    consumer = AIOKafkaConsumer(**client_kwargs(as_admin(bootstrap)), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(wanted))
        for tp in wanted:
            consumer.seek(tp, start.get(tp, 0))
        records: list[Any] = []
        deadline = asyncio.get_running_loop().time() + 60
        while wanted:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{topic}: records up to {wanted} did not arrive")
            batch = await consumer.getmany(timeout_ms=1000)
            for tp, recs in batch.items():
                records += [r for r in recs if r.offset < wanted.get(tp, 0)]
                if recs and recs[-1].offset + 1 >= wanted.get(tp, 0):
                    wanted.pop(tp, None)
                    consumer.pause(tp)
        return records
    finally:
        await consumer.stop()


@contextlib.contextmanager
def claims_take_encounters_from(source: str) -> Iterator[None]:
    """Claims takes encounters only from this EHR source meanwhile (the broker is shared: other
    people's encounters are not the test's)."""
    from services.claims.reference import store as reference

    with MonkeyPatch.context() as mp:
        mp.setenv("CLAIMS_ENCOUNTER_SOURCES", source)
        reference.reload()
        try:
            yield
        finally:
            mp.undo()
            reference.reload()


def closed_port() -> int:
    """A local port nothing listens on (connecting to it is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_encounter(npi: str) -> EncounterCompleted:
    """A visit as an EHR sends it, with everything PHI an encounter carries (names, birth date,
    address, phone, member id, diagnoses), billed by `npi`."""
    return EncounterCompleted(
        encounter_id=f"enc-{uuid.uuid4().hex[:12]}",
        patient_id=f"dpat-{uuid.uuid4().hex[:12]}",
        payer_id="SBX001",
        billing_provider_npi=npi,
        date_of_service=date.today() - timedelta(days=3),
        place_of_service="11",
        diagnoses=["E11.9"],
        lines=[EncounterLine(code="99213", charge=Decimal("125.00"))],
        patient=Person(
            first_name="Annabel",
            last_name="Leeworth",
            birth_date=date(1970, 3, 4),
            gender="F",
            phone="5035550142",
            address=Address(line1="9 Elm St", city="Salem", state="OR", postal_code="97301"),
        ),
        coverages=[Coverage(payer_id="SBX001", member_id="SBX10001")],
    )
