"""The clearinghouse's SFTP mailbox: an asyncssh server inside the sandbox process.

Each user (mailbox-users.json, or added by the test harness) logs in with an authorized
public key or a password and is chrooted to `<root>/<user>/`, which holds
- `to/`: the partner uploads 837s (and 276s) here; the file desk (filedesk.py) picks them up;
- `from/`: the sandbox writes its answers here (TA1, 999, 277CA, 835, 277).

Why in-process asyncssh and not OpenSSH's sshd: virtual users without system accounts, a
per-user chroot without root-owned directories, port 0 for tests, and the same event loop as
the HTTP side (see pyproject's note). OpenSSH's own client is tested against it
(tests/sandbox/test_mailbox.py), so what we serve is what real clients speak.

The chroot refuses a path that climbs above the user's folder (`../`) with "permission
denied" instead of quietly clamping it to `/`. Renames: plain SFTP rename refuses to replace
an existing file (as the protocol says); `posix-rename@openssh.com` replaces it.

For crash tests: `SANDBOX_SFTP_READ_DELAY_MS` / `SANDBOX_SFTP_WRITE_DELAY_MS` sleep before each
chunk of THROTTLE_CHUNK bytes read or written (a throttled read answers at most one chunk, a
legal short read the client continues; a throttled write lands chunk by chunk), so even a small
file is seen half transferred; and `transfers()` (GET /mailbox/transfers) lists the
open files with how many bytes went through, so a test can kill a client mid-transfer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import json
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

log = logging.getLogger("payer_sandbox.mailbox")

FOLDERS = ("to", "from")
THROTTLE_CHUNK = 512  # bytes per delay step when a transfer is throttled


@dataclass(frozen=True)
class MailboxUser:
    """One partner's login: an authorized key (OpenSSH authorized_keys text, or a path to such
    a file) or a password, and the ISA15 usage it must send (T test, P production)."""

    name: str
    authorized_keys: str | None = None
    password: str | None = None
    usage: str = "T"

    def keys(self) -> asyncssh.SSHAuthorizedKeys | None:
        if not self.authorized_keys:
            return None
        text = self.authorized_keys
        if not text.lstrip().startswith(("ssh-", "ecdsa-")):
            text = Path(text).read_text()
        return asyncssh.import_authorized_keys(text)

    def __repr__(self) -> str:  # never the password, not even in a traceback
        return f"MailboxUser(name={self.name!r}, usage={self.usage!r})"


def load_users(path: Path) -> list[MailboxUser]:
    """The users of a mailbox-users.json file: {"users": [{"name", "authorized_keys" |
    "password", "usage"}]}."""
    data = json.loads(path.read_text())
    return [
        MailboxUser(
            name=u["name"],
            authorized_keys=u.get("authorized_keys"),
            password=u.get("password"),
            usage=u.get("usage", "T"),
        )
        for u in data.get("users", [])
    ]


@dataclass
class Transfer:
    """An open file: who, which path (as the user sees it), read or write, bytes so far."""

    user: str
    path: str
    mode: str
    bytes: int = 0
    local: str = ""


class Transfers:
    """The open file handles of every session, for /mailbox/transfers and the file desk (a
    file still open for writing is not settled)."""

    def __init__(self) -> None:
        self._open: dict[int, Transfer] = {}
        self._ids = itertools.count(1)

    def opened(self, transfer: Transfer) -> int:
        handle = next(self._ids)
        self._open[handle] = transfer
        return handle

    def closed(self, handle: int) -> None:
        self._open.pop(handle, None)

    def moved(self, handle: int, count: int) -> None:
        if handle in self._open:
            self._open[handle].bytes += count

    def writing(self, local: Path) -> bool:
        return any(t.mode == "write" and t.local == str(local) for t in self._open.values())

    def snapshot(self) -> list[dict[str, Any]]:
        return [
            {"user": t.user, "path": t.path, "mode": t.mode, "bytes": t.bytes} for t in self._open.values()
        ]


class _Auth(asyncssh.SSHServer):
    """Per connection: the user's authorized keys, or its password. An unknown user gets the
    same answer as a wrong key (no user enumeration)."""

    def __init__(self, users: dict[str, MailboxUser]) -> None:
        self._users = users
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn

    def begin_auth(self, username: str) -> bool:
        user = self._users.get(username)
        if user is not None and self._conn is not None:
            keys = user.keys()
            if keys is not None:
                self._conn.set_authorized_keys(keys)
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        user = self._users.get(username)
        if user is None or not user.password:
            return False
        return hmac.compare_digest(user.password.encode(), password.encode())


class _Files(asyncssh.SFTPServer):
    """One session's SFTP server, chrooted to the user's folder, throttled and watched."""

    def __init__(self, chan: asyncssh.SSHServerChannel, mailbox: Mailbox) -> None:
        self._user = chan.get_extra_info("username")
        self._mailbox = mailbox
        self._handles: dict[int, int] = {}  # id(file object) -> Transfers handle
        super().__init__(chan, chroot=str(mailbox.folder(self._user)))

    def map_path(self, path: bytes) -> bytes:
        depth = 0
        for part in path.split(b"/"):
            if part in (b"", b"."):
                continue
            depth += -1 if part == b".." else 1
            if depth < 0:
                raise asyncssh.SFTPPermissionDenied("permission denied: outside the mailbox")
        return super().map_path(path)

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        """A listing without asking about `..` of the root (which map_path refuses)."""
        local = _local(self.map_path(path))
        here = asyncssh.SFTPAttrs.from_local(os.lstat(local))
        for name in (b".", b".."):
            yield asyncssh.SFTPName(name, attrs=here)
        with os.scandir(local) as entries:
            for entry in entries:
                attrs = asyncssh.SFTPAttrs.from_local(entry.stat(follow_symlinks=False))
                yield asyncssh.SFTPName(os.fsencode(entry.name), attrs=attrs)

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        file_obj = super().open(path, pflags, attrs)
        writing = bool(pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT))
        transfer = Transfer(
            self._user,
            "/" + posix(path).lstrip("/"),
            "write" if writing else "read",
            local=posix(self.map_path(path)),
        )
        self._handles[id(file_obj)] = self._mailbox.transfers.opened(transfer)
        return file_obj

    async def read(self, file_obj: object, offset: int, size: int) -> bytes:
        if self._mailbox.read_delay_ms > 0:
            size = min(size, THROTTLE_CHUNK)
        await self._mailbox.pause(self._mailbox.read_delay_ms)
        data = super().read(file_obj, offset, size)
        assert isinstance(data, bytes)
        self._mailbox.transfers.moved(self._handles.get(id(file_obj), 0), len(data))
        return data

    async def write(self, file_obj: object, offset: int, data: bytes) -> int:
        step = THROTTLE_CHUNK if self._mailbox.write_delay_ms > 0 else max(len(data), 1)
        for start in range(0, len(data), step):
            await self._mailbox.pause(self._mailbox.write_delay_ms)
            super().write(file_obj, offset + start, data[start : start + step])
            self._mailbox.transfers.moved(self._handles.get(id(file_obj), 0), len(data[start : start + step]))
        return len(data)

    def close(self, file_obj: object) -> None:
        handle = self._handles.pop(id(file_obj), None)
        if handle is not None:
            self._mailbox.transfers.closed(handle)
        super().close(file_obj)

    def exit(self) -> None:  # the session ended (or the client died): its files are closed
        for handle in self._handles.values():
            self._mailbox.transfers.closed(handle)
        self._handles.clear()
        super().exit()


def posix(path: bytes) -> str:
    return path.decode("utf-8", errors="replace")


def _local(path: bytes) -> str:
    return os.fsdecode(path)


class Mailbox:
    """The running SFTP server: its port, users, folders and open transfers."""

    def __init__(
        self, root: Path, users: list[MailboxUser], *, read_delay_ms: int = 0, write_delay_ms: int = 0
    ) -> None:
        self.root = root
        self.users: dict[str, MailboxUser] = {}
        self.read_delay_ms = read_delay_ms
        self.write_delay_ms = write_delay_ms
        self.transfers = Transfers()
        self.port = 0
        self._server: asyncssh.SSHAcceptor | None = None
        for user in users:
            self.add_user(user)

    def folder(self, user: str) -> Path:
        return self.root / user

    def add_user(self, user: MailboxUser) -> Path:
        """Register a user (at start, or a test's own) and make its folders; its folder."""
        for name in FOLDERS:
            (self.folder(user.name) / name).mkdir(parents=True, exist_ok=True)
        self.users[user.name] = user
        return self.folder(user.name)

    @staticmethod
    async def pause(delay_ms: int) -> None:
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)

    async def start(self, host: str, port: int, host_key: Path) -> None:
        self._server = await asyncssh.create_server(
            lambda: _Auth(self.users),
            host,
            port,
            server_host_keys=[str(host_key)],
            sftp_factory=lambda chan: _Files(chan, self),
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("SFTP mailbox listening on %s:%s for %d users", host, self.port, len(self.users))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
