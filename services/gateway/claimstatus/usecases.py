"""Claim status, one way each: an inquiry is made (a claim past its payer's window, or someone
asking), sent (a 276 POSTed to the partner in real time; its 277 kept as a received file and
processed in the same transaction), and answered by every 277 X212, whichever way it came
(real time, the mailbox, a hand upload): the inbound processing hands each to its reader,
`statusreports.on_277`. This module imports inbound; inbound never imports it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.claimstatus import domain, store
from services.gateway.claimstatus.x12 import GUIDE, read_837, write_276, write_276_body
from services.gateway.inbound import store as inbound_store, usecases as inbound
from services.gateway.outbound import usecases as outbound, x12 as outbound_x12
from services.gateway.partners import usecases as partner_config
from services.gateway.partners.domain import TradingPartner
from shared.db import Database
from shared.retry import CircuitBreaker, CircuitOpen
from shared.x12 import X12Error

log = logging.getLogger("gateway.claimstatus")


async def inquire(
    session: AsyncSession, claim_id: uuid.UUID, due_at: datetime, requested_by: str
) -> uuid.UUID | None:
    """An inquiry about the claim, once per (claim, due moment); None when it exists already."""
    inquiry_id = uuid.uuid4()
    row = await store.latest_claim(session, claim_id)
    return await store.add_inquiry(
        session,
        {
            "id": inquiry_id,
            "claim_id": claim_id,
            "due_at": due_at,
            "patient_control_number": row.patient_control_number if row else None,
            "payer_id": row.payer_id if row else None,
            "partner_id": row.partner_id if row else None,
            "trace_number": domain.trace_number(inquiry_id),
            "requested_by": requested_by,
            "created_at": datetime.now(UTC),
        },
    )


@dataclass(frozen=True)
class Prepared:
    """An inquiry ready to go: the partner's URL and timeout, and the 276 to POST."""

    inquiry_id: uuid.UUID
    partner_id: str
    url: str
    timeout: float
    x12_276: str


async def prepare(
    session: AsyncSession, inquiry: Any, partners: dict[str, TradingPartner], now: datetime
) -> Prepared | None:
    """Write the inquiry's 276 from the claim's stored 837 and record it; or record why it
    cannot be asked in real time (no 837 on file, no partner, partner not real-time): skipped."""
    claim = await store.latest_claim(session, inquiry.claim_id)
    partner = partners.get(claim.partner_id) if claim is not None and claim.partner_id else None
    reason = None
    if claim is None:
        reason = "no_837_on_file"
    elif partner is None:
        reason = "no_partner"
    elif partner.claim_status.mode == "batch":  # the next 276 file through the mailbox
        await store.set_inquiry(session, inquiry.id, mode="batch", partner_id=partner.id, next_at=None)
        return None
    elif partner.claim_status.mode != "realtime" or not partner.claim_status.url:
        reason = f"partner_mode_{partner.claim_status.mode}"
    if reason is not None or claim is None or partner is None:
        await store.set_inquiry(session, inquiry.id, state="skipped", reason=reason, next_at=None)
        return None
    try:
        text = write_276(
            claim.x12_837,
            sender_id=partner.isa_sender_id,
            receiver_id=partner.isa_receiver_id,
            sender_qualifier=partner.isa_sender_qualifier,
            receiver_qualifier=partner.isa_receiver_qualifier,
            usage=partner.usage_indicator,
            control_number=inquiry.id.int % 999_999_999 + 1,
            trace=inquiry.trace_number,
            now=now,
            payer_claim_control_number=claim.payer_claim_control_number,
        )
    except (X12Error, ValueError) as exc:
        log.warning(
            "cannot write a 276", extra={"inquiry_id": str(inquiry.id), "error_type": type(exc).__name__}
        )
        await store.set_inquiry(session, inquiry.id, state="failed", reason="unreadable_837", next_at=None)
        return None
    await store.set_inquiry(
        session,
        inquiry.id,
        x12_276=text,
        mode="realtime",
        partner_id=partner.id,
        patient_control_number=claim.patient_control_number,
        payer_id=claim.payer_id,
    )
    assert partner.claim_status.url is not None
    return Prepared(
        inquiry.id, partner.id, partner.claim_status.url, partner.claim_status.timeout_seconds, text
    )


async def answered_in_real_time(
    session: AsyncSession, prepared: Prepared, content: bytes, actor: str, now: datetime
) -> int:
    """The partner's 277 to our 276: kept as a received file (source realtime) before it is
    acted on, then read here in the same transaction. Returns the claims it reported."""
    kept = await inbound.keep(
        session,
        partner_id=prepared.partner_id,
        source="realtime",
        remote_name=f"realtime-277-{prepared.inquiry_id}.x12",
        content=content,
        actor=actor,
        received_at=now,
    )
    await store.set_inquiry(session, prepared.inquiry_id, state="sent", sent_at=now, next_at=None)
    if not kept.new or kept.state != "received":
        return 0
    # The one way a received file is acted on (inbound.process): identified, read, its state set.
    row = await inbound_store.file_by_id(session, kept.file_id)
    outcome = await inbound.process(session, row, {})
    if outcome.review is not None:
        await store.set_inquiry(session, prepared.inquiry_id, state="failed", reason=outcome.review[0])
        log.warning("real-time 277 sent to review", extra={"file_id": str(kept.file_id)})
        return 0
    return outcome.counts.get("claims_reported", 0)


