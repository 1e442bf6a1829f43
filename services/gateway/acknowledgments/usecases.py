"""Acting on a TA1, a 999 or a 277CA: find what it answers, record the answer on our
submission files and claims, and publish what the claims service consumes, all in the
caller's transaction (the inbound processing commits the file's state with them).

- TA1 R: every claim of the interchange is rejected (`TA1:<note>`); any TA1 gives a
  `submission_file.acknowledged`.
- 999: a set rejected in IK5 (R, M, W, X) rejects exactly that set's claims, with reasons
  naming segment, position, loop and element (`999:IK304-8`, `999:IK403-1`); a group rejected
  in AK9 with no set named rejects every claim of the group; A/E are on the
  `submission_file.acknowledged` the claims service records in each claim's history.
- 277CA: each claim (2200D TRN02 = our CLM01) is acknowledged (A0/A1/A2/A5) or rejected
  (A3/A4/A6/A7/A8, one reason per STC composite), matched to the latest filing of its PCN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.acknowledgments import domain, store
from services.gateway.acknowledgments.x12 import GroupAnswer, read_277ca, read_999, read_ta1
from services.gateway.inbound.domain import UNMATCHED, Outcome, Received
from shared.events import new_event
from shared.events.clearinghouse import (
    AckError,
    ClaimAcknowledged,
    ClaimRejected,
    RejectionReason,
    SetAck,
    SubmissionFileAcknowledged,
)
from shared.outbox import add_events
from shared.x12 import Interchange

SET_CODES = frozenset({"A", "E", "M", "R", "W", "X"})


def _rejections(claims: Sequence[Any], reasons: list[RejectionReason], received: Received) -> list[Any]:
    return [
        new_event(
            ClaimRejected(
                claim_id=c.claim_id,
                patient_control_number=c.patient_control_number,
                reasons=reasons,
                rejected_at=received.received_at,
                payer_id=c.payer_id,
            )
        )
        for c in claims
    ]


def _file_acknowledged(sent: Any, received: Received, *, description: str, **answer: Any) -> Any:
    """The `submission_file.acknowledged` event of one TA1 or one 999 group: the submission
    file it answers (`sent`), when, and the answer's own fields (`kind`, `code`, ...); the
    description is cut to what the event allows."""
    return new_event(
        SubmissionFileAcknowledged(
            file_id=sent.id,
            partner_id=sent.partner_id,
            file_name=sent.file_name,
            interchange_control_number=sent.interchange_control_number,
            group_control_number=sent.group_control_number,
            description=description[:300],
            received_at=received.received_at,
            **answer,
        )
    )


def _unmatched(outcome: Outcome, segment: str, position: int, message: str) -> None:
    outcome.warnings.append(
        {
            "severity": "warning",
            "rule": "unmatched",
            "message": message,
            "segment": segment,
            "position": position,
        }
    )


async def _sent(session: AsyncSession, received: Received, column: str, numbers: list[str]) -> dict[str, Any]:
    """The submission file each ISA13 or GS06 an acknowledgment names answers, looked up for
    the whole acknowledgment at once; a number naming none of our files, or several, is absent."""
    files = await store.files_by_numbers(session, received.partner_id, column, numbers)
    return {n: found[0] for n, found in files.items() if len(found) == 1}


async def on_ta1(session: AsyncSession, received: Received, interchange: Interchange) -> Outcome:
    """A TA1 answers one of our interchanges (TA101 = its ISA13)."""
    outcome, events, rejected = Outcome(), [], 0
    answers = read_ta1(interchange)
    sent_of = await _sent(
        session, received, "interchange_control_number", [t.control_number for t in answers]
    )
    claims_of = await store.claims_of_files(
        session,
        [sent_of[t.control_number].id for t in answers if t.code == "R" and t.control_number in sent_of],
    )
    for ta1 in answers:
        sent = sent_of.get(ta1.control_number)
        if sent is None:
            _unmatched(outcome, "TA1", ta1.position, "TA101 names no interchange we sent (or several)")
            continue
        note = domain.describe("TA105", ta1.note_code)
        if ta1.code == "R":
            claims = claims_of[sent.id]
            error = AckError(source="TA1", error_code=(ta1.note_code or "000")[:3], description=note[:300])
            events += _rejections(claims, [domain.ack_reason(error, "TA1")], received)
            await store.mark_claims(session, [c.event_id for c in claims], ack_state="rejected", source="TA1")
            rejected += len(claims)
        state = "rejected" if ta1.code == "R" else "acknowledged"
        await store.mark_file(
            session, sent.id, received.received_at, ta1_code=ta1.code, ta1_note=ta1.note_code, state=state
        )
        code = ta1.code if ta1.code in ("A", "E", "R") else "E"
        events.append(
            _file_acknowledged(
                sent,
                received,
                kind="TA1",
                code=code,
                note_code=(ta1.note_code or None) and ta1.note_code[:3],
                description=f"{domain.describe('TA104', code)} {ta1.note_code}: {note}",
            )
        )
    matched = len(answers) - len(outcome.warnings)
    if answers and not matched:
        return Outcome.to_review(UNMATCHED, "the TA1 answers no interchange we sent", segment="TA1")
    await add_events(session, events)
    outcome.counts = {"acknowledgments": len(answers), "matched": matched, "claims_rejected": rejected}
    return outcome


async def on_999(session: AsyncSession, received: Received, interchange: Interchange) -> Outcome:
    """A 999 answers one of our functional groups (AK102 = its GS06), set by set (AK202)."""
    outcome, events, counts = Outcome(), [], {"groups": 0, "matched": 0, "sets": 0, "claims_rejected": 0}
    rejected: list[Any] = []  # event ids of the claims rejected, marked with one statement
    groups = read_999(interchange)
    files = await store.files_by_groups(
        session, received.partner_id, [g.group_control_number for g in groups]
    )
    sent_of = {n: found[0] for n, found in files.items() if len(found) == 1}
    claims_of = await store.claims_of_files(session, [sent.id for sent in sent_of.values()])
    for group in groups:
        counts["groups"] += 1
        sent = sent_of.get(group.group_control_number)
        if sent is None:
            _unmatched(outcome, "AK1", group.position, "AK102 names no functional group we sent (or several)")
            continue
        counts["matched"] += 1
        claims = [c for c in claims_of[sent.id] if store.in_group(c, group.group_control_number)]
        events += await _group(session, received, group, sent, claims, outcome, counts, rejected)
    if counts["groups"] and not counts["matched"]:
        return Outcome.to_review(UNMATCHED, "the 999 answers no functional group we sent", segment="AK1")
    await store.mark_claims(session, rejected, ack_state="rejected", source="999")
    await add_events(session, events)
    outcome.counts = counts
    return outcome


async def _group(
    session: AsyncSession,
    received: Received,
    group: GroupAnswer,
    sent: Any,
    claims: Sequence[Any],
    outcome: Outcome,
    counts: dict[str, int],
    rejected: list[Any],
) -> list[Any]:
    """One AK1 group's answer (`sent`: the file it answers, `claims`: the file's claims): each
    set's claims, the file's ack code, the file event; the event ids of the claims it rejects
    go to `rejected` (marked once for the whole 999)."""
    by_set: dict[str, list[Any]] = {}
    for claim in claims:
        by_set.setdefault((claim.set_control_number or "").lstrip("0"), []).append(claim)
    events, acks = [], []
    for answer in group.sets:
        counts["sets"] += 1
        rows = by_set.get(answer.control_number.lstrip("0"), [])
        if not rows and answer.patient_control_numbers:  # CTX*CLM01: a fallback match
            rows = [c for c in claims if c.patient_control_number in answer.patient_control_numbers]
        if not rows:
            _unmatched(outcome, "AK2", group.position, "AK202 names no transaction set of the file")
        code = answer.code if answer.code in SET_CODES else "R"
        acks.append(
            SetAck(
                control_number=answer.control_number[:9],
                code=code,  # type: ignore[arg-type]
                claim_ids=[c.claim_id for c in rows],
                errors=answer.errors,
            )
        )
        if code in domain.SET_REJECTED:
            events += _reject(rows, domain.set_reasons(answer.errors, code), received, counts, rejected)
    group_code = group.code or ("R" if acks and all(a.code in domain.SET_REJECTED for a in acks) else "E")
    if group_code in domain.SET_REJECTED and not group.sets:  # the group rejected, no set named
        events += _reject(
            claims, domain.group_reasons(group.group_codes, group_code), received, counts, rejected
        )
    state = "rejected" if group_code in domain.SET_REJECTED else "acknowledged"
    await store.mark_file(session, sent.id, received.received_at, ack_code=group_code[:1], state=state)
    events.append(
        _file_acknowledged(
            sent,
            received,
            kind="999",
            code=group_code[:1],
            description=domain.describe("AK901", group_code),
            sets_included=group.included,
            sets_received=group.received,
            sets_accepted=group.accepted,
            sets=acks,
        )
    )
    return events


def _reject(
    rows: Sequence[Any],
    reasons: list[RejectionReason],
    received: Received,
    counts: dict[str, int],
    rejected: list[Any],
) -> list[Any]:
    """Claims a 999 rejected: their `claim.rejected` events, their ids to mark."""
    rejected += [c.event_id for c in rows]
    counts["claims_rejected"] += len(rows)
    return _rejections(rows, reasons, received)


async def on_277ca(session: AsyncSession, received: Received, interchange: Interchange) -> Outcome:
    """A 277CA: each claim acknowledged or rejected; the file goes to review only when none of
    its claims is ours (a claim we never filed is a warning on the file)."""
    answer = read_277ca(interchange)
    outcome = Outcome(warnings=[{"severity": "warning", **w} for w in answer.warnings])
    events: list[Any] = []
    counts = {"claims": len(answer.claims), "matched": 0, "accepted": 0, "rejected": 0}
    latest, answers = await _candidates(session, received, answer.claims)
    for claim in answer.claims:
        row = latest.get(claim.patient_control_number)
        if row is None and claim.payer_claim_control_number:
            row = answers.by_payer_number(claim.payer_claim_control_number)
        if row is None:
            _unmatched(outcome, "TRN", claim.position, "loop 2200D TRN02 names no claim we filed")
            continue
        counts["matched"] += 1
        result = domain.claim_outcome(claim.statuses)
        if result == "rejected":
            reasons = [domain.stc_reason(s) for s in claim.statuses if s.category_code in domain.REJECTED]
            events += _rejections([row], reasons, received)
        elif result == "accepted":
            events.append(
                new_event(_acknowledged(row, claim.payer_claim_control_number, claim.statuses, received))
            )
        else:
            outcome.warnings.append(
                {
                    "severity": "warning",
                    "rule": "277CA_category",
                    "message": "loop 2200D STC category neither accepts nor rejects the claim",
                    "segment": "TRN",
                    "position": claim.position,
                }
            )
            continue
        counts[result] += 1
        answers.answer(row, result, claim.payer_claim_control_number)
    await store.mark_answers(session, answers.marks())
    if not counts["matched"]:
        return Outcome.to_review(
            UNMATCHED,
            "no claim of the 277CA (loop 2200D) is one we filed",
            segment="TRN",
            claims=len(answer.claims),
        )
    await add_events(session, events)
    outcome.counts = counts
    return outcome


async def _candidates(
    session: AsyncSession, received: Received, claims: Sequence[Any]
) -> tuple[dict[str, Any], domain.ClaimAnswers]:
    """Every claim the 277CA may answer, read at once (two statements for the whole file, not
    two per claim): the latest filing of each PCN, and for a PCN we never filed, the claims
    holding its REF*1K payer number."""
    pcns = {c.patient_control_number for c in claims}
    latest = await store.latest_claims(session, pcns, received.partner_id) if pcns else {}
    pccns = {
        c.payer_claim_control_number
        for c in claims
        if c.patient_control_number not in latest and c.payer_claim_control_number
    }
    fallback = await store.claims_by_payer_numbers(session, pccns) if pccns else []
    return latest, domain.ClaimAnswers([*latest.values(), *fallback], source="277CA")


def _acknowledged(row: Any, pccn: str | None, statuses: list[Any], received: Received) -> ClaimAcknowledged:
    return ClaimAcknowledged(
        claim_id=row.claim_id,
        patient_control_number=row.patient_control_number,
        payer_claim_control_number=pccn,
        acknowledged_at=received.received_at,
        payer_id=row.payer_id,
        source="277CA",
        file_id=received.id,
        statuses=statuses,
    )
