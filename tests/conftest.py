"""Real PostgreSQL and Kafka for every integration test.

The session takes its servers in this order:
  1. DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS from the environment;
  2. testcontainers' PostgreSQL, when a Docker engine is reachable;
  3. otherwise the local infrastructure from deploy/infra.py (private PostgreSQL cluster),
     started on demand.
Kafka is the authenticated broker deploy/broker.py runs (SASL SCRAM on every listener, TLS on
the partners', ACLs from the event catalogue), or the one KAFKA_BOOTSTRAP_SERVERS names, with
the principals' passwords from .state/kafka/credentials.json (or KAFKA_CREDENTIALS_FILE). There
is no unauthenticated broker to test against. The suite's own clients (its producers, readers
and group helpers) and the services it runs in process connect as `admin`, because tests pick
consumer groups and topics of their own; tests/security/test_broker.py runs the principals.
Then it runs every service's migrations and creates the topics and ACLs, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import pyx12.params
import pyx12.x12n_document
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import FastAPI
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from deploy import infra, kafka_auth
from deploy.payer_sandbox.testing import TEST_RECEIVER_ID
from shared.app import ServiceDefinition, create_app
from shared.auth import mint_token
from shared.config import SERVICE_NAMES, Settings, asyncpg_dsn, role_name, role_password, with_credentials
from shared.consumer import Batched
from shared.events import Event
from shared.events.envelope import Encoded
from shared.events.signing import PartnerSigner, dev_keys
from shared.kafka import KafkaAccess, client_kwargs, environment, kafka_access, settings_fields
from shared.migrate import migrate

# Claims that this test process's claims service sends are addressed to the test sandboxes'
# clearinghouse id, so a `make up` platform on the same broker neither answers them nor gets
# answers meant for them. The end-to-end suite starts the platform without this variable.
os.environ["CLAIMS_RECEIVER_ID"] = TEST_RECEIVER_ID
# The tests run in development mode (issue 17 item 2): the local token issuer under .state signs
# their tokens and development passwords work; tests/security/test_startup.py starts services
# outside it in their own environment.
os.environ["REVCYCLE_ENV"] = "development"
# The gateway's workers tick fast in tests (read when services.gateway.service is imported), so
# a claim goes through the mailbox in a second or two (running_clearinghouse).
os.environ.setdefault("GATEWAY_TICK_SECONDS", "0.2")
os.environ.setdefault("GATEWAY_PROCESS_SECONDS", "0.2")

# The partners' development signing keys (shared.events.signing), made once under .state as
# `make up` makes them (never a constant in the repository), and shared with the platform: events
# a test published in an earlier session, which a fresh consumer group reads again, still verify.
# The services under test verify with the public ones; the test sandboxes and `encode_signed`
# sign with the private ones.
PARTNER_KEYS = infra.PARTNER_KEYS
dev_keys(PARTNER_KEYS)
os.environ["PARTNER_KEYS_DIR"] = str(PARTNER_KEYS / "public")
os.environ["PARTNER_SIGNING_KEYS_DIR"] = str(PARTNER_KEYS / "private")
PARTNER_SIGNER = PartnerSigner.from_dir(PARTNER_KEYS / "private")

# The public X12 samples beside the project (../shared, read-only), as CI lays them out too.
X12_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "x12"


@dataclass
class Infra:
    """Where the servers are, and what a test may do to them."""

    database_url: str
    kafka_bootstrap: str
    mode: str  # "environment", "testcontainers" or "local"
    _stop_kafka: Callable[[], None] | None = None
    _start_kafka: Callable[[], None] | None = None
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    @property
    def kafka(self) -> KafkaAccess:
        """The broker's super user (what migrate and the suite's own clients use)."""
        return self.principal(kafka_auth.ADMIN)

    def principal(self, name: str) -> KafkaAccess:
        """A principal's access: a partner's on the partners' TLS listener, the others' on
        the suite's bootstrap servers."""
        found = kafka_auth.access(name)
        return found if name in kafka_auth.PARTNERS else replace(found, bootstrap=self.kafka_bootstrap)

    def partner(self, name: str) -> KafkaAccess:
        """A partner's access (ehr, clearinghouse, collections), over TLS."""
        assert name in kafka_auth.PARTNERS, name
        return self.principal(name)

    @property
    def can_restart_kafka(self) -> bool:
        return self._stop_kafka is not None

    def stop_kafka(self) -> None:
        assert self._stop_kafka is not None
        self._stop_kafka()

    def start_kafka(self) -> None:
        assert self._start_kafka is not None
        self._start_kafka()


