"""Posting an 835: every CLP matched to its claim and written to the ledger, or parked.

One remittance is one transaction: the remittance row (unique per payer and trace number,
which is what makes a second delivery a no-op), the raw file, the provider-level
adjustments, one `claim_postings` row and its ledger entries per matched claim, one
`unmatched_claims` row per claim we do not know, and one `payment.posted` per posted
claim. So `posted + unmatched = BPR amount` holds for every remittance by construction,
and a refused file leaves nothing behind. The consumer posts a whole poll of 835s in its one
transaction (`receive_many`), each exactly as if alone, with one statement per table.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.payments import ledger
from services.payments.contracts import check_underpayments, current_fee_schedules
from services.payments.ledger import Entry
from services.payments.remittances.x835 import (
    Claim835,
    Line835,
    Remittance835,
    parse_835,
)
from shared import context
from shared.events import Event, new_event
from shared.events.catalogue import Adjustment, PaymentPosted
from shared.outbox import add_events
from shared.x12 import X12Error

SOURCE = "/services/payments"
REVERSAL = "22"


@dataclass
class ClaimCopy:
    """What payments knows of a submitted claim (from `claim.submitted`)."""

    claim_id: uuid.UUID
    patient_control_number: str
    account_id: str
    payer_id: str
    coverage_order: str
    total_charge: Decimal
    date_of_service: date | None


@dataclass(frozen=True)
class RemittanceRef:
    """What a claim posting needs to know of its remittance."""

    id: uuid.UUID
    payer_id: str
    trace_number: str
    method: str  # ach, check, eft, other


@dataclass
class Outcome:
    """The result of receiving one transaction set."""

    remittance_id: uuid.UUID
    duplicate: bool


@dataclass
class Prepared:
    remittance: Remittance835
    payer_id: str
    warnings: list[X12Error] = field(default_factory=list)


# --- payers -----------------------------------------------------------------------------


async def resolve_payer(session: AsyncSession, remittance: Remittance835) -> str | None:
    """Our payer id for the 835's payer, trying its identifiers in the order the file gives
    them (N1*PR N104, REF*2U, then TRN03, which several payers may share): a registered
    identifier, or a payer id our claims were sent to."""
    ids = remittance.payer_identifiers
    if not ids:
        return None
    rows = (
        await session.execute(
            text(
                "SELECT payer_id, identifiers FROM payers "
                "WHERE payer_id = ANY(:ids) OR identifiers && CAST(:ids AS text[])"
            ),
            {"ids": ids},
        )
    ).all()
    copies = (
        await session.execute(
            text("SELECT DISTINCT payer_id FROM claim_copies WHERE payer_id = ANY(:ids)"), {"ids": ids}
        )
    ).all()
    for identifier in ids:
        for row in rows:
            if identifier == row.payer_id or identifier in row.identifiers:
                return row.payer_id
        if any(c.payer_id == identifier for c in copies):
            return identifier
    return None


async def prepare(session: AsyncSession, x12_text: str, payer_id: str | None = None) -> list[Prepared]:
    """Parse and check everything before any write; raises a located X12Error."""
    remittances = parse_835(x12_text)
    prepared = []
    for remittance in remittances:
        resolved = payer_id or await resolve_payer(session, remittance)
        if resolved is None:
            raise X12Error(
                "unknown payer: no registered payer has the identifiers in N1*PR/REF*2U or TRN03",
                position=remittance.payer_position,
                segment="N1",
                element=4,
            )
        prepared.append(Prepared(remittance, resolved))
    return prepared


# --- receiving --------------------------------------------------------------------------


@dataclass
class Incoming:
    """One 835 file to post, and what its remittances record about where it came from.
    `event`: the event it arrived in; what its posting causes carries that event's
    correlation id and trace."""

    x12_text: str
    source: str
    actor: str
    payer_id: str | None = None
    now: datetime | None = None
    event: Event | None = None


@dataclass
class _Set:
    """One transaction set of an incoming file, on its way to the database."""

    file: int
    item: Prepared
    digest: str
    now: datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)


async def receive(
    session: AsyncSession,
    x12_text: str,
    *,
    source: str,
    actor: str,
    payer_id: str | None = None,
    now: datetime | None = None,
) -> list[Outcome]:
    """Post every transaction set of an 835 in the caller's transaction."""
    (outcomes,) = await receive_many(
        session, [Incoming(x12_text, source=source, actor=actor, payer_id=payer_id, now=now)]
    )
    return outcomes


