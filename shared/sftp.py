"""An SFTP client for clearinghouse mailboxes (asyncssh), the one way the platform talks SFTP.

    async with sftp.connect(partner, credentials) as box:
        for entry in await box.list(partner.from_folder): ...
        data = await box.read(f"{partner.from_folder}/{entry.name}")
        await box.upload(f"{partner.to_folder}/{name}", data)

Why these rules:
- The server's host key is pinned (`host_key`, or a `known_hosts_file`): a gateway that cannot
  tell its clearinghouse from an attacker on the network must not hand it claims. A server
  with another key is refused before any credential is sent.
- An upload is written under `name + temp_suffix` and renamed into place (`posix-rename@
  openssh.com` when the server offers it, else a plain rename), so the clearinghouse never
  picks up half a file; `upload_mode="direct"` writes the name itself, for servers that take
  files as they are written and refuse renames.
- Errors name the partner and the kind of failure (`host_key`, `auth`, `unreachable`,
  `protocol`, `not_found`, `refused`), never a secret; the asyncssh error is not chained,
  so no traceback carries what it held.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import asyncssh

log = logging.getLogger(__name__)


class Partner(Protocol):
    """What the client needs of a trading partner (services.gateway.partners.domain)."""

    id: str
    host: str
    port: int
    username: str
    host_key: str | None
    known_hosts_file: Any
    upload_mode: str
    temp_suffix: str


class SecretSource(Protocol):
    """A partner's resolved secret (services.gateway.partners.domain.Credentials)."""

    password: Any
    key_file: Any
    key_passphrase: Any


class SftpError(Exception):
    """A mailbox operation failed: `kind` says how, for state and alerts; never a secret."""

    def __init__(self, partner_id: str, kind: str, operation: str = "connect") -> None:
        super().__init__(f"partner {partner_id}: SFTP {operation} failed ({kind})")
        self.partner_id = partner_id
        self.kind = kind
        self.operation = operation


@dataclass(frozen=True)
class Entry:
    """One remote file: name (no folder), size in bytes, modification time (epoch seconds)."""

    name: str
    size: int
    mtime: float


def _known_hosts(partner: Partner) -> Any:
    """asyncssh's known_hosts argument: exactly the pinned key (whatever name the host has),
    or the operator's known_hosts file."""
    if partner.host_key:
        return ([asyncssh.import_public_key(partner.host_key)], [], [])
    return str(partner.known_hosts_file)


def _kind(error: BaseException) -> str:
    if isinstance(error, asyncssh.HostKeyNotVerifiable):
        return "host_key"
    if isinstance(error, asyncssh.PermissionDenied):
        return "auth"
    if isinstance(error, asyncssh.SFTPNoSuchFile):
        return "not_found"
    if isinstance(error, asyncssh.SFTPPermissionDenied):
        return "refused"
    if isinstance(error, (OSError, TimeoutError, asyncssh.ConnectionLost)):
        return "unreachable"
    return "protocol"


@contextlib.contextmanager
def _failures(partner_id: str, operation: str) -> Any:
    """Turn any SSH/SFTP/network error into an SftpError naming only the partner and kind."""
    try:
        yield
    except SftpError:
        raise
    except (asyncssh.Error, OSError, TimeoutError, ValueError) as error:
        raise SftpError(partner_id, _kind(error), operation) from None


class Mailbox:
    """An open SFTP session with one partner."""

    def __init__(self, partner: Partner, client: asyncssh.SFTPClient) -> None:
        self.partner = partner
        self.client = client

    async def list(self, folder: str) -> list[Entry]:
        """The regular files of `folder` (no dot files, no folders)."""
        with _failures(self.partner.id, "list"):
            names = await self.client.readdir(folder)
        out = []
        for item in names:
            name = item.filename if isinstance(item.filename, str) else item.filename.decode()
            if name.startswith(".") or item.attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY:
                continue
            out.append(Entry(name, int(item.attrs.size or 0), float(item.attrs.mtime or 0)))
        return sorted(out, key=lambda e: (e.mtime, e.name))

    async def stat(self, path: str) -> Entry | None:
        """The file at `path`, or None when there is none."""
        try:
            with _failures(self.partner.id, "stat"):
                attrs = await self.client.stat(path)
        except SftpError as error:
            if error.kind == "not_found":
                return None
            raise
        return Entry(posixpath.basename(path), int(attrs.size or 0), float(attrs.mtime or 0))

    async def read(self, path: str, *, max_bytes: int | None = None) -> bytes:
        """The whole file (refused past `max_bytes`: a mailbox file is never that large)."""
        with _failures(self.partner.id, "read"):
            async with self.client.open(path, "rb") as handle:
                data = await handle.read(-1 if max_bytes is None else max_bytes + 1)
        if max_bytes is not None and len(data) > max_bytes:
            raise SftpError(self.partner.id, "too_large", "read")
        return bytes(data)

    async def upload(self, path: str, data: bytes) -> None:
        """Put `data` at `path` so that the server never sees it half written (module doc)."""
        with _failures(self.partner.id, "upload"):
            if self.partner.upload_mode == "direct":
                async with self.client.open(path, "wb") as handle:
                    await handle.write(data)
                return
            temp = path + self.partner.temp_suffix
            async with self.client.open(temp, "wb") as handle:
                await handle.write(data)
            await self._rename(temp, path)

    async def remove(self, path: str) -> None:
        with _failures(self.partner.id, "remove"):
            await self.client.remove(path)

    async def move(self, path: str, folder: str) -> None:
        """Move a file into `folder`, keeping its name (an archive after download)."""
        with _failures(self.partner.id, "move"):
            await self._rename(path, posixpath.join(folder, posixpath.basename(path)))

    async def _rename(self, old: str, new: str) -> None:
        try:
            await self.client.posix_rename(old, new)
        except asyncssh.SFTPOpUnsupported:
            await self.client.rename(old, new)


@contextlib.asynccontextmanager
async def connect(
    partner: Partner, credentials: SecretSource, *, timeout_seconds: float = 30.0
) -> AsyncIterator[Mailbox]:
    """An SFTP session with the partner's server, its host key checked against the pin."""
    options: dict[str, Any] = {
        "username": partner.username,
        "known_hosts": None,
        "agent_path": None,  # only the configured secret, never whatever an agent holds
        "connect_timeout": timeout_seconds,
        "login_timeout": timeout_seconds,
    }
    with _failures(partner.id, "connect"):
        options["known_hosts"] = _known_hosts(partner)
        if credentials.key_file is not None:
            passphrase = credentials.key_passphrase
            options["client_keys"] = [
                asyncssh.read_private_key(
                    str(credentials.key_file), passphrase.get_secret_value() if passphrase else None
                )
            ]
            options["password"] = None
        else:
            options["client_keys"] = None
            options["password"] = credentials.password.get_secret_value() if credentials.password else None
        conn = await asyncssh.connect(partner.host, partner.port, **options)
    try:
        with _failures(partner.id, "connect"):
            client = await conn.start_sftp_client()
        try:
            yield Mailbox(partner, client)
        finally:
            client.exit()
    finally:
        conn.close()
        with contextlib.suppress(Exception):
            await conn.wait_closed()