async def failed(session: AsyncSession, inquiry: Any, reason: str, now: datetime) -> None:
    """A real-time call that did not answer: tried again later, or given up after the last try."""
    again = domain.retry_at(now, inquiry.attempts)
    if again is None:
        await store.set_inquiry(session, inquiry.id, state="failed", reason=reason, next_at=None)
    else:
        await store.set_inquiry(session, inquiry.id, reason=reason, next_at=again)


class Sender:
    """Real-time 276/277 calls: one circuit breaker per partner (a partner that keeps failing
    is left alone for a while instead of being hammered by every due inquiry)."""

    def __init__(
        self, partners: dict[str, TradingPartner], *, threshold: int = 5, reset_seconds: float = 60.0
    ) -> None:
        self.partners = partners
        self.breakers = CircuitBreaker(threshold=threshold, reset_seconds=reset_seconds)

    async def call(self, http: httpx.AsyncClient, prepared: Prepared) -> bytes:
        """POST the 276; the 277 body, or an exception naming what went wrong (no data)."""
        async with self.breakers.guard(prepared.partner_id):
            response = await http.post(
                prepared.url,
                content=prepared.x12_276.encode(),
                headers={"Content-Type": "application/edi-x12"},
                timeout=prepared.timeout,
            )
            if response.status_code >= 500:
                raise PartnerFailed(f"http_{response.status_code}")
        if response.status_code != 200:
            raise PartnerRefused(f"http_{response.status_code}")
        return response.content


class PartnerFailed(Exception):
    """The partner did not answer usably (5xx, connection, timeout): counts against its breaker."""


class PartnerRefused(Exception):
    """The partner answered but refused the inquiry (4xx): not tried again as is."""


async def send_due(db: Database, sender: Sender, inquiries: Sequence[Any], actor: str) -> dict[str, int]:
    """Send leased inquiries, each in its own transactions: the 276 is written and recorded,
    POSTed outside any transaction, and the answer kept and read in one transaction."""
    counts = {"answered": 0, "skipped": 0, "failed": 0}
    async with httpx.AsyncClient() as http:
        for inquiry in inquiries:
            now = datetime.now(UTC)
            async with db.session() as session, session.begin():
                prepared = await prepare(session, inquiry, sender.partners, now)
            if prepared is None:
                counts["skipped"] += 1
                continue
            try:
                content = await sender.call(http, prepared)
            except (PartnerFailed, PartnerRefused, CircuitOpen, httpx.HTTPError) as exc:
                reason = str(exc) if isinstance(exc, PartnerFailed | PartnerRefused) else type(exc).__name__
                async with db.session() as session, session.begin():
                    if isinstance(exc, PartnerRefused):
                        await store.set_inquiry(
                            session, inquiry.id, state="failed", reason=reason, next_at=None
                        )
                    else:
                        await failed(session, inquiry, reason, now)
                counts["failed"] += 1
                continue
            async with db.session() as session, session.begin():
                await answered_in_real_time(session, prepared, content, actor, datetime.now(UTC))
            counts["answered"] += 1
    return counts


async def ask_now(db: Database, sender: Sender, claim_id: uuid.UUID, actor: str) -> Any:
    """Someone asks where a claim stands: an inquiry now, sent at once; returns it as it ends."""
    async with db.session() as session, session.begin():
        inquiry_id = await inquire(session, claim_id, datetime.now(UTC), actor)
        assert inquiry_id is not None  # due now: a new moment each call
        await store.set_inquiry(session, inquiry_id, attempts=1)
        inquiry = await store.get(session, inquiry_id)
    await send_due(db, sender, [inquiry], actor)
    async with db.session() as session:
        return await store.get(session, inquiry_id)


def sender_of(app: Any) -> Sender:
    """The app's one Sender (its breakers live as long as the app), over the partners the
    gateway was configured with (partners.usecases: GATEWAY_PARTNERS_FILE)."""
    sender = getattr(app.state, "claim_status_sender", None)
    if sender is None:
        sender = Sender(partner_config.partners_by_id(app))
        app.state.claim_status_sender = sender
    return sender


async def build_batch(
    session: AsyncSession, partner: TradingPartner, now: datetime, limit: int = 500
) -> str | None:
    """The partner's waiting inquiries as one 276 file (one transaction set per claim, each
    with its own trace), recorded as a submission file (kind 276) that the outbound uploader
    puts in the partner's `to` folder (outbound.new_file, as an 837 batch is made); the answers
    come back as 277 files through the mailbox and are read by `statusreports.on_277`. In the
    caller's transaction; returns the file's name, or None."""
    rows = await store.take_batch(session, partner.id, limit)
    sets, ids = [], []
    for row in rows:
        claim = await store.latest_claim(session, row.claim_id)
        try:
            assert claim is not None
            body = write_276_body(
                read_837(claim.x12_837),
                trace=row.trace_number,
                reference=row.trace_number[:30],
                now=now,
                payer_claim_control_number=claim.payer_claim_control_number,
            )
        except (AssertionError, X12Error, ValueError):
            await store.set_inquiry(session, row.id, state="failed", reason="unreadable_837", next_at=None)
            continue
        sets.append(outbound_x12.Set(version=GUIDE, body=body))
        ids.append(row.id)
    if not sets:
        return None
    built = await outbound.new_file(session, partner, sets, kind="276", functional_id="HR", now=now)
    await store.filed(session, ids, built.file_id, now)
    return built.file_name
