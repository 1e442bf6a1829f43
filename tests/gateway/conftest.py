"""Fixtures of the gateway tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.config import Settings
from shared.db import Database, service_database_url


@pytest.fixture(scope="session")
def settings(settings: Settings) -> Settings:
    """Settings whose consumer group is kept across runs (one per test database), so a fresh
    group does not replay every claim anyone ever submitted on the shared broker."""
    database = os.environ.get("TEST_DATABASE_NAME") or "default"
    return settings.model_copy(update={"consumer_group_prefix": f"test-gateway-{database}-"})


# --- gateway out: the mailbox server, the gateway's database, partners files (gwout) --------


@dataclass
class MailboxHandle:
    """The sandbox's SFTP mailbox running for one test: where it listens, its user's folder,
    the client key to log in with and the host key to pin."""

    port: int
    user: str
    root: Path
    client_key_path: Path
    host_key: str
    server: object

    @property
    def to_dir(self) -> Path:
        return self.root / self.user / "to"

    @property
    def from_dir(self) -> Path:
        return self.root / self.user / "from"


@pytest.fixture(scope="session")
def sftp_keys(tmp_path_factory: pytest.TempPathFactory) -> object:
    """Development keys made as the sandbox makes them (host key, gateway client key)."""
    from deploy.payer_sandbox.keys import ensure_dev_keys

    return ensure_dev_keys(tmp_path_factory.mktemp("sftp-keys"), port=0)


@pytest.fixture
async def mailbox(tmp_path: Path, sftp_keys: object) -> AsyncIterator[MailboxHandle]:
    """The payer sandbox's asyncssh SFTP mailbox on an ephemeral port, with one key user and
    one password user (`<user>-pw`, password in MAILBOX_TEST_PASSWORD of the handle's env)."""
    from deploy.payer_sandbox.mailbox import Mailbox, MailboxUser

    user = f"u{uuid.uuid4().hex[:8]}"
    root = tmp_path / "mailbox"
    users = [
        MailboxUser(name=user, authorized_keys=str(sftp_keys.authorized_keys), usage="T"),  # type: ignore[attr-defined]
        MailboxUser(name=f"{user}-pw", password=MAILBOX_PASSWORD, usage="T"),
    ]
    server = Mailbox(root, users)
    await server.start("127.0.0.1", 0, sftp_keys.host_key)  # type: ignore[attr-defined]
    try:
        yield MailboxHandle(
            port=server.port,
            user=user,
            root=root,
            client_key_path=sftp_keys.client_key,  # type: ignore[attr-defined]
            host_key=sftp_keys.host_public_key,  # type: ignore[attr-defined]
            server=server,
        )
    finally:
        await server.close()


MAILBOX_PASSWORD = "pw-" + uuid.uuid4().hex  # the password user's secret (test_secrets looks for it)


@pytest.fixture
async def gateway_db(settings: Settings) -> AsyncIterator[Database]:
    """The gateway's database as the service sees it (its role, its schema)."""
    database = Database(service_database_url("gateway", settings), "gateway", pool_size=4)
    yield database
    await database.dispose()


@pytest.fixture
def partners_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where this test's partners.json goes; GATEWAY_PARTNERS_FILE points at it."""
    path = tmp_path / "partners.json"
    monkeypatch.setenv("GATEWAY_PARTNERS_FILE", str(path))
    return path


# --- end of gateway out's fixtures --------------------------------------------------------
