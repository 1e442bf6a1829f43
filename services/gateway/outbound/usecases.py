"""The outbound path: a submitted claim is queued for its partner (once per event), a partner's
queue becomes one interchange file (one commit: the file, its control numbers, its claims),
and a built file is uploaded (stat first, so a crash after the rename is not a second file)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.outbound import domain, store, x12 as outbound_x12
from services.gateway.partners.domain import TradingPartner
from services.gateway.partners.usecases import credentials
from shared import sftp
from shared.db import Database
from shared.events import Event
from shared.events.catalogue import ClaimSubmitted

log = logging.getLogger(__name__)

Hold = Callable[[AsyncSession], Awaitable[None]]


@dataclass(frozen=True)
class Built:
    """A file built for a partner (what the batcher logs and tests check; no PHI)."""

    file_id: uuid.UUID
    file_name: str
    icn: int
    gcn: int  # the first group's GS06 (the only one unless the file mixes guides)
    claim_count: int
    # per set given to new_file, in that order: (its ST02, its group's GS06)
    placed: tuple[tuple[str, str], ...] = ()


def _queued_row(event: Event, partners: Sequence[TradingPartner], now: datetime) -> dict[str, object]:
    claim = event.data
    assert isinstance(claim, ClaimSubmitted)
    try:
        partner = domain.route(outbound_x12.receiver_id(claim.x12_837), partners)
    except ValueError:  # not an interchange at all: no partner can take it
        partner = None
    return {
        "event_id": event.id,
        "claim_id": claim.claim_id,
        "patient_control_number": claim.patient_control_number,
        "payer_id": claim.payer_id,
        "partner_id": partner.id if partner else None,
        "frequency_code": claim.frequency_code,
        "x12_837": claim.x12_837,
        "submitted_at": claim.submitted_at,
        "received_at": now,
        "state": "queued" if partner is not None else "ignored",
    }


async def record_claims(
    session: AsyncSession, events: Sequence[Event], partners: Sequence[TradingPartner]
) -> None:
    """Queue each claim.submitted for the partner its 837's ISA08 names, or keep it `ignored`
    when none does (one statement per poll; idempotent on the event id)."""
    now = datetime.now(UTC)
    await store.add_claims(session, [_queued_row(e, partners, now) for e in events])


async def record_claim(session: AsyncSession, event: Event, partners: Sequence[TradingPartner]) -> str:
    """One claim, as record_claims records it; the state it was recorded with."""
    row = _queued_row(event, partners, datetime.now(UTC))
    await store.add_claims(session, [row])
    return str(row["state"])


async def build_file(
    session: AsyncSession, partner: TradingPartner, *, force: bool = False, hold: Hold | None = None
) -> Built | None:
    """One file of the partner's queued claims when its queue is due (or `force`), in the
    caller's transaction, which commits the file and its claims together (`hold`: a test's
    pause just before that commit). None when nothing is due or another batcher holds them."""
    queued, oldest = await store.queue_of(session, partner.id)
    if not (force and queued) and not domain.batch_due(partner, queued, oldest):
        return None
    rows = await store.take_queued(session, partner.id, partner.batch_max_claims)
    if not rows:
        return None
    sets = [outbound_x12.claim_set(row.x12_837) for row in rows]
    built = await new_file(session, partner, sets, kind="837", functional_id="HC", now=datetime.now(UTC))
    placed = [(row.event_id, st02, gcn) for row, (st02, gcn) in zip(rows, built.placed, strict=True)]
    filed = await store.file_claims(session, built.file_id, placed)
    if filed != len(rows):  # cannot happen under the row locks; never let a claim into two files
        raise RuntimeError(f"partner {partner.id}: {len(rows) - filed} claims were filed already")
    if hold is not None:
        await hold(session)
    return built


async def new_file(
    session: AsyncSession,
    partner: TradingPartner,
    sets: Sequence[outbound_x12.Set],
    *,
    kind: str,
    functional_id: str,
    now: datetime,
) -> Built:
    """One interchange of `sets` (one claim or inquiry each) in the partner's envelope, one
    functional group per implementation guide (837P and 837I apart), with its next ISA13 and a
    GS06 per group, and its file naming, recorded as a submission file `built` for the
    uploader, in the caller's transaction: the one way an 837 batch or a 276 file is made."""
    icn = await store.next_control_number(session, partner.id, "isa", partner.control_number_start)
    groups = outbound_x12.grouped(sets)
    gcns = [
        await store.next_control_number(session, partner.id, "gs", partner.control_number_start)
        for _ in groups
    ]
    text = outbound_x12.interchange(
        partner,
        [[sets[i] for i in group] for group in groups],
        transaction_code=kind,
        functional_id=functional_id,
        icn=icn,
        gcns=gcns,
        now=now,
    )
    placed: dict[int, tuple[str, str]] = {}
    order = [(i, gcn) for group, gcn in zip(groups, gcns, strict=True) for i in group]
    for n, (i, gcn) in enumerate(order, start=1):
        placed[i] = (f"{n:04d}", str(gcn))
    gcn = gcns[0]
    file_id = uuid.uuid4()
    name = domain.file_name(partner, kind, icn, gcn, now)
    await store.add_file(
        session,
        {
            "id": file_id,
            "partner_id": partner.id,
            "kind": kind,
            "file_name": name,
            "interchange_control_number": f"{icn:09d}",
            "group_control_number": str(gcn),
            "usage": partner.usage_indicator,
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "x12": text,
            "claim_count": len(sets),
            "state": "built",
            "built_at": now,
        },
    )
    return Built(file_id, name, icn, gcn, len(sets), tuple(placed[i] for i in range(len(sets))))


async def upload_built(
    db: Database, partner: TradingPartner, *, lease_seconds: float = 60.0, timeout_seconds: float = 30.0
) -> int:
    """Upload the partner's built files; how many are now uploaded. A file already at its final
    name with the same size (a crash after the rename, before our commit) is only recorded."""
    async with db.session() as session:
        files = await store.take_built(session, partner.id, lease_seconds, limit=20)
        await session.commit()
    if not files:
        return 0
    done = 0
    try:
        async with sftp.connect(partner, credentials(partner), timeout_seconds=timeout_seconds) as box:
            for file in files:
                path = f"{partner.to_folder}/{file.file_name}"
                data = file.x12.encode()
                present = await box.stat(path)
                if present is None or present.size != len(data):
                    await box.upload(path, data)
                async with db.session() as session:
                    await store.mark_uploaded(session, file.id, partner.id, datetime.now(UTC))
                    await session.commit()
                done += 1
    except (sftp.SftpError, ValueError) as error:
        kind = getattr(error, "kind", "configuration")
        log.warning("partner %s: upload failed (%s)", partner.id, kind)
        async with db.session() as session:
            for file in files[done:]:
                await store.upload_failed(session, file.id, kind)
            await session.commit()
    return done
