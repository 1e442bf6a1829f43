"""HTTP for dead letters, mounted by every service that consumes events (shared.app): its own
consumer group's dead letters on the dead-letter topics of the topics it consumes.

`ops:read` lists and shows (PHI in payloads redacted unless the caller also has `ops:phi`);
`ops:replay` replays and discards. Every call is audited (resource type `dead_letter`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from shared.audit import AuditTrail, audited
from shared.auth import Principal, require_scopes
from shared.deadletters import domain, usecases
from shared.deadletters.schemas import (
    DeadLetter,
    DeadLetterDetail,
    DeadLetterPage,
    Discard,
    Reason,
    ReplayMatching,
    ReplayResult,
    Status,
)
from shared.deadletters.store import Filters
from shared.paging import DateRange, Dates, PageQuery, page_query
from shared.problems import Problem, ProblemError, invalid
from shared.retry import transient

PHI_SCOPE = "ops:phi"

router = APIRouter(prefix="/v1/ops/dead-letters", tags=["dead letters"])
ListLetters = Annotated[AuditTrail, audited("dead_letter", "list", require_scopes("ops:read"))]
ReadLetter = Annotated[AuditTrail, audited("dead_letter", "read", require_scopes("ops:read"))]
ReplayLetters = Annotated[AuditTrail, audited("dead_letter", "replay", require_scopes("ops:replay"))]
DiscardLetter = Annotated[AuditTrail, audited("dead_letter", "discard", require_scopes("ops:replay"))]
LetterPage = Annotated[PageQuery, Depends(page_query(50, 500))]
ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": Problem, "description": "No such dead letter of this service."},
    409: {"model": Problem, "description": "Its state does not allow that (a discarded letter)."},
    410: {"model": Problem, "description": "Kafka no longer holds the record (past the topic's retention)."},
    503: {"model": Problem, "description": "Kafka could not be read or written just now; try again."},
}


def queue_of(request: Request) -> usecases.Queue:
    """This service's dead letters (the app knows its group and topics; see shared.app)."""
    return usecases.queue_for(request.app)


QueueDep = Annotated[usecases.Queue, Depends(queue_of)]


@contextlib.contextmanager
def _problems() -> Iterator[None]:
    """The use cases' refusals as problem documents."""
    try:
        yield
    except usecases.NotFound:
        raise ProblemError(404, "not-found", "Dead letter not found") from None
    except usecases.NotAllowed as exc:
        raise ProblemError(
            409, "dead-letter-state", "Not allowed now", f"The dead letter is {exc}."
        ) from None
    except usecases.Gone:
        detail = "Kafka no longer holds this record (it outlived the dead-letter topic's retention)."
        raise ProblemError(410, "dead-letter-gone", "Record gone", detail) from None
    except Exception as exc:
        if transient(exc):
            detail = f"{transient(exc)}; try again."
            raise ProblemError(
                503, "dependency-unavailable", "Try again later", detail, retryable=True
            ) from None
        raise


def _filters(
    queue: usecases.Queue,
    topic: str | None,
    reason: str | None,
    status: str | None,
    event_id: str | None,
    age: str | None,
    dates: DateRange | None = None,
) -> Filters:
    if topic is not None and topic not in queue.topics:
        raise invalid(("query.topic", "not_consumed", f"This service consumes: {', '.join(queue.topics)}."))
    try:
        older = domain.parse_age(age) if age is not None else None
    except ValueError as exc:
        raise invalid(("query.older_than", "age", str(exc))) from None
    return Filters(
        topic=topic, reason=reason, status=status, event_id=event_id, older_than=older, dates=dates
    )


@router.get("", response_model=DeadLetterPage, summary="This service's dead letters, newest first")
async def list_dead_letters(
    queue: QueueDep,
    trail: ListLetters,
    page: LetterPage,
    dates: Dates,
    topic: Annotated[str | None, Query(max_length=100, description="The original topic.")] = None,
    reason: Reason | None = None,
    status: Annotated[Status | Literal["any"], Query(description="`any` lists every state.")] = "parked",
    older_than: Annotated[str | None, Query(max_length=20, description="An age: 90s, 15m, 2h, 3d.")] = None,
    event_id: Annotated[str | None, Query(max_length=100)] = None,
) -> DeadLetterPage:
    filters = _filters(queue, topic, reason, None if status == "any" else status, event_id, older_than, dates)
    trail.resource_id = topic
    rows, cursor, current = await usecases.listing(queue, filters, page)
    return DeadLetterPage(items=[DeadLetter.of(r) for r in rows], next_cursor=cursor, index_current=current)


@router.get(
    "/{letter_id}",
    response_model=DeadLetterDetail,
    summary="One dead letter with its headers and payload (PHI redacted without `ops:phi`)",
    responses=ERRORS,
)
async def get_dead_letter(
    letter_id: uuid.UUID, request: Request, queue: QueueDep, trail: ReadLetter
) -> DeadLetterDetail:
    trail.resource_id = str(letter_id)
    with _problems():
        row, record = await usecases.show(queue, letter_id)
    trail.patient_id = domain.patient_of(record.value)
    principal: Principal = request.state.principal
    phi = PHI_SCOPE in principal.scopes
    if phi:
        trail.action = "read-phi"
    return DeadLetterDetail(
        **DeadLetter.of(row).model_dump(),
        headers={k: v.decode(errors="replace") for k, v in record.headers or ()},
        payload=domain.readable(record.value) if phi else domain.redact(row["event_type"], record.value),
        payload_redacted=not phi,
    )


@router.post(
    "/replay",
    response_model=ReplayResult,
    summary="Replay every parked dead letter that matches, oldest first (needs `ops:replay`)",
    responses=ERRORS,
)
async def replay_matching(queue: QueueDep, trail: ReplayLetters, body: ReplayMatching) -> ReplayResult:
    filters = _filters(queue, body.topic, body.reason, "parked", body.event_id, body.older_than)
    trail.resource_id = f"matching topic={body.topic or '*'} reason={body.reason or '*'}"[:128]
    with _problems():
        done = await usecases.replay_matching(queue, filters, trail.actor, limit=body.limit)
    return ReplayResult(replayed=len(done.ids), ids=done.ids, missing=done.missing)


@router.post(
    "/{letter_id}/replay",
    response_model=DeadLetter,
    summary="Replay one dead letter into its original topic with its original key (needs `ops:replay`)",
    responses=ERRORS,
)
async def replay_one(letter_id: uuid.UUID, queue: QueueDep, trail: ReplayLetters) -> DeadLetter:
    trail.resource_id = str(letter_id)
    with _problems():
        return DeadLetter.of(await usecases.replay(queue, letter_id, trail.actor))


@router.post(
    "/{letter_id}/discard",
    response_model=DeadLetter,
    summary="Give up on a parked dead letter, saying why (needs `ops:replay`)",
    responses=ERRORS,
)
async def discard_one(
    letter_id: uuid.UUID, queue: QueueDep, trail: DiscardLetter, body: Discard
) -> DeadLetter:
    trail.resource_id = str(letter_id)
    with _problems():
        return DeadLetter.of(await usecases.discard(queue, letter_id, trail.actor, body.reason))
