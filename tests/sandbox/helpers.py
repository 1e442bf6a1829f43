"""Plain helpers of the sandbox tests: ports, a TCP forwarder that plays a broker coming up late,
an SFTP session with a sandbox's mailbox, reading what the sandbox answered, and hand-built
837I (005010X223A2) files as a hospital's billing system sends them (`make_837i`, one claim's
set body; `make_interchange`, one functional group per guide, GS08), independent of the
platform's own 837I writer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncssh

from deploy.payer_sandbox.testing import TEST_RECEIVER_ID
from shared import x12


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


VERSION_837I = "005010X223A2"
VERSION_837P = "005010X222A2"
BILLING_NPI = "1234567893"
Body = list[list[str]]


@dataclass(frozen=True)
class Rev:
    """One SV2 line: revenue code, charge, units (UN or DA), optional HCPCS, optional date."""

    revenue: str
    charge: str
    units: str = "1"
    hcpcs: str = ""
    basis: str = "UN"
    day: date | None = None


def days_ago(n: int) -> date:
    return date.today() - timedelta(days=n)


def make_837i(
    pcn: str,
    lines: list[Rev],
    *,
    member_id: str = "SBX10001",
    bill: str = "111",
    statement: tuple[date, date] = (days_ago(10), days_ago(6)),
    admission: date | None = days_ago(10),
    drg: str | None = "291",
    taxonomy: str = "282N00000X",
    payer_id: str = "SBX001",
    patient_status: str = "01",
    responsibility: str = "P",
    prior: tuple[str, list[tuple[str, str, str]]] | None = None,
    original: str | None = None,
    prior_mia: tuple[str, ...] = (),
) -> Body:
    """One claim's set body. `bill`: the type of bill's facility type code + frequency (111
    inpatient admit-through-discharge, 131 outpatient). `prior` (responsibility S): the primary
    payer's paid amount and claim-level CAS (group, reason, amount) for loop 2320. `original`:
    REF*F8, the payer claim control number a replacement (7) or void (8) refers to. `prior_mia`:
    the primary's MIA elements, sent on in 2320."""
    total = sum((Decimal(line.charge) for line in lines), Decimal(0))
    inpatient = bill[1] in "12"
    body: Body = [
        x12.seg("BHT", "0019", "00", pcn, "20261120", "1200", "CH"),
        x12.seg("NM1", "41", "2", "SANDBOX GENERAL HOSPITAL", "", "", "", "", "46", "HOSP0001"),
        x12.seg("PER", "IC", "PATIENT ACCOUNTS", "TE", "8005550199"),
        x12.seg("NM1", "40", "2", "SANDBOX CLEARINGHOUSE", "", "", "", "", "46", TEST_RECEIVER_ID),
        x12.seg("HL", "1", "", "20", "1"),
        x12.seg("PRV", "BI", "PXC", taxonomy),
        x12.seg("NM1", "85", "2", "SANDBOX GENERAL HOSPITAL", "", "", "", "", "XX", BILLING_NPI),
        x12.seg("N3", "100 HOSPITAL DR"),
        x12.seg("N4", "SPRINGFIELD", "IL", "627011234"),
        x12.seg("REF", "EI", "123456789"),
        x12.seg("HL", "2", "1", "22", "0"),
        x12.seg("SBR", responsibility, "18", "GRP1001", "", "", "", "", "", "CI"),
        x12.seg("NM1", "IL", "1", "ACTIVE", "ALEX", "", "", "", "MI", member_id),
        x12.seg("N3", "1 MAIN ST"),
        x12.seg("N4", "SPRINGFIELD", "IL", "62701"),
        x12.seg("DMG", "D8", "19800115", "F"),
        x12.seg("NM1", "PR", "2", "SANDBOX HEALTH PLAN", "", "", "", "", "PI", payer_id),
        x12.seg("CLM", pcn, x12.amount(total), "", "", f"{bill[:2]}:A:{bill[2]}", "", "A", "Y", "Y"),
    ]
    if inpatient:
        body.append(x12.seg("DTP", "096", "TM", "1000"))
    body.append(x12.seg("DTP", "434", "RD8", f"{x12.d8(statement[0])}-{x12.d8(statement[1])}"))
    if admission is not None:
        body.append(x12.seg("DTP", "435", "DT", x12.d8(admission) + "0830"))
    # CL1: X223A2 asks for it on inpatient claims; pyx12's X223A1 map requires it on every claim
    # (an A1/A2 difference), so outpatient claims carry the patient status only.
    body.append(x12.seg("CL1", "1", "7", patient_status) if inpatient else x12.seg("CL1", "", "", "01"))
    if original is not None:
        body.append(x12.seg("REF", "F8", original))  # the payer's claim control number replaced
    body.append(x12.seg("HI", "ABK:I5023" + (":::::::Y" if inpatient else "")))
    if inpatient:
        body.append(x12.seg("HI", "ABJ:R0602"))
        body.append(x12.seg("HI", "ABF:E119:::::::Y", "ABF:N179:::::::N"))
    else:
        body.append(x12.seg("HI", "APR:R0789"))
    if drg:
        body.append(x12.seg("HI", f"DR:{drg}"))
    body.append(x12.seg("NM1", "71", "1", "ATTENDING", "ALICE", "", "", "", "XX", "1245319599"))
    if prior is not None:
        paid, adjustments = prior
        body += [x12.seg("SBR", "P", "18", "GRP9", "", "", "", "", "", "CI")]
        for group, reason, amount in adjustments:
            body.append(x12.seg("CAS", group, reason, amount))
        body += [
            x12.seg("AMT", "D", paid),
            x12.seg("OI", "", "", "Y", "", "", "Y"),
            *([x12.seg("MIA", *mia)] if (mia := prior_mia) else []),
            x12.seg("NM1", "IL", "1", "ACTIVE", "ALEX", "", "", "", "MI", "SBX40002"),
            x12.seg("NM1", "PR", "2", "SANDBOX HEALTH PLAN", "", "", "", "", "PI", "SBX001"),
        ]
    for n, line in enumerate(lines, start=1):
        body.append(x12.seg("LX", str(n)))
        proc = f"HC:{line.hcpcs}" if line.hcpcs else ""
        body.append(x12.seg("SV2", line.revenue, proc, line.charge, line.basis, line.units))
        if line.day is not None:
            body.append(x12.seg("DTP", "472", "D8", x12.d8(line.day)))
    return body


def make_interchange(groups: list[tuple[str, list[Body]]], control_number: int, *, usage: str = "T") -> str:
    """One interchange holding one functional group per (version, set bodies): GS06 1, 2, …"""
    now = datetime.now()
    segments: list[str] = []
    for n, (version, bodies) in enumerate(groups, start=1):
        text = x12.build(
            bodies,
            transaction_code="837",
            functional_id="HC",
            version=version,
            sender_id="HOSP0001",
            receiver_id=TEST_RECEIVER_ID,
            control_number=control_number,
            now=now,
            usage=usage,
        )
        parts = [p.strip() for p in text.split("~") if p.strip()]
        if n == 1:
            segments.append(parts[0])  # ISA
        for part in parts[1:-1]:
            elements = part.split("*")
            if elements[0] == "GS":
                elements[6] = str(n)
            elif elements[0] == "GE":
                elements[2] = str(n)
            segments.append("*".join(elements))
    segments.append(f"IEA*{len(groups)}*{control_number:09d}")
    return "".join(s + "~\n" for s in segments)