def _docker_reachable() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def _from_testcontainers() -> Infra:
    """PostgreSQL from a container; Kafka is the local authenticated broker, the same SASL,
    TLS and ACL configuration as everywhere else (a stock Kafka image would run without)."""
    from testcontainers.community.postgres import PostgresContainer

    pg = PostgresContainer("postgres:15", username="revcycle", password="revcycle", dbname="revcycle")
    pg.start()
    url = f"postgresql://revcycle:revcycle@{pg.get_container_host_ip()}:{pg.get_exposed_port(5432)}/revcycle"
    result = _local_kafka(url, "testcontainers")
    result.cleanups.append(pg.stop)
    return result


def _choose_infra() -> Infra:
    env_db, env_kafka = os.environ.get("DATABASE_URL"), os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if env_db and env_kafka:
        return Infra(env_db, env_kafka, "environment")
    if _docker_reachable():
        return _from_testcontainers()
    return _local_kafka(infra.ensure_postgres(), "local")


def _local_kafka(url: str, mode: str) -> Infra:
    local_kafka = infra.kafka_is_local()
    scratch = local_kafka and not infra.kafka_running()
    if scratch:
        _use_scratch_kafka_data()
    bootstrap = infra.ensure_kafka()
    result = Infra(
        url,
        bootstrap,
        mode,
        _stop_kafka=infra.stop_kafka if local_kafka else None,
        _start_kafka=(lambda: infra.start_kafka() and None) if local_kafka else None,
    )
    if scratch:
        result.cleanups.append(infra.stop_kafka)
    return result


def _use_scratch_kafka_data() -> None:
    """A broker the suite starts itself logs into an empty directory of its own, stopped after
    the session: the suite's fresh consumer groups read their topics from the start, and the
    platform's history (a benchmark leaves hundreds of thousands of events) would make every
    such test replay it. `make up` afterwards starts the platform's broker on its own data."""
    scratch = infra.STATE / "kafka-test" / "data"
    shutil.rmtree(scratch, ignore_errors=True)
    infra.KAFKA_DATA = scratch