_INSERT_REMITTANCES = text(
    "INSERT INTO remittances (id, payer_id, trace_number, trace_originator, control_number, handling_code, "
    "method, amount, credit_debit, paid_date, production_date, claims_paid, provider_adjustments, warnings, "
    "source, received_by, received_at) SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:payer AS text[]), "
    "CAST(:trace AS text[]), CAST(:orig AS text[]), CAST(:ctl AS text[]), CAST(:handling AS text[]), "
    "CAST(:method AS text[]), CAST(:amount AS numeric[]), CAST(:cd AS text[]), CAST(:paid_date AS date[]), "
    "CAST(:prod AS date[]), CAST(:claims_paid AS numeric[]), CAST(:plb AS numeric[]), "
    "CAST(:warnings AS jsonb[]), CAST(:source AS text[]), CAST(:actor AS text[]), "
    "CAST(:now AS timestamptz[])) ON CONFLICT (payer_id, trace_number) DO NOTHING RETURNING id"
)
_EXISTING_REMITTANCES = text(
    "SELECT r.id, r.payer_id, r.trace_number FROM remittances r JOIN unnest(CAST(:payer AS text[]), "
    "CAST(:trace AS text[])) AS k(payer_id, trace_number) USING (payer_id, trace_number)"
)
_INSERT_FILES = text(
    "INSERT INTO remittance_files (remittance_id, sha256, x12) "
    "SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:sha AS text[]), CAST(:x12 AS text[]))"
)
_INSERT_PROVIDER_ADJUSTMENTS = text(
    "INSERT INTO provider_adjustments (remittance_id, provider_id, fiscal_period_date, reason_code, "
    "reference, amount) SELECT * FROM unnest(CAST(:rid AS uuid[]), CAST(:prov AS text[]), "
    "CAST(:fiscal AS date[]), CAST(:reason AS text[]), CAST(:ref AS text[]), CAST(:amount AS numeric[]))"
)
_INSERT_UNMATCHED = text(
    "INSERT INTO unmatched_claims (id, remittance_id, patient_control_number, payer_claim_control_number, "
    "status_code, charge, paid, patient_responsibility, reason, claim, created_at) "
    "SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:rid AS uuid[]), CAST(:pcn AS text[]), "
    "CAST(:pccn AS text[]), CAST(:status AS text[]), CAST(:charge AS numeric[]), CAST(:paid AS numeric[]), "
    "CAST(:pr AS numeric[]), CAST(:reason AS text[]), CAST(:claim AS jsonb[]), CAST(:now AS timestamptz[]))"
)


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows as one array per column, for an `unnest` INSERT."""
    return {k: [r[k] for r in rows] for k in rows[0]}


async def receive_many(session: AsyncSession, files: Sequence[Incoming]) -> list[list[Outcome]]:
    """Post every transaction set of many 835s in the caller's transaction, with one
    statement per table for all of them (a consumer's poll), in file order: each file gets
    exactly what posting it alone would give, its own `now` included. Every file is parsed
    and checked before anything is written, so one bad file raises its located X12Error and
    writes nothing; a trace number seen before, in the database or earlier in `files`, is a
    duplicate and posts nothing."""
    sets: list[_Set] = []
    last: datetime | None = None
    for index, incoming in enumerate(files):
        prepared = await prepare(session, incoming.x12_text, incoming.payer_id)
        digest = hashlib.sha256(incoming.x12_text.encode()).hexdigest()
        now = incoming.now or datetime.now(UTC)
        if incoming.now is None and last is not None and now <= last:
            now = last + timedelta(microseconds=1)  # each file posted after the one before
        last = now
        sets.extend(_Set(index, item, digest, now) for item in prepared)
    outcomes: list[list[Outcome]] = [[] for _ in files]
    if not sets:
        return outcomes

    inserted = {
        row[0]
        for row in await session.execute(
            _INSERT_REMITTANCES,
            _columns([_remittance_row(s, files[s.file]) for s in sets]),
        )
    }
    new = [s for s in sets if s.id in inserted]
    if len(new) < len(sets):
        dupes = [s for s in sets if s.id not in inserted]
        rows = await session.execute(
            _EXISTING_REMITTANCES,
            {
                "payer": [s.item.payer_id for s in dupes],
                "trace": [s.item.remittance.trace_number for s in dupes],
            },
        )
        existing = {(r.payer_id, r.trace_number): r.id for r in rows}
    for s in sets:
        if s.id in inserted:
            outcomes[s.file].append(Outcome(s.id, duplicate=False))
        else:
            key = (s.item.payer_id, s.item.remittance.trace_number)
            outcomes[s.file].append(Outcome(existing[key], duplicate=True))
    if not new:
        return outcomes

    await session.execute(
        _INSERT_FILES,
        {
            "id": [s.id for s in new],
            "sha": [s.digest for s in new],
            "x12": [files[s.file].x12_text for s in new],
        },
    )
    plb = [
        {
            "rid": s.id,
            "prov": p.provider_id,
            "fiscal": p.fiscal_period_date,
            "reason": p.reason_code,
            "ref": p.reference,
            "amount": p.amount,
        }
        for s in new
        for p in s.item.remittance.provider_adjustments
    ]
    if plb:
        await session.execute(_INSERT_PROVIDER_ADJUSTMENTS, _columns(plb))
    copies = await find_claims_by_payer(
        session, [(c.patient_control_number, s.item.payer_id) for s in new for c in s.item.remittance.claims]
    )
    fees = await current_fee_schedules(session, sorted({s.item.payer_id for s in new}))

    batch = PostingBatch(now=new[0].now)
    unmatched: list[dict[str, Any]] = []
    for s in new:
        event = files[s.file].event
        if event is not None:
            context.start(event.correlation_id, event.traceparent)
        r, payer_id, now = s.item.remittance, s.item.payer_id, s.now
        batch.now = now
        ref = RemittanceRef(s.id, payer_id, r.trace_number, r.method)
        for claim in r.claims:
            copy = copies.get((claim.patient_control_number, payer_id))
            if claim.status_code != REVERSAL and (copy is None or copy.payer_id != payer_id):
                reason = (
                    "no claim with this patient control number"
                    if copy is None
                    else "the claim with this patient control number was sent to another payer"
                )
                unmatched.append(_unmatched_row(s.id, claim, reason, now))
                continue
            reason = await post_claim(
                session, batch, ref, claim, copy, fees.get(payer_id, {}), matched_by="auto"
            )
            if reason is not None:
                unmatched.append(_unmatched_row(s.id, claim, reason, now))
    await batch.flush(session)
    if unmatched:
        await session.execute(_INSERT_UNMATCHED, _columns(unmatched))
    return outcomes


def _remittance_row(s: _Set, incoming: Incoming) -> dict[str, Any]:
    r = s.item.remittance
    return {
        "id": s.id,
        "payer": s.item.payer_id,
        "trace": r.trace_number,
        "orig": r.trace_originator,
        "ctl": r.control_number,
        "handling": r.handling_code,
        "method": r.method,
        "amount": r.amount,
        "cd": r.credit_debit,
        "paid_date": r.paid_date,
        "prod": r.production_date,
        "claims_paid": r.claims_paid,
        "plb": r.provider_adjustment_total,
        "warnings": json.dumps([_warning(w) for w in r.warnings]),
        "source": incoming.source,
        "actor": incoming.actor,
        "now": s.now,
    }


def _warning(error: X12Error) -> dict[str, str]:
    return {"field": error.pointer, "message": error.message}


def _unmatched_row(remittance_id: uuid.UUID, claim: Claim835, reason: str, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "rid": remittance_id,
        "pcn": claim.patient_control_number,
        "pccn": claim.payer_claim_control_number or None,
        "status": claim.status_code,
        "charge": claim.charge,
        "paid": claim.paid,
        "pr": claim.patient_responsibility,
        "reason": reason,
        "claim": json.dumps(claim_to_json(claim)),
        "now": now,
    }


async def find_claims_by_payer(
    session: AsyncSession, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], ClaimCopy]:
    """Our claim for each (patient control number, payer of the 835) with one query: that
    payer's claim first, then the newest with the PCN."""
    if not keys:
        return {}
    unique = list(dict.fromkeys(keys))
    rows = (
        await session.execute(
            text(
                "SELECT k.pcn, k.payer, c.claim_id, c.account_id, c.payer_id, c.coverage_order, "
                "c.total_charge, c.date_of_service "
                "FROM unnest(CAST(:pcns AS text[]), CAST(:payers AS text[])) AS k(pcn, payer) "
                "CROSS JOIN LATERAL (SELECT claim_id, account_id, payer_id, coverage_order, total_charge, "
                "date_of_service FROM claim_copies WHERE patient_control_number = k.pcn "
                "ORDER BY (payer_id = k.payer) DESC, submitted_at DESC LIMIT 1) AS c"
            ),
            {"pcns": [k[0] for k in unique], "payers": [k[1] for k in unique]},
        )
    ).all()
    return {
        (r.pcn, r.payer): ClaimCopy(
            r.claim_id,
            r.pcn,
            r.account_id,
            r.payer_id,
            r.coverage_order,
            Decimal(r.total_charge),
            r.date_of_service,
        )
        for r in rows
    }


# --- one claim --------------------------------------------------------------------------


@dataclass
class PostingBatch:
    """Rows of many claims, written with one statement per table. `now` is when the claims
    staged next are posted (several remittances in one batch each keep their own)."""

    now: datetime
    postings: list[dict[str, Any]] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    entry_times: list[datetime] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    underpayments: list[dict[str, Any]] = field(default_factory=list)

    async def flush(self, session: AsyncSession) -> None:
        if self.postings:
            await session.execute(
                text(
                    "INSERT INTO claim_postings (id, remittance_id, claim_id, account_id, payer_id, "
                    "patient_control_number, payer_claim_control_number, status_code, charge, paid, allowed, "
                    "patient_responsibility, adjustments, remark_codes, lines, reverses_posting_id, "
                    "matched_by, clp_position, posted_at) "
                    "SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:rid AS uuid[]), "
                    "CAST(:claim AS uuid[]), CAST(:account AS text[]), CAST(:payer AS text[]), "
                    "CAST(:pcn AS text[]), CAST(:pccn AS text[]), CAST(:status AS text[]), "
                    "CAST(:charge AS numeric[]), CAST(:paid AS numeric[]), CAST(:allowed AS numeric[]), "
                    "CAST(:pr AS numeric[]), CAST(:adj AS jsonb[]), CAST(:remarks AS jsonb[]), "
                    "CAST(:lines AS jsonb[]), CAST(:reverses AS uuid[]), CAST(:by AS text[]), "
                    "CAST(:pos AS integer[]), "
                    "CAST(:at AS timestamptz[]))"
                ),
                {k: [p[k] for p in self.postings] for k in self.postings[0]},
            )
        await ledger.append(session, self.entries, times=self.entry_times)
        if self.underpayments:
            await session.execute(
                text(
                    "INSERT INTO underpayments (id, posting_id, claim_id, payer_id, code, modifier, units, "
                    "expected_allowed, actual_allowed, variance, detected_at) VALUES (:id, :posting_id, "
                    ":claim_id, :payer_id, :code, :modifier, :units, :expected, :actual, :variance, :at)"
                ),
                self.underpayments,
            )
        await add_events(session, self.events)
        self.postings, self.entries, self.entry_times, self.events, self.underpayments = [], [], [], [], []

    def add_entries(self, entries: list[Entry]) -> None:
        self.entries.extend(entries)
        self.entry_times.extend([self.now] * len(entries))


async def post_claim(
    session: AsyncSession,
    batch: PostingBatch,
    remittance: RemittanceRef,
    claim: Claim835,
    copy: ClaimCopy | None,
    fees: dict[tuple[str, str], Decimal],
    *,
    matched_by: str,
) -> str | None:
    """Stage one claim's posting; returns why it cannot be posted (it is then parked).

    A reversal (CLP02 = 22) posts against the posting it reverses, found by patient control
    number and payer claim control number (or, matched by hand, by the claim chosen): a
    corrected claim (frequency 7) often reuses the PCN, so the newest claim with that PCN is
    not necessarily the one that was paid."""
    posting_id = uuid.uuid4()
    reverses: uuid.UUID | None = None
    if claim.status_code == REVERSAL:
        await batch.flush(session)  # the original may be earlier in this same file
        original = await _original_posting(
            session,
            pcn=claim.patient_control_number,
            payer_ccn=claim.payer_claim_control_number,
            claim_id=copy.claim_id if copy and matched_by == "manual" else None,
            payer_id=remittance.payer_id,
        )
        if original is None:
            return "reversal of a claim with no posting to reverse"
        reverses, claim_id, account_id = original.id, original.claim_id, original.account_id
        entries = await _negated_entries(session, original.id, posting_id)
    else:
        assert copy is not None
        claim_id, account_id = copy.claim_id, copy.account_id
        entries = _entries_for(claim, copy, posting_id)
    batch.add_entries(entries)
    adjustments = claim.adjustment_totals()
    batch.postings.append(
        {
            "id": posting_id,
            "rid": remittance.id,
            "claim": claim_id,
            "account": account_id,
            "payer": remittance.payer_id,
            "pcn": claim.patient_control_number,
            "pccn": claim.payer_claim_control_number or None,
            "status": claim.status_code,
            "charge": claim.charge,
            "paid": claim.paid,
            "allowed": claim.allowed,
            "pr": claim.patient_responsibility,
            "adj": json.dumps(
                [{"group_code": g, "reason_code": c, "amount": str(a)} for (g, c), a in adjustments.items()]
            ),
            "remarks": json.dumps(claim.remark_codes),
            "lines": json.dumps([_line_json(line) for line in claim.lines]),
            "reverses": reverses,
            "by": matched_by,
            "pos": claim.position,
            "at": batch.now,
        }
    )
    batch.events.append(
        new_event(
            PaymentPosted(
                payment_id=posting_id,
                source="insurer",
                claim_id=claim_id,
                account_id=account_id,
                amount=claim.paid,
                method=_event_method(remittance.method),
                posted_at=batch.now,
                payer_id=remittance.payer_id,
                patient_control_number=claim.patient_control_number[:17],
                payer_claim_control_number=claim.payer_claim_control_number or None,
                claim_status_code=claim.status_code,
                charge=claim.charge,
                allowed=claim.allowed,
                patient_responsibility=claim.patient_responsibility,
                adjustments=[
                    Adjustment(group_code=g, reason_code=c[:5], amount=a)  # type: ignore[arg-type]
                    for (g, c), a in adjustments.items()
                ],
                remark_codes=claim.remark_codes,
                trace_number=remittance.trace_number,
            ),
            source=SOURCE,
        )
    )
    if claim.status_code != REVERSAL and fees:
        found = check_underpayments(
            claim, fees, payer_id=remittance.payer_id, claim_id=claim_id, posting_id=posting_id
        )
        for under in found:
            batch.underpayments.append({**under.row(), "at": batch.now})
            batch.events.append(under.event(batch.now))
    return None


def _event_method(method: str) -> str:
    return method if method in ("eft", "check", "ach") else "other"


def _entries_for(claim: Claim835, copy: ClaimCopy, posting_id: uuid.UUID) -> list[Entry]:
    """Payer money and write-offs leave the insurance bucket; the patient's share moves to
    the patient bucket. A secondary/tertiary claim's charge was never added again, so its
    payment reduces what the patient was left owing, and its adjustments are informational."""
    primary = copy.coverage_order == "primary"
    common = {
        "account_id": copy.account_id,
        "item_id": copy.claim_id,
        "claim_id": copy.claim_id,
        "posting_id": posting_id,
        "service_date": copy.date_of_service,
    }
    bucket = "insurance" if primary else "patient"
    entries = []
    if claim.paid:
        entries.append(
            Entry(
                entry_type="insurance_payment",
                amount=-claim.paid,
                bucket=bucket,
                description="Insurance payment",
                **common,
            )
        )
    if not primary:
        return entries
    for adj in claim.all_adjustments:
        if not adj.amount:
            continue
        label = f"{adj.group_code}-{adj.reason_code}"
        if adj.group_code == "PR":  # the patient's share moves from insurance to patient
            description = f"Patient responsibility {label}"
            moves = [("transfer", -adj.amount, "insurance"), ("transfer", adj.amount, "patient")]
        else:
            description = f"Adjustment {label}"
            moves = [("adjustment", -adj.amount, "insurance")]
        entries += [
            Entry(
                entry_type=entry_type,
                amount=amount,
                bucket=to,
                description=description,
                group_code=adj.group_code,
                reason_code=adj.reason_code,
                **common,
            )
            for entry_type, amount, to in moves
        ]
    return entries


async def _original_posting(
    session: AsyncSession, *, pcn: str, payer_ccn: str, claim_id: uuid.UUID | None, payer_id: str
) -> Any:
    """The newest not yet reversed posting of this payer for this PCN (or for the claim
    chosen by hand), preferring the one with the same payer claim control number."""
    return (
        await session.execute(
            text(
                "SELECT p.id, p.claim_id, p.account_id FROM claim_postings p "
                "WHERE (CASE WHEN CAST(:c AS uuid) IS NULL THEN p.patient_control_number = :pcn "
                "ELSE p.claim_id = :c END) AND p.payer_id = :payer AND p.status_code <> '22' "
                "AND NOT EXISTS (SELECT 1 FROM claim_postings r WHERE r.reverses_posting_id = p.id) "
                "ORDER BY (p.payer_claim_control_number = :pccn) DESC NULLS LAST, p.posted_at DESC LIMIT 1"
            ),
            {"c": claim_id, "pcn": pcn, "pccn": payer_ccn or None, "payer": payer_id},
        )
    ).first()


async def _negated_entries(session: AsyncSession, original: uuid.UUID, posting_id: uuid.UUID) -> list[Entry]:
    """The exact opposite of the original posting's ledger rows."""
    rows = (
        await session.execute(
            text(
                "SELECT account_id, entry_type, amount, bucket, description, item_id, claim_id, group_code, "
                "reason_code, service_date FROM ledger_entries WHERE posting_id = :p ORDER BY id"
            ),
            {"p": original},
        )
    ).all()
    return [
        Entry(
            account_id=r.account_id,
            entry_type=r.entry_type,
            amount=-Decimal(r.amount),
            bucket=r.bucket,
            description=f"Reversal: {r.description}",
            item_id=r.item_id,
            claim_id=r.claim_id,
            posting_id=posting_id,
            group_code=r.group_code,
            reason_code=r.reason_code,
            service_date=r.service_date,
        )
        for r in rows
    ]


# --- unmatched claims, matched later ------------------------------------------------------


def claim_to_json(claim: Claim835) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(claim), default=str))


