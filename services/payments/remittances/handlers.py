"""Events payments consumes: submitted claims (its own copy, and the charges) and partner
remittances (the same posting path as an upload)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from pydantic import TypeAdapter
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments import ledger
from services.payments.ledger import Entry
from services.payments.remittances.posting import ClaimCopy, Incoming, match_unmatched, receive_many
from shared.consumer import PermanentError, in_context
from shared.events import Event
from shared.events.catalogue import ClaimLineSummary, ClaimSubmitted, RemittanceReceived
from shared.x12 import X12Error

log = logging.getLogger(__name__)


# One round trip per event (a new consumer group replays the whole topic): keep the copy,
# add its charges only if the copy is new, and say which parked remittance claims wait for it.
_CLAIM_SUBMITTED = text(
    "WITH ins AS (INSERT INTO claim_copies (claim_id, patient_control_number, patient_id, account_id, "
    "payer_id, coverage_order, frequency_code, total_charge, date_of_service, lines, submitted_at) "
    "VALUES (:id, :pcn, :patient, :account, :payer, :order, :freq, :total, :dos, CAST(:lines AS jsonb), :at) "
    "ON CONFLICT (claim_id) DO NOTHING RETURNING claim_id), "
    "charges AS (INSERT INTO ledger_entries (account_id, entry_type, amount, bucket, description, item_id, "
    "claim_id, service_date, occurred_at) SELECT :account, 'charge', e.amount, 'insurance', e.description, "
    ":id, :id, e.sdate, :now FROM unnest(CAST(:amounts AS numeric[]), CAST(:descriptions AS text[]), "
    "CAST(:sdates AS date[])) AS e(amount, description, sdate) WHERE EXISTS (SELECT 1 FROM ins)) "
    "SELECT EXISTS (SELECT 1 FROM ins) AS inserted, ARRAY(SELECT u.id FROM unmatched_claims u "
    "JOIN remittances r ON r.id = u.remittance_id WHERE u.patient_control_number = :pcn "
    "AND r.payer_id = :payer AND u.resolved_at IS NULL AND u.status_code <> '22' "
    "ORDER BY u.created_at) AS waiting"
)


def _charges(claim: ClaimSubmitted) -> list[tuple[Decimal, str, date | None]]:
    """A primary original or corrected claim's charges: per line when the lines add up to
    the total, else the total (what the payer sees as CLP03)."""
    if claim.coverage_order != "primary" or claim.frequency_code not in ("1", "7"):
        return []
    if claim.lines and sum(line.charge for line in claim.lines) == claim.total_charge:
        return [(line.charge, f"Charge {line.code}", line.date_of_service) for line in claim.lines]
    return [(claim.total_charge, "Claim charges", claim.date_of_service)]


async def on_claim_submitted(session: AsyncSession, event: Event) -> None:
    """Keep the claim (PCN → claim, account, payer, charges); a primary claim puts its
    charges on the patient's account, with insurance. Parked remittance claims with this
    PCN (the 835 arrived first) are posted now."""
    claim = event.data
    assert isinstance(claim, ClaimSubmitted)
    account_id = claim.account_id or claim.patient_id
    charges = _charges(claim)
    row = (
        await session.execute(
            _CLAIM_SUBMITTED,
            {
                "id": claim.claim_id,
                "pcn": claim.patient_control_number,
                "patient": claim.patient_id,
                "account": account_id,
                "payer": claim.payer_id,
                "order": claim.coverage_order,
                "freq": claim.frequency_code,
                "total": claim.total_charge,
                "dos": claim.date_of_service,
                "lines": json.dumps([line.model_dump(mode="json") for line in claim.lines]),
                "at": claim.submitted_at,
                "now": datetime.now(UTC),
                "amounts": [c[0] for c in charges],
                "descriptions": [c[1] for c in charges],
                "sdates": [c[2] for c in charges],
            },
        )
    ).one()
    if not row.inserted:
        return
    if claim.frequency_code in ("7", "8"):
        await retire_original(session, claim)
    copy = ClaimCopy(
        claim.claim_id,
        claim.patient_control_number,
        account_id,
        claim.payer_id,
        claim.coverage_order,
        claim.total_charge,
        claim.date_of_service,
    )
    for unmatched_id in row.waiting:
        await match_unmatched(session, unmatched_id, copy, actor="system:late-match", matched_by="late")


# A poll's claims in one round trip: the copies, and the charges of those that are new. When
# a parked remittance claim waits for one of them (`guard`), nothing is written and the
# positions (1-based) of the claims that have one come back, so those can be handled one by
# one, in order, like `on_claim_submitted`.
_CLAIMS_SUBMITTED = text(
    "WITH c AS (SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:pcns AS text[]), CAST(:patients AS text[]), "
    "CAST(:accounts AS text[]), CAST(:payers AS text[]), CAST(:orders AS text[]), CAST(:freqs AS text[]), "
    "CAST(:totals AS numeric[]), CAST(:dos AS date[]), CAST(:lines AS jsonb[]), CAST(:ats AS timestamptz[])) "
    "WITH ORDINALITY AS c(claim_id, pcn, patient_id, account_id, payer_id, coverage_order, frequency_code, "
    "total_charge, date_of_service, lines, submitted_at, n)), "
    "waiting AS (SELECT c.n FROM c WHERE EXISTS (SELECT 1 FROM unmatched_claims u "
    "JOIN remittances r ON r.id = u.remittance_id WHERE u.patient_control_number = c.pcn "
    "AND r.payer_id = c.payer_id AND u.resolved_at IS NULL AND u.status_code <> '22')), "
    "ins AS (INSERT INTO claim_copies (claim_id, patient_control_number, patient_id, account_id, payer_id, "
    "coverage_order, frequency_code, total_charge, date_of_service, lines, submitted_at) "
    "SELECT claim_id, pcn, patient_id, account_id, payer_id, coverage_order, frequency_code, total_charge, "
    "date_of_service, lines, submitted_at FROM c WHERE NOT (:guard AND EXISTS (SELECT 1 FROM waiting)) "
    "ORDER BY n ON CONFLICT (claim_id) DO NOTHING RETURNING claim_id), "
    "charges AS (INSERT INTO ledger_entries (account_id, entry_type, amount, bucket, description, item_id, "
    "claim_id, service_date, occurred_at) SELECT e.account_id, 'charge', e.amount, 'insurance', "
    "e.description, e.claim_id, e.claim_id, e.sdate, :now FROM unnest(CAST(:c_claims AS uuid[]), "
    "CAST(:c_accounts AS text[]), "
    "CAST(:amounts AS numeric[]), CAST(:descriptions AS text[]), CAST(:sdates AS date[])) WITH ORDINALITY "
    "AS e(claim_id, account_id, amount, description, sdate, n) "
    "WHERE e.claim_id IN (SELECT claim_id FROM ins) ORDER BY e.n) "
    "SELECT ARRAY(SELECT n FROM waiting ORDER BY n) AS waiting"
)
_LINES = TypeAdapter(list[ClaimLineSummary])


async def on_claims_submitted(session: AsyncSession, events: Sequence[Event]) -> None:
    """`on_claim_submitted` for a poll's claims, with one statement for all of them in the
    usual case. A claim id seen earlier in the poll is a no-op (its copy exists by then,
    as it would one event later). Corrected and voided claims, and claims a parked
    remittance claim waits for, take the per-event path in their place in the order, after
    the claims before them are written."""
    seen: set[object] = set()
    by_claim: dict[object, Event] = {}
    run: list[ClaimSubmitted] = []
    for event in in_context(events):
        claim = event.data
        assert isinstance(claim, ClaimSubmitted)
        if claim.claim_id in seen:
            continue
        seen.add(claim.claim_id)
        by_claim[claim.claim_id] = event
        if claim.frequency_code in ("7", "8"):
            await _submitted_run(session, run, by_claim)
            run = []
            await on_claim_submitted(session, event)
        else:
            run.append(claim)
    await _submitted_run(session, run, by_claim)


async def _submitted_run(
    session: AsyncSession, claims: list[ClaimSubmitted], by_claim: dict[object, Event]
) -> None:
    if not claims:
        return
    waiting = await _insert_claims(session, claims, guard=True)
    if not waiting:
        return
    # Rare: the 835 came first. Write the claims in order, each waited-for one on its own
    # (posting what waits for it, with its own event's correlation id).
    run: list[ClaimSubmitted] = []
    for n, claim in enumerate(claims, start=1):
        if n not in waiting:
            run.append(claim)
            continue
        if run:
            await _insert_claims(session, run, guard=False)
            run = []
        for event in in_context([by_claim[claim.claim_id]]):
            await on_claim_submitted(session, event)
    if run:
        await _insert_claims(session, run, guard=False)


async def _insert_claims(session: AsyncSession, claims: list[ClaimSubmitted], *, guard: bool) -> set[int]:
    charges = [(claim, c) for claim in claims for c in _charges(claim)]
    row = (
        await session.execute(
            _CLAIMS_SUBMITTED,
            {
                "ids": [c.claim_id for c in claims],
                "pcns": [c.patient_control_number for c in claims],
                "patients": [c.patient_id for c in claims],
                "accounts": [c.account_id or c.patient_id for c in claims],
                "payers": [c.payer_id for c in claims],
                "orders": [c.coverage_order for c in claims],
                "freqs": [c.frequency_code for c in claims],
                "totals": [c.total_charge for c in claims],
                "dos": [c.date_of_service for c in claims],
                "lines": [_LINES.dump_json(c.lines).decode() for c in claims],
                "ats": [c.submitted_at for c in claims],
                "guard": guard,
                "now": datetime.now(UTC),
                "c_claims": [claim.claim_id for claim, _ in charges],
                "c_accounts": [claim.account_id or claim.patient_id for claim, _ in charges],
                "amounts": [c[0] for _, c in charges],
                "descriptions": [c[1] for _, c in charges],
                "sdates": [c[2] for _, c in charges],
            },
        )
    ).one()
    return set(row.waiting) if guard else set()


async def retire_original(session: AsyncSession, claim: ClaimSubmitted) -> None:
    """A corrected (7) or voided (8) claim takes the original's charges off the account, as
    one adjustment on the original item. The payer's reversal of the original then brings
    that item back to zero, and a corrected claim carries its own charges."""
    original = None
    if claim.original_payer_claim_control_number:
        original = (
            await session.execute(
                text(
                    "SELECT claim_id, account_id FROM claim_postings WHERE payer_claim_control_number = :x "
                    "ORDER BY posted_at DESC LIMIT 1"
                ),
                {"x": claim.original_payer_claim_control_number},
            )
        ).first()
    if original is None:
        original = (
            await session.execute(
                text(
                    "SELECT claim_id, account_id FROM claim_copies WHERE patient_control_number = :pcn "
                    "AND claim_id <> :new AND submitted_at <= :at ORDER BY submitted_at DESC LIMIT 1"
                ),
                {"pcn": claim.patient_control_number, "new": claim.claim_id, "at": claim.submitted_at},
            )
        ).first()
    if original is None:
        log.warning("corrected or void claim without an original on file; nothing retired")
        return
    row = (
        await session.execute(
            text(
                "SELECT coalesce(sum(amount) FILTER (WHERE entry_type = 'charge'), 0) AS charges, "
                "count(*) FILTER (WHERE reason_code = 'RETIRED') AS retired, min(service_date) AS dos "
                "FROM ledger_entries WHERE item_id = :item"
            ),
            {"item": original.claim_id},
        )
    ).one()
    if row.retired or not row.charges:
        return
    what = "replaced by a corrected claim" if claim.frequency_code == "7" else "voided"
    await ledger.append(
        session,
        [
            Entry(
                account_id=original.account_id,
                entry_type="adjustment",
                amount=-row.charges,
                bucket="insurance",
                item_id=original.claim_id,
                claim_id=original.claim_id,
                reason_code="RETIRED",
                service_date=row.dos,
                description=f"Claim {what}",
            )
        ],
    )


async def on_remittance_received(session: AsyncSession, event: Event) -> None:
    """A partner's 835: posted exactly like an upload; a file that cannot be posted goes to
    the dead-letter topic with the located reason (no data)."""
    await on_remittances_received(session, [event])


async def on_remittances_received(session: AsyncSession, events: Sequence[Event]) -> None:
    """A poll's 835s, posted together with a few statements for all (`receive_many`), each
    as if it came alone. One that cannot be posted fails the batch before anything is
    written; the consumer then replays the poll event by event, so the good ones post and
    that one goes to the dead-letter topic with the located reason (no data). No savepoint:
    a failure rolls back the consumer's whole transaction anyway."""
    files = []
    for event in events:
        remittance = event.data
        assert isinstance(remittance, RemittanceReceived)
        files.append(
            Incoming(
                remittance.x12_835,
                source="kafka",
                actor=f"event:{event.source}"[:200],
                payer_id=remittance.payer_id,
                event=event,
            )
        )
    try:
        await receive_many(session, files)
    except X12Error as exc:
        raise PermanentError(f"invalid 835: {exc}") from None
