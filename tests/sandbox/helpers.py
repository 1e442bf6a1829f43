"""Plain helpers of the sandbox tests: ports, a TCP forwarder that plays a broker coming up late,
an SFTP session with a sandbox's mailbox, and reading what the sandbox answered."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import asyncssh


def free_port() -> int:
    """A port nothing listens on (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def forwarding(port: int, target: str) -> AsyncIterator[None]:
    """Listen on 127.0.0.1:`port` and pass every connection through to `target` (host:port):
    before the block, connections to the port are refused, as to a broker that is down."""
    host, target_port = target.rsplit(":", 1)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(target_port))
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", port, reuse_address=True)
    try:
        yield
    finally:
        server.close()


def header(record: Any, name: str) -> str | None:
    return next((v.decode() for k, v in record.headers or [] if k == name), None)


def get_claim_traces(records: list[Any], pcn: str) -> dict[str, list[str]]:
    """The payments (CLP statuses) of `pcn` in the distinct 835 events among `records`, by
    trace number: an event published twice (same ce_id) counts once."""
    out: dict[str, list[str]] = {}
    seen: set[str | None] = set()
    for record in records:
        event_id = header(record, "ce_id")
        if event_id in seen:
            continue
        seen.add(event_id)
        payload = json.loads(record.value)
        for status in re.findall(rf"CLP\*{re.escape(pcn)}\*(\d+)\*", payload["x12_835"]):
            out.setdefault(payload["trace_number"], []).append(status)
    return out


def get_answers(records: list[Any], pcn: str) -> set[str | None]:
    """The distinct events (ce_id) among `records` that answer claim `pcn`."""
    return {header(r, "ce_id") for r in records if json.loads(r.value).get("patient_control_number") == pcn}


@contextlib.asynccontextmanager
async def open_sftp(sandbox: Any) -> AsyncIterator[asyncssh.SFTPClient]:
    """An SFTP session (asyncssh's client) as the sandbox's mailbox user: its client key, the
    sandbox's host key pinned. `sandbox`: a running_sandbox or sandbox_process handle."""
    assert sandbox.sftp_port and sandbox.client_key_path and sandbox.user
    known = asyncssh.import_known_hosts(sandbox.known_hosts())
    async with (
        asyncssh.connect(
            "127.0.0.1",
            sandbox.sftp_port,
            username=sandbox.user,
            client_keys=[str(sandbox.client_key_path)],
            known_hosts=known,
        ) as conn,
        conn.start_sftp_client() as client,
    ):
        yield client
