"""Following up claims the payer has not answered: `claim.followup_due` once per submission (a
resubmission starts the clock again, and so does a pended or finalized status answer), the
list a person works from, and the answers themselves (277 X212 status, 999 and TA1 file
acknowledgments): each kept in `status_answers` with a history entry, moving the claim's
status only as `domain.status_after_answer` allows (money moves only with an 835)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.claims import domain as claims_domain, store as claims_store
from services.claims.claims.tables import Claim
from services.claims.followups import domain, store
from services.claims.followups.domain import overdue
from services.claims.followups.schemas import FollowupOut, StatusAnswerOut
from shared.events import Event, new_event
from shared.events.catalogue import (
    ClaimAcknowledged,
    ClaimFollowupDue,
    ClaimRejected,
    ClaimStatusReported,
    SubmissionFileAcknowledged,
)
from shared.outbox import add_events
from shared.paging import CursorPage, PageQuery, paginate


async def publish_due(session: AsyncSession, now: datetime, limit: int = 500) -> int:
    """One round: take overdue claims not announced yet (replicas never take the same one) and
    publish one claim.followup_due each; returns how many."""
    events = []
    for claim_id, payer_id, submitted_at, since in await store.take_due(session, now, limit):
        due_at, days = overdue(submitted_at, payer_id, now, since) or (now, 0)  # taken: overdue by SQL
        payload = ClaimFollowupDue(
            claim_id=claim_id,
            payer_id=payer_id,
            submitted_at=submitted_at,
            days_outstanding=days,
            due_at=due_at,
        )
        events.append(new_event(payload))
    await add_events(session, events)
    return len(events)


def followup_out(claim: Claim, now: datetime) -> FollowupOut:
    assert claim.submitted_at is not None
    due_at, days = overdue(claim.submitted_at, claim.payer_id, now, claim.followup_from) or (now, 0)
    return FollowupOut(
        claim_id=claim.id,
        patient_id=claim.patient_id,
        patient_control_number=claim.patient_control_number,
        payer_id=claim.payer_id,
        status=claim.status,
        total_charge=claim.total_charge,
        submitted_at=claim.submitted_at,
        due_at=due_at,
        days_outstanding=days,
        notified=claim.followup_published_at is not None,
    )


async def overdue_page(
    session: AsyncSession, page: PageQuery, now: datetime, payer_id: str | None
) -> CursorPage[FollowupOut]:
    """One page of the claims overdue at `now`, longest waiting first (submitted earliest)."""
    stmt = store.overdue_statement(now, payer_id)
    rows, cursor = await paginate(
        session,
        stmt,
        page,
        Claim.submitted_at,
        Claim.id,
        key=lambda c: (c.submitted_at, c.id),
        oldest_first=True,
    )
    return CursorPage[FollowupOut](items=[followup_out(c, now) for c in rows], next_cursor=cursor)


def _code(category: str, status: str | None, entity: str | None) -> str:
    return ":".join(c for c in (category, status, entity) if c)


async def record_status_reports(session: AsyncSession, events: Sequence[Event]) -> None:
    """A poll of `claim.status_reported`: one answer row per event about a claim of ours (an
    event delivered again adds nothing), a history entry each, and the status move the answer
    allows; a P/F answer restarts the follow-up window. Claims we do not know are ignored."""
    reports = [e.data for e in events]
    assert all(isinstance(r, ClaimStatusReported) for r in reports)
    found = await claims_store.find_claims(
        session,
        [(r.claim_id, r.patient_control_number) for r in reports],  # type: ignore[union-attr]
    )
    recorded = claims_domain.now()
    rows: list[dict[str, Any]] = []
    for event, report, claim in zip(events, reports, found, strict=True):
        assert isinstance(report, ClaimStatusReported)
        if claim is not None:
            rows.append(_report_row(event, report, claim, recorded))
    new = await store.insert_answers(session, rows)
    by_id = {c.id: c for c in found if c is not None}
    for event, report in zip(events, reports, strict=True):
        assert isinstance(report, ClaimStatusReported)
        row = next((r for r in rows if r["event_id"] == event.id), None)
        if row is None or (event.id, row["claim_id"]) not in new:
            continue
        _apply_report(by_id[row["claim_id"]], report, claims_domain.event_actor(event), session)


def _report_row(event: Event, report: ClaimStatusReported, claim: Claim, at: datetime) -> dict[str, Any]:
    first = report.statuses[0]
    description = "; ".join(
        f"{_code(s.category_code, s.status_code, s.entity_code)} {s.category_description}"
        + (f" / {s.status_description}" if s.status_description else "")
        for s in report.statuses
    )
    return {
        "id": uuid.uuid4(),
        "claim_id": claim.id,
        "event_id": event.id,
        "source": report.source,
        "category_code": first.category_code,
        "status_code": first.status_code,
        "entity_code": first.entity_code,
        "description": description[:1000],
        "effective_date": report.effective_date,
        "payer_claim_control_number": report.payer_claim_control_number,
        "total_charge": report.total_charge,
        "paid_amount": report.paid_amount,
        "codes": [s.model_dump(mode="json") for s in report.statuses],
        "received_at": report.received_at,
        "recorded_at": at,
    }


def _apply_report(claim: Claim, report: ClaimStatusReported, actor: str, session: AsyncSession) -> None:
    """One new answer on a claim: its history entry, and the move it allows."""
    first = report.statuses[0]
    codes = [_code(s.category_code, s.status_code, s.entity_code) for s in report.statuses]
    line = domain.answer_line(
        report.source, codes, report.effective_date, report.payer_claim_control_number, report.paid_amount
    )
    if report.payer_claim_control_number and not claim.payer_claim_control_number:
        claim.payer_claim_control_number = report.payer_claim_control_number
    if domain.asks_again(first.category_code) and claim.status in domain.WAITING:
        claim.followup_from = report.received_at
        claim.followup_published_at = None
    to_status = domain.status_after_answer(claim.status, first.category_code)
    if to_status is not None:
        row = claims_domain.transition(claim, to_status, actor, line)
    else:  # recorded, not moved: the history still shows the answer
        row = {
            "claim_id": claim.id,
            "from_status": claim.status,
            "to_status": claim.status,
            "actor": actor,
            "reason": line,
            "changed_at": claims_domain.now(),
        }
    claims_store.stage(session, claim, [row])


async def record_file_acks(session: AsyncSession, events: Sequence[Event]) -> None:
    """A poll of `submission_file.acknowledged`: each claim a 999 set names gets an answer row
    and a history entry ("999 A: file …, set 0001"). Rejections move claims through
    `claim.rejected`, which the gateway publishes for them; this only records."""
    rows: list[dict[str, Any]] = []
    recorded = claims_domain.now()
    for event in events:
        ack = event.data
        assert isinstance(ack, SubmissionFileAcknowledged)
        for item in ack.sets:
            errors = "; ".join(
                f"{e.segment_id or ''} {e.error_code} {e.description}".strip() for e in item.errors
            )
            description = f"{ack.kind} {item.code}: file {ack.file_name}, set {item.control_number}"
            description += f" ({errors})" if errors else ""
            rows.extend(
                {
                    "id": uuid.uuid4(),
                    "claim_id": claim_id,
                    "event_id": event.id,
                    "source": ack.kind,
                    "category_code": item.code,
                    "status_code": None,
                    "entity_code": None,
                    "description": description[:1000],
                    "effective_date": None,
                    "payer_claim_control_number": None,
                    "total_charge": None,
                    "paid_amount": None,
                    "codes": [e.model_dump(mode="json") for e in item.errors],
                    "received_at": ack.received_at,
                    "recorded_at": recorded,
                }
                for claim_id in item.claim_ids
            )
    known = set(await claims_store.match_ids(session, [(r["claim_id"], None) for r in rows]))
    new = await store.insert_answers(session, [r for r in rows if r["claim_id"] in known])
    history = [
        {
            "claim_id": r["claim_id"],
            "from_status": None,
            "to_status": None,
            "actor": claims_domain.event_actor(next(e for e in events if e.id == r["event_id"])),
            "reason": r["description"][:500],
            "changed_at": recorded,
        }
        for r in rows
        if (r["event_id"], r["claim_id"]) in new
    ]
    await _history_at_status(session, history)


async def _history_at_status(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """History rows that record an answer without a move: from and to the claim's status."""
    if not rows:
        return
    statuses = await store.statuses_of(session, [r["claim_id"] for r in rows])
    for r in rows:
        r["from_status"] = r["to_status"] = statuses.get(r["claim_id"], "submitted")
    await claims_store.insert_history(session, rows)


