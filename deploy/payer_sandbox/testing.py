"""A running sandbox for other parts' tests: real HTTP on an ephemeral port, and with
`mailbox=True` its SFTP mailbox with a user of the test's own.

    from deploy.payer_sandbox.testing import running_sandbox

    async with running_sandbox(mailbox=True) as sandbox:
        r = await client.post(f"{sandbox.base_url}/x12/270", content=x12_270)
        stats = await sandbox.stats()          # {"total": ..., "by_member": {...}, ...}

Claims reach it only as 837 files in that user's `to/` folder (the gateway uploads them:
tests/conftest.py `running_clearinghouse` runs both), so a test's sandbox answers only the
files of its own user. `sandbox_process` runs it as its own process instead (for tests that
kill it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from deploy.payer_sandbox.app import create_app
from deploy.payer_sandbox.config import SandboxConfig
from deploy.payer_sandbox.keys import DevKeys, ensure_dev_keys, known_hosts_line
from deploy.payer_sandbox.samples import TEST_RECEIVER_ID, SampleDependent, SampleLine, sample_270, sample_837

__all__ = [
    "TEST_RECEIVER_ID", "ProcessHandle", "SampleDependent", "SampleLine", "SandboxHandle",
    "running_sandbox", "sample_270", "sample_837", "sandbox_process",
]  # fmt: skip
from deploy.serving import serving


@dataclass
class SandboxHandle:
    """A running sandbox. With `mailbox=True`: its SFTP port, the test's own mailbox user, the
    client key that user logs in with, the host key's public line (to pin) and the user's
    folder (`root / "to"`, `root / "from"`)."""

    base_url: str
    app: FastAPI
    config: SandboxConfig
    sftp_port: int | None = None
    user: str | None = None
    client_key_path: Path | None = None
    host_key: str | None = None
    root: Path | None = None

    def known_hosts(self) -> str:
        """A known_hosts line pinning this sandbox's host key at its SFTP port."""
        assert self.host_key is not None and self.sftp_port is not None
        return known_hosts_line(self.host_key, port=self.sftp_port)

    @property
    def pipeline(self) -> Any:
        """The file desk's clearinghouse (None without the mailbox); `.remittances`: the latest
        5,000 835s it wrote."""
        files = self.app.state.files
        return files.desk.clearinghouse if files is not None else None

    async def stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as client:
            response = await client.get("/stats")
            response.raise_for_status()
            return response.json()

    async def reset_stats(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as client:
            (await client.post("/stats/reset")).raise_for_status()


@contextlib.asynccontextmanager
async def running_sandbox(
    *,
    seed: int = 7,
    slow_delay_ms: int | None = None,
    remittance_mode: str | None = None,
    cycle_seconds: float | None = None,
    random_denial_share: str | None = None,
    receiver_ids: frozenset[str] | None = frozenset({TEST_RECEIVER_ID}),
    state_path: str | None = None,
    mailbox: bool = False,
    mailbox_dir: Path | None = None,
    usage: str = "T",
    sftp_read_delay_ms: int = 0,
    sftp_write_delay_ms: int = 0,
) -> AsyncIterator[SandboxHandle]:
    """Start the sandbox (HTTP, and the clearinghouse when `mailbox`) and stop it on exit. The
    remittance/denial knobs override payers.json for every payer; `state_path` is
    its store (default: in memory, forgotten on exit). `mailbox`: also the SFTP mailbox and
    its file desk on a free port, with a user of this call's own (key login, ISA15 `usage`),
    keys and folders under `mailbox_dir` (default a new temporary directory)."""
    account = _test_account(mailbox_dir, usage) if mailbox else None
    config = SandboxConfig(
        seed=seed,
        slow_delay_ms=slow_delay_ms,
        remittance_mode=remittance_mode,
        cycle_seconds=cycle_seconds,
        random_denial_share=random_denial_share,
        receiver_ids=receiver_ids,
        log_level="WARNING",
        state_path=state_path,
        **(account.settings(sftp_read_delay_ms, sftp_write_delay_ms) if account else {}),
    )
    app = create_app(config)
    async with serving(app) as base_url:
        handle = SandboxHandle(base_url, app, config)
        if account is not None:
            account.fill(handle, app.state.files.mailbox.port)
        yield handle


@dataclass(frozen=True)
class _Account:
    """A test's own mailbox: keys, a users file with one fresh user, and where its folders are."""

    state: Path
    user: str
    keys: DevKeys

    def settings(self, read_delay_ms: int, write_delay_ms: int) -> dict[str, Any]:
        return {
            "mailbox": True,
            "sftp_port": 0,
            "sftp_read_delay_ms": read_delay_ms,
            "sftp_write_delay_ms": write_delay_ms,
            "mailbox_state_dir": str(self.state),
            "mailbox_root": str(self.state / "mailboxes"),
            "mailbox_users_file": str(self.state / "test-users.json"),
            "file_poll_seconds": 0.1,
        }

    def env(self, read_delay_ms: int = 0, write_delay_ms: int = 0) -> dict[str, str]:
        return {
            "SANDBOX_MAILBOX": "1",
            "SANDBOX_SFTP_PORT": "0",
            "SANDBOX_SFTP_READ_DELAY_MS": str(read_delay_ms),
            "SANDBOX_SFTP_WRITE_DELAY_MS": str(write_delay_ms),
            "SANDBOX_MAILBOX_DIR": str(self.state),
            "SANDBOX_MAILBOX_ROOT": str(self.state / "mailboxes"),
            "SANDBOX_MAILBOX_USERS": str(self.state / "test-users.json"),
            "SANDBOX_RECEIVER_IDS": TEST_RECEIVER_ID,  # what test 837s are addressed to (ISA08)
            "SANDBOX_FILE_POLL_SECONDS": "0.1",
        }

    def fill(self, handle: Any, port: int) -> None:
        handle.sftp_port = port
        handle.user = self.user
        handle.client_key_path = self.keys.client_key
        handle.host_key = self.keys.host_public_key
        handle.root = self.state / "mailboxes" / self.user


def _test_account(mailbox_dir: Path | None, usage: str) -> _Account:
    state = mailbox_dir or Path(tempfile.mkdtemp(prefix="sandbox-mailbox-"))
    keys = ensure_dev_keys(state)
    user = f"t{uuid.uuid4().hex[:12]}"
    users = {"users": [{"name": user, "authorized_keys": str(keys.authorized_keys), "usage": usage}]}
    (state / "test-users.json").write_text(json.dumps(users))
    return _Account(state, user, keys)


ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ProcessHandle:
    """A sandbox process: `proc, base_url = handle` as before, and with a mailbox the same
    fields as SandboxHandle's (sftp_port, user, client_key_path, host_key, root)."""

    proc: asyncio.subprocess.Process
    base_url: str
    sftp_port: int | None = None
    user: str | None = None
    client_key_path: Path | None = None
    host_key: str | None = None
    root: Path | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.proc, self.base_url))

    def known_hosts(self) -> str:
        assert self.host_key is not None and self.sftp_port is not None
        return known_hosts_line(self.host_key, port=self.sftp_port)


