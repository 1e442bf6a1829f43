"""What happens to a file that comes in: it is kept first, exactly as received, and only then
acted on (the processing worker takes `received` rows; duplicates are kept but never acted on).
The mailbox poller, the manual upload route and the real-time claim-status call all come in
through `keep`, so there is one way a file enters the platform."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.acknowledgments import usecases as acknowledgments
from services.gateway.inbound import domain, store
from services.gateway.inbound.domain import Outcome, Received
from services.gateway.partners.domain import TradingPartner
from services.gateway.remittances import usecases as remittances
from services.gateway.statusreports import usecases as statusreports
from shared.paging import DateRange, PageQuery
from shared.x12 import Interchange, X12Error, parse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kept:
    """A received file on record: `new` is False when this name and content were kept before
    (a poll after a crash, an upload repeated), `state` `duplicate` when only the content was."""

    file_id: uuid.UUID
    state: str
    new: bool


def digest(content: bytes) -> str:
    """The content hash files are known by (SHA-256, hex)."""
    return hashlib.sha256(content).hexdigest()


async def keep(
    session: AsyncSession,
    *,
    partner_id: str | None,
    source: str,
    remote_name: str,
    content: bytes,
    actor: str,
    received_at: datetime | None = None,
) -> Kept:
    """Record a file as received, in the caller's transaction (the caller commits before it
    touches the remote file). X12 is ASCII-based; bytes that are not UTF-8 are kept readable
    with replacement characters, and the hash is of the bytes as received."""
    file_id, state, new = await store.keep_file(
        session,
        {
            "id": uuid.uuid4(),
            "partner_id": partner_id,
            "source": source,
            "remote_name": remote_name,
            "sha256": digest(content),
            "content": content.decode("utf-8", errors="replace"),
            "received_at": received_at or datetime.now(UTC),
            "actor": actor,
        },
    )
    return Kept(file_id, state, new)


# --- processing: identify, dispatch, record ------------------------------------------------

Reader = Callable[[AsyncSession, Received, Interchange], Awaitable[Outcome]]


# The reader of each kind of file. One place: a new reader is one line here.
READERS: dict[str, Reader] = {
    domain.TA1: acknowledgments.on_ta1,
    domain.ACK_999: acknowledgments.on_999,
    domain.CA_277: acknowledgments.on_277ca,
    domain.REMIT_835: remittances.on_835,
    domain.STATUS_277: statusreports.on_277,
}
# Kinds we identify but do not read from files, and why (the file goes to review).
UNSUPPORTED: dict[str, str] = {
    domain.ELIG_271: "271s come over HTTP: eligibility answers are not read from mailbox files",
}


async def process(session: AsyncSession, row: Any, partners: Mapping[str, TradingPartner]) -> Outcome:
    """Identify a kept file and act on it, in the caller's transaction: everything the file
    causes (events in the outbox, claims and submission files updated, its own state) commits
    together or not at all. A file nobody can act on goes to review, kept as it came."""
    received = domain.Received(
        row.id,
        row.partner_id,
        row.remote_name,
        row.content,
        row.received_at,
        partners.get(row.partner_id or ""),
    )
    errors: list[dict[str, Any]] = []
    kind = domain.UNKNOWN
    try:
        interchange = parse(row.content, strict=False)
    except X12Error as error:
        outcome = Outcome.to_review(
            domain.UNREADABLE, error.message, segment=error.segment, position=error.position
        )
    else:
        errors += [domain.located(w, "envelope", "warning") for w in interchange.warnings]
        identified = domain.identify(interchange)
        kind = identified.kind
        if identified.reason:
            outcome = Outcome(review=(identified.reason, identified.detail))
        elif kind in UNSUPPORTED:
            outcome = Outcome.to_review(domain.UNSUPPORTED, UNSUPPORTED[kind], kind=kind)
        else:
            outcome = await _read(session, received, interchange, kind)
    errors += outcome.warnings
    now = datetime.now(UTC)
    if outcome.review is not None:
        reason, detail = outcome.review
        await store.add_review(session, row.id, reason, detail, now)
        errors.append({"severity": "error", "rule": reason, **detail})
    await store.finish(
        session,
        row.id,
        kind=kind,
        state="review" if outcome.review else "processed",
        errors=errors,
        counts=outcome.counts,
        processed_at=now,
        retry_at=None,
    )
    log.info(
        "received file processed",
        extra={"file_id": str(row.id), "kind": kind, "review": outcome.review[0] if outcome.review else None},
    )
    return outcome


async def _read(session: AsyncSession, received: Received, interchange: Interchange, kind: str) -> Outcome:
    """The kind's reader (and a TA1 beside the groups), in a savepoint: content the reader
    cannot use (a value no event allows, an element no X12 rule expected) sends the file to
    review with nothing of it applied, instead of failing the file on every round."""
    try:
        async with session.begin_nested():
            outcome = await READERS[kind](session, received, interchange)
            if interchange.ta1 and kind != domain.TA1:  # a TA1 beside the groups answers too
                outcome = outcome.beside(await acknowledgments.on_ta1(session, received, interchange))
            return outcome
    except (ValidationError, X12Error) as error:
        where = {"segment": error.segment, "position": error.position} if isinstance(error, X12Error) else {}
        return Outcome.to_review(
            domain.UNREADABLE, f"the {kind} could not be read ({type(error).__name__})", **where
        )


async def process_due(
    sessions: Callable[[], AsyncSession], partners: Mapping[str, TradingPartner], *, limit: int, lease: float
) -> int:
    """The processing worker's round: lease due `received` files, then each in a transaction
    of its own (one file's failure never holds back the others). Returns how many were taken."""
    async with sessions() as session, session.begin():
        ids = await store.take_due(session, limit, lease)
    for file_id in ids:
        async with sessions() as session, session.begin():
            row = await store.lock_received(session, file_id)
            if row is not None:
                await process(session, row, partners)
    return len(ids)


async def upload(
    session: AsyncSession,
    *,
    partners: Mapping[str, TradingPartner],
    partner_id: str | None,
    file_name: str | None,
    content: bytes,
    actor: str,
) -> dict[str, Any]:
    """A file uploaded by hand: kept like a polled one, then processed at once in the same
    transaction (so the answer tells what it came to). The same name and content again is the
    file already kept (`new: false`), processed once."""
    kept = await keep(
        session,
        partner_id=partner_id,
        source="upload",
        remote_name=file_name or f"upload-{digest(content)[:16]}",
        content=content,
        actor=actor,
    )
    if kept.new and kept.state == "received":
        row = await store.lock_received(session, kept.file_id)
        if row is not None:
            await process(session, row, partners)
    view = await file_view(session, kept.file_id)
    assert view is not None
    return {**view, "new": kept.new}


async def file_view(session: AsyncSession, file_id: uuid.UUID) -> dict[str, Any] | None:
    """A received file without its content: what it is, where it stands, its errors and
    counts, and its review items."""
    row = await store.file_by_id(session, file_id)
    if row is None:
        return None
    view = {k: v for k, v in row._mapping.items() if k != "content"}
    view["size"] = len(row.content)
    view["reviews"] = [dict(r._mapping) for r in await store.reviews_of(session, file_id)]
    return view


async def raw(session: AsyncSession, file_id: uuid.UUID) -> str | None:
    row = await store.file_by_id(session, file_id)
    return None if row is None else row.content


async def resolve_review(
    session: AsyncSession,
    review_id: uuid.UUID,
    *,
    resolution: str,
    actor: str,
    note: str | None,
    partners: Mapping[str, TradingPartner],
) -> dict[str, Any] | str | None:
    """Reprocess (the file is taken again, now: after a fix such as the submission file it
    answers being on record) or dismiss a review item. None: no such item; `resolved`: it was
    resolved already. Else the file as it stands now."""
    item = await store.review_item(session, review_id)
    if item is None:
        return None
    if item.resolution is not None:
        return "resolved"
    await store.resolve(
        session, review_id, resolution=resolution, resolved_by=actor, resolved_at=datetime.now(UTC), note=note
    )
    if resolution == "reprocessed":
        await store.finish(session, item.file_id, state="received", retry_at=None)
        row = await store.lock_received(session, item.file_id)
        if row is not None:
            await process(session, row, partners)
    return await file_view(session, item.file_id)


async def list_files(
    session: AsyncSession, page: PageQuery, dates: DateRange, state: str | None, kind: str | None
) -> tuple[Sequence[Any], str | None]:
    return await store.list_files(session, page, dates, state, kind)


async def list_review(
    session: AsyncSession, page: PageQuery, resolved: bool, reason: str | None
) -> tuple[Sequence[Any], str | None]:
    return await store.list_review(session, page, resolved, reason)