async def answers(session: AsyncSession, claim_id: uuid.UUID) -> list[StatusAnswerOut]:
    """A claim's status answers, oldest first, as GET /v1/claims/{id} shows them."""
    return [StatusAnswerOut.model_validate(r._mapping) for r in await store.answers_of(session, claim_id)]


async def record_277ca(session: AsyncSession, events: Sequence[Event], claim_ids: Sequence[Any]) -> None:
    """The 277CA's own STC composites, carried by `claim.acknowledged` (statuses) and
    `claim.rejected` (reasons with category codes), kept in the claims' status answers beside
    the status move the acknowledgment handlers make (their history says it already)."""
    recorded = claims_domain.now()
    rows: list[dict[str, Any]] = []
    for event, claim_id in zip(events, claim_ids, strict=True):
        codes = _277ca_codes(event.data)
        if claim_id is None or not codes:
            continue
        first = codes[0]
        rows.append(
            {
                "id": uuid.uuid4(),
                "claim_id": claim_id,
                "event_id": event.id,
                "source": "277CA",
                "category_code": first["category_code"],
                "status_code": first.get("status_code"),
                "entity_code": first.get("entity_code"),
                "description": "; ".join(c["text"] for c in codes)[:1000],
                "effective_date": None,
                "payer_claim_control_number": getattr(event.data, "payer_claim_control_number", None),
                "total_charge": None,
                "paid_amount": None,
                "codes": codes,
                "received_at": getattr(event.data, "acknowledged_at", None)
                or getattr(event.data, "rejected_at", None)
                or recorded,
                "recorded_at": recorded,
            }
        )
    await store.insert_answers(session, rows)


def _277ca_codes(data: Any) -> list[dict[str, Any]]:
    """The STC composites of an acknowledgment or rejection, with their descriptions."""
    if isinstance(data, ClaimAcknowledged):
        return [
            {
                "category_code": s.category_code,
                "status_code": s.status_code,
                "entity_code": s.entity_code,
                "text": f"{_code(s.category_code, s.status_code, s.entity_code)} {s.category_description}"
                + (f" / {s.status_description}" if s.status_description else ""),
            }
            for s in data.statuses
        ]
    if isinstance(data, ClaimRejected):
        return [
            {
                "category_code": r.category_code,
                "status_code": r.status_code,
                "entity_code": r.entity_code,
                "text": f"{r.code} {r.message}",
            }
            for r in data.reasons
            if r.category_code and r.source in (None, "277CA")
        ]
    return []