def _started(body: dict[str, Any], mailbox: bool) -> bool:
    """Ready: it answers, and its mailbox listens (when asked)."""
    return not mailbox or bool(body.get("mailbox", {}).get("sftp_port"))


@contextlib.asynccontextmanager
async def sandbox_process(
    env: dict[str, str],
    *,
    mailbox: bool = False,
    mailbox_dir: Path | None = None,
    usage: str = "T",
    sftp_read_delay_ms: int = 0,
    sftp_write_delay_ms: int = 0,
) -> AsyncIterator[ProcessHandle]:
    """The sandbox as `make up` runs it: its own process (uvicorn) on a free port, configured by
    `env` (SANDBOX_* variables). Yields the process (a test may kill -9 it) and its base URL once
    it answers (and, with `mailbox`, its SFTP mailbox listens, with a user of this call's own as
    in running_sandbox); the process is killed on exit if still running."""
    account = _test_account(mailbox_dir, usage) if mailbox else None
    if account is not None:
        env = {**account.env(sftp_read_delay_ms, sftp_write_delay_ms), **env}
    else:  # no mailbox: it must not listen on `make up`'s SFTP port
        env = {"SANDBOX_MAILBOX": "0", **env}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = ROOT
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "uvicorn", "deploy.payer_sandbox.main:app", "--host", "127.0.0.1", "--port", str(port)),
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root), "LOG_LEVEL": "WARNING", **env},
    )
    base_url = f"http://127.0.0.1:{port}"
    handle = ProcessHandle(proc, base_url)
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            deadline = asyncio.get_running_loop().time() + 90
            while True:
                if proc.returncode is not None:
                    raise RuntimeError(f"the sandbox process exited ({proc.returncode})")
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError("the sandbox process did not start")
                with contextlib.suppress(httpx.TransportError):
                    response = await client.get("/health")
                    if response.status_code == 200 and _started(response.json(), mailbox):
                        break
                await asyncio.sleep(0.2)
        if account is not None:
            account.fill(handle, response.json()["mailbox"]["sftp_port"])
        yield handle
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
