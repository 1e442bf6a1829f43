"""Development SSH keys for the sandbox's SFTP mailbox, made once per state directory.

    keys = ensure_dev_keys(Path(".state/payer-sandbox"))

- `ssh_host_ed25519_key` (+ `.pub`): the mailbox server's host key. A client pins its public
  half (known_hosts), as a billing office pins a real clearinghouse's host key, so a server
  that is not the sandbox is refused.
- `gateway_ed25519_key` (+ `.pub`): the client key the platform's gateway logs in with.
- `gateway_authorized_keys`: the gateway user's authorized keys (the public client key).
- `known_hosts`: one line pinning the host key at 127.0.0.1 and `[127.0.0.1]:2222`.
- `mailbox-users.json`: the mailbox's users (one, `gateway`, with the authorized keys above
  and ISA15 `T`), the file `SANDBOX_MAILBOX_USERS` points at under `make up`.

Existing files are kept (a restart must not change the host key a client pinned); only
missing ones are made. Private keys are written 0600, as OpenSSH's client insists. These are
development keys, never in the repository (`.state/` is git-ignored).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import asyncssh

HOST_KEY = "ssh_host_ed25519_key"
CLIENT_KEY = "gateway_ed25519_key"
AUTHORIZED_KEYS = "gateway_authorized_keys"
KNOWN_HOSTS = "known_hosts"
USERS_FILE = "mailbox-users.json"
DEFAULT_USER = "gateway"
DEFAULT_PORT = 2222


@dataclass(frozen=True)
class DevKeys:
    """Where the development keys are."""

    host_key: Path
    host_public_key: str  # "ssh-ed25519 AAAA..." (what a client pins)
    client_key: Path
    client_public_key: str
    authorized_keys: Path
    known_hosts: Path
    users_file: Path


def _private_key(path: Path) -> asyncssh.SSHKey:
    """The key at `path`, generated (ed25519, mode 0600) when it does not exist yet."""
    if path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519")
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(key.export_private_key())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    path.with_name(path.name + ".pub").write_bytes(key.export_public_key())
    return key


def public_line(key: asyncssh.SSHKey) -> str:
    """A key's public half as one OpenSSH line without comment ("ssh-ed25519 AAAA...")."""
    return " ".join(key.export_public_key().decode().split()[:2])


def known_hosts_line(host_public_key: str, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> str:
    """The known_hosts line pinning `host_public_key` at host:port (OpenSSH writes a
    non-default port as `[host]:port`)."""
    pattern = host if port == 22 else f"[{host}]:{port}"
    return f"{pattern} {host_public_key}\n"


def host_public_key(state_dir: Path) -> str:
    """The host key's public line (generating the key when missing)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    return public_line(_private_key(state_dir / HOST_KEY))


def ensure_dev_keys(state_dir: Path, *, port: int = DEFAULT_PORT) -> DevKeys:
    """Make what is missing under `state_dir` (see the module docstring); return the paths."""
    state_dir.mkdir(parents=True, exist_ok=True)
    host = _private_key(state_dir / HOST_KEY)
    client = _private_key(state_dir / CLIENT_KEY)
    host_line, client_line = public_line(host), public_line(client)
    authorized = state_dir / AUTHORIZED_KEYS
    if not authorized.exists():
        authorized.write_text(client_line + "\n")
    known = state_dir / KNOWN_HOSTS
    if not known.exists():
        known.write_text(known_hosts_line(host_line, port=port))
    users = state_dir / USERS_FILE
    if not users.exists():
        users.write_text(
            json.dumps(
                {"users": [{"name": DEFAULT_USER, "authorized_keys": str(authorized), "usage": "T"}]},
                indent=2,
            )
            + "\n"
        )
    return DevKeys(
        host_key=state_dir / HOST_KEY,
        host_public_key=host_line,
        client_key=state_dir / CLIENT_KEY,
        client_public_key=client_line,
        authorized_keys=authorized,
        known_hosts=known,
        users_file=users,
    )