async def _test_database(url: str) -> str:
    """A fresh `<db>_test` database on the same server, so the suite neither sees nor
    disturbs what `make up` runs on the main one (advisory locks are per database too).
    TEST_DATABASE_NAME names it instead, so two checkouts can run their suites side by side
    on one server. Falls back to the given database when the role may not create databases."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    test_name = os.environ.get("TEST_DATABASE_NAME") or f"{name}_test"
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{test_name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{test_name}"')
    except asyncpg.InsufficientPrivilegeError:
        return url
    finally:
        await conn.close()
    return urlunsplit(parts._replace(path=f"/{test_name}"))


@pytest.fixture(scope="session")
def servers() -> Iterator[Infra]:
    chosen = _choose_infra()
    chosen.database_url = asyncio.run(_test_database(chosen.database_url))
    settings = Settings(database_url=chosen.database_url, **kafka_settings(chosen))
    migrate(list(SERVICE_NAMES), settings)
    print(f"\n[servers: {chosen.mode}; kafka {chosen.kafka_bootstrap}]")
    yield chosen
    for cleanup in chosen.cleanups:
        with contextlib.suppress(Exception):
            cleanup()


def kafka_settings(servers: Infra, principal: str = kafka_auth.ADMIN) -> dict[str, Any]:
    """The Kafka part of a Settings for `principal` (and the dead-letter replay's principal)."""
    replay = servers.principal(kafka_auth.DEADLETTERS)
    return {
        **settings_fields(servers.principal(principal)),
        "kafka_deadletters_username": replay.username,
        "kafka_deadletters_password": replay.password,
    }


@pytest.fixture(scope="session")
def settings(servers: Infra) -> Settings:
    """Fast polling and short retries, so the suite does not wait on timers."""
    return Settings(
        database_url=servers.database_url,
        **kafka_settings(servers),
        outbox_poll_seconds=0.2,
        consumer_retry_base_seconds=0.05,
        health_timeout_seconds=2.0,
        log_level="WARNING",
        # Own consumer groups: services started by `make up` on the same broker keep theirs.
        consumer_group_prefix=f"test-{uuid.uuid4().hex[:8]}-",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end suite runs after the others, because it brings up the whole platform
    (`make up`), whose payer sandbox answers every claim on the broker, the tests' own too.
    Tests that stop a server run last of all, so they cannot disturb the others. A `sweep` test
    checks what all the tests before it made, so it runs after them (and before the e2e suite,
    which runs on the platform's database, not the session's)."""

    def order(item: pytest.Item) -> int:
        if item.get_closest_marker("disruptive"):
            return 3
        if "e2e" in item.path.parts:
            return 2
        return 1 if item.get_closest_marker("sweep") else 0

    items.sort(key=order)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "disruptive: stops or restarts a shared server; runs last")
    config.addinivalue_line("markers", "sweep: checks what the tests before it made; runs after them")


# --- helpers the tests share -------------------------------------------------------------


def token(*scopes: str, subject: str = "test-user", settings: Settings | None = None) -> dict[str, str]:
    """Authorization header with the given scopes (all scopes when none given)."""
    return {"Authorization": f"Bearer {mint_token(list(scopes) or None, subject=subject, settings=settings)}"}


def service_definition(name: str) -> ServiceDefinition:
    module = __import__(f"services.{name}.service", fromlist=["SERVICE"])
    return module.SERVICE


@contextlib.asynccontextmanager
async def running_service(name: str, settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A service app with its lifespan (relay, consumers) running, and an HTTP client for it."""
    app = create_app(service_definition(name), settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as client:
            yield app, client


@pytest.fixture
def service(settings: Settings) -> Callable[[str], Any]:
    """`async with service("payments") as (app, client): ...`"""
    return lambda name: running_service(name, settings)


@pytest.fixture
async def admin(servers: Infra) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(servers.database_url))
    yield conn
    await conn.close()


@pytest.fixture
async def scratch_db(servers: Infra) -> AsyncIterator[Any]:
    """A throwaway schema with the backbone tables, so outbox tests own their relay lock even
    while `make up` services run their own relays on the service schemas."""
    from shared.db import Database
    from shared.tables import BACKBONE_DDL

    schema = f"scratch_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(asyncpg_dsn(servers.database_url))
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(f"SET search_path TO {schema}")
        for statement in BACKBONE_DDL:
            await conn.execute(statement)
        db = Database(servers.database_url, schema, pool_size=2)
        yield db
        await db.dispose()
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


async def connect_as(service: str, settings: Settings) -> asyncpg.Connection:
    """A connection with a service's own role (what the running service uses)."""
    url = with_credentials(settings.database_url, role_name(service), role_password(service, settings))
    return await asyncpg.connect(asyncpg_dsn(url))


async def eventually(
    check: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"
) -> Any:
    """Poll an async or sync check until it returns something truthy, or fail naming `what`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        await asyncio.sleep(interval)


def kafka_env(settings: Settings) -> dict[str, str]:
    """The KAFKA_* environment of a child process run with these settings' principals."""
    env = environment(kafka_access(settings))
    if settings.kafka_deadletters_password:
        env["KAFKA_DEADLETTERS_USERNAME"] = settings.kafka_deadletters_username
        env["KAFKA_DEADLETTERS_PASSWORD"] = settings.kafka_deadletters_password
    return env


def as_admin(kafka: str | KafkaAccess) -> KafkaAccess:
    """The suite's helpers take an access, or bootstrap servers to reach as the admin."""
    if isinstance(kafka, KafkaAccess):
        return kafka
    return replace(kafka_auth.access(kafka_auth.ADMIN), bootstrap=kafka)


async def end_offsets(bootstrap: str | KafkaAccess, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(**client_kwargs(as_admin(bootstrap)))
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        return await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


async def start_group_at_end(bootstrap: str | KafkaAccess, group_id: str, topics: list[str]) -> None:
    """Commit the end of `topics` as `group_id`'s position, so a test's fresh consumer group
    skips what the shared broker already holds (other runs' and the platform's events)."""
    consumer = AIOKafkaConsumer(
        **client_kwargs(as_admin(bootstrap)), group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # or partitions_for_topic knows nothing yet
        partitions = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        if partitions:
            ends = await consumer.end_offsets(partitions)
            consumer.assign(partitions)
            await consumer.commit({tp: offset for tp, offset in ends.items()})
    finally:
        await consumer.stop()


async def read_from(
    bootstrap: str | KafkaAccess,
    topic: str,
    start: dict[TopicPartition, int],
    *,
    until: Callable[[list[Any]], bool],
    timeout: float = 20.0,
) -> list[Any]:
    """Records of `topic` after the given offsets, until `until(records)` holds."""
    consumer = AIOKafkaConsumer(**client_kwargs(as_admin(bootstrap)), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        records: list[Any] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while not until(records):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected records on {topic} did not arrive; got {len(records)}")
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
        return records
    finally:
        await consumer.stop()


@pytest.fixture
async def producer(servers: Infra) -> AsyncIterator[AIOKafkaProducer]:
    """A plain (not idempotent) producer, as the admin: tests publish what partners and other
    services would, on any topic."""
    p = AIOKafkaProducer(**client_kwargs(servers.kafka), acks="all")
    await p.start()
    yield p
    await p.stop()


def pyx12_errors(text: str) -> list[str]:
    """pyx12's strict validator on an X12 document (it has the 5010 maps for 271 and 835):
    the errors it reports, empty when the document is valid."""
    out = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(
        param=pyx12.params.params(), src_file=io.StringIO(text), fd_997=None, fd_html=None, fd_json=out
    )
    if ok:
        return []
    return [line for line in out.getvalue().splitlines() if "err_str" in line] or ["pyx12: not valid"]


def encode_signed(event: Event) -> Encoded:
    """(topic, key, value, headers) of an event as its publisher sends it: a partner's (the EHR's
    encounters) signed with the development key of that
    partner, a service's as it is. The one way tests publish partner events."""
    return PARTNER_SIGNER.encode(event)


def sign_as(
    partner: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
) -> list[tuple[str, bytes]]:
    """`headers` of a hand-made record signed with the development key of `partner` (a test
    that sends a partner a malformed body still signs it, so the body is what gets judged)."""
    return PARTNER_SIGNER.keys[partner].sign(key, value, headers)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class HeldOpen:
    """Two replicas racing, interleaved by PostgreSQL, not by sleeps: replica A does its work
    and, before its transaction commits (`hold`), waits until replica B's task finished or
    B's backend is blocked by A's (a lock A holds, seen in `pg_blocking_pids`); then A
    commits. So each transaction starts before the other commits. `blocked_other`: B waited
    for A (what a fix that serialises the two shows)."""

    def __init__(self, admin: Any) -> None:
        self.admin = admin
        self.handled = asyncio.Event()
        self.other: asyncio.Task[Any] | None = None
        self.other_started = asyncio.Event()
        self.blocked_other = False

    async def hold(self, session: AsyncSession) -> None:
        """Called in A's open transaction, just before it would commit."""
        pid = await session.scalar(text("SELECT pg_backend_pid()"))
        self.handled.set()
        await self.other_started.wait()
        while self.other is not None and not self.other.done():
            waiting = await self.admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", pid
            )
            if waiting:
                self.blocked_other = True
                return
            await asyncio.sleep(0.02)

    def around(self, handler: Batched) -> Batched:
        async def held(session: AsyncSession, events: Sequence[Event]) -> None:
            await handler.handle(session, events)
            await self.hold(session)

        return Batched(held)

    async def run(self, first: Awaitable[Any], then: Callable[[], Awaitable[Any]]) -> None:
        """Start `first` (which calls `hold`), and `then()` once `first` holds its transaction."""
        task_a = asyncio.ensure_future(first)
        await asyncio.wait_for(self.handled.wait(), 30)
        self.other = asyncio.ensure_future(then())
        self.other_started.set()
        await asyncio.wait_for(asyncio.gather(task_a, self.other), 60)


# --- the clearinghouse: the payer sandbox's mailbox and the gateway that talks to it -------


@dataclass
class ClearinghouseHandle:
    """A payer sandbox answering through its SFTP mailbox and the gateway (in process) that
    uploads our 837s there and turns its 999/277CA/835 files into events. `stats`, `pipeline`
    (`.remittances`), `base_url` and `root` (the mailbox user's folder) are the sandbox's."""

    sandbox: Any
    app: FastAPI
    client: httpx.AsyncClient
    partner: Any
    consumer_group: str  # the gateway's, of this block only

    @property
    def base_url(self) -> str:
        return self.sandbox.base_url

    @property
    def pipeline(self) -> Any:
        return self.sandbox.pipeline

    @property
    def root(self) -> Path:
        return self.sandbox.root

    async def stats(self) -> dict[str, Any]:
        return await self.sandbox.stats()


@contextlib.asynccontextmanager
async def running_clearinghouse(
    settings: Settings, **sandbox_options: Any
) -> AsyncIterator[ClearinghouseHandle]:
    """The payer sandbox with a mailbox user of this call's own, and the gateway with one
    partner pointing at it (`gateway_for`)."""
    from deploy.payer_sandbox.testing import running_sandbox

    async with running_sandbox(mailbox=True, **sandbox_options) as sandbox:
        async with gateway_for(settings, sandbox) as (app, client, partner, group):
            yield ClearinghouseHandle(sandbox, app, client, partner, group)


@contextlib.asynccontextmanager
async def gateway_for(
    settings: Settings, sandbox: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, Any, str]]:
    """The gateway in process with one partner: `sandbox`'s mailbox (a running_sandbox or
    sandbox_process handle with a mailbox), polled every 0.2 s, batches closed after 0.3 s,
    for the claims this suite's claims service addresses to TEST_RECEIVER_ID. Its consumer
    group is this call's own and starts at the end of what it consumes, so only claims
    published inside the block go to this sandbox; the block is entered once the group owns
    its partitions. Yields (app, client, partner, consumer group)."""
    from services.gateway.partners.domain import TradingPartner
    from services.gateway.service import SERVICE as GATEWAY
    from services.gateway.settings import GatewaySettings

    assert sandbox.root is not None
    partner = TradingPartner(
        id=f"ch{uuid.uuid4().hex[:10]}",
        name="Payer sandbox (test)",
        host="127.0.0.1",
        port=sandbox.sftp_port,
        username=sandbox.user,
        key_file=sandbox.client_key_path,
        host_key=sandbox.host_key,
        isa_sender_id="REVCYCLE",
        isa_receiver_id=TEST_RECEIVER_ID,
        gs_sender_id="REVCYCLE",
        gs_receiver_id=TEST_RECEIVER_ID,
        usage_indicator="T",
        receiver_ids=frozenset({TEST_RECEIVER_ID}),
        poll_seconds=0.2,
        batch_max_seconds=0.3,
    )
    partners_file = sandbox.root.parent.parent / f"partners-{partner.id}.json"
    partners_file.write_text("[" + partner.model_dump_json() + "]")
    own = settings.model_copy(
        update={"consumer_group_prefix": f"{settings.consumer_group_prefix}{partner.id}-"}
    )
    group = own.consumer_group_prefix + "gateway"
    await start_group_at_end(own.kafka_bootstrap_servers, group, list(GATEWAY.handlers))
    before = os.environ.get("GATEWAY_PARTNERS_FILE")
    os.environ["GATEWAY_PARTNERS_FILE"] = str(partners_file)  # the claim handler reads it
    try:
        app = create_app(GATEWAY, own)
        app.state.gateway_settings = GatewaySettings(partners_file=str(partners_file))
        app.state.gateway_partners = [partner]
        async with app.router.lifespan_context(app):
            await asyncio.wait_for(app.state.consumer.assigned.wait(), 60)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://gateway", timeout=60
            ) as client:
                yield app, client, partner, group
    finally:
        if before is None:
            os.environ.pop("GATEWAY_PARTNERS_FILE", None)
        else:
            os.environ["GATEWAY_PARTNERS_FILE"] = before