_CLAIM = TypeAdapter(Claim835)


def claim_from_json(data: dict[str, Any]) -> Claim835:
    """`claim_to_json` read back: amounts, dates and the nested lines and adjustments typed again."""
    return _CLAIM.validate_python(data)


def _line_json(line: Line835) -> dict[str, Any]:
    return {
        "code": line.code,
        "modifiers": line.modifiers,
        "charge": str(line.charge),
        "paid": str(line.paid),
        "units": str(line.units) if line.units is not None else None,
        "allowed": str(line.allowed) if line.allowed is not None else None,
        "adjustments": [
            {"group_code": a.group_code, "reason_code": a.reason_code, "amount": str(a.amount)}
            for a in line.adjustments
        ],
        "remark_codes": line.remark_codes,
    }


async def match_unmatched(
    session: AsyncSession, unmatched_id: uuid.UUID, copy: ClaimCopy, actor: str, matched_by: str = "manual"
) -> uuid.UUID | None:
    """Post a parked claim against a claim chosen by hand (or found later); returns the
    posting id, or None when it was already resolved or still cannot be posted."""
    row = (
        await session.execute(
            text(
                "SELECT u.*, r.trace_number, r.method, r.payer_id FROM unmatched_claims u "
                "JOIN remittances r ON r.id = u.remittance_id WHERE u.id = :id FOR UPDATE OF u"
            ),
            {"id": unmatched_id},
        )
    ).first()
    if row is None or row.resolved_at is not None:
        return None
    claim = claim_from_json(row.claim)
    now = datetime.now(UTC)
    ref = RemittanceRef(row.remittance_id, row.payer_id, row.trace_number, row.method)
    batch = PostingBatch(now=now)
    fees = (await current_fee_schedules(session, [row.payer_id])).get(row.payer_id, {})
    reason = await post_claim(session, batch, ref, claim, copy, fees, matched_by=matched_by)
    if reason is not None:
        return None
    posting_id = batch.postings[0]["id"]
    await batch.flush(session)
    await session.execute(
        text(
            "UPDATE unmatched_claims SET resolved_posting_id = :p, resolved_by = :actor, resolved_at = :now "
            "WHERE id = :id"
        ),
        {"p": posting_id, "actor": actor, "now": now, "id": unmatched_id},
    )
    return posting_id
