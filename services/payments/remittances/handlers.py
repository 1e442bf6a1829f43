"""Events payments consumes: submitted claims (its own copy, and the charges) and partner
remittances (the same posting path as an upload)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments import ledger
from services.payments.ledger import Entry
from services.payments.remittances.posting import ClaimCopy, match_unmatched, receive
from shared.consumer import PermanentError
from shared.events import Event
from shared.events.catalogue import ClaimSubmitted, RemittanceReceived
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
    remittance = event.data
    assert isinstance(remittance, RemittanceReceived)
    try:
        async with session.begin_nested():
            await receive(
                session,
                remittance.x12_835,
                source="kafka",
                actor=f"event:{event.source}"[:200],
                payer_id=remittance.payer_id,
                now=datetime.now(UTC),
            )
    except X12Error as exc:
        raise PermanentError(f"invalid 835: {exc}") from None
