"""What happens to a claim: created, changed, scrubbed, submitted, answered, denied, billed onward.

Plain functions over a session; callers (routes and event handlers) own the transaction,
so a claim's change, its status history row and its outbox event commit together.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import String, Uuid, any_, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import defer
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims import reference, scrubber
from services.claims.models import Claim, Denial, StatusChange
from services.claims.schemas import AdjustmentIn, ClaimData, LineAdjudication, OtherCoverage, SubscriberIn
from services.claims.settings import get_claims_settings
from services.claims.x12_837 import generate
from shared.bulk import insert_many
from shared.events import Event, new_event
from shared.events.catalogue import Adjustment, ClaimDenied, ClaimLineSummary, ClaimSubmitted, PaymentPosted
from shared.outbox import add_event
from shared.problems import FieldError, ProblemError

SOURCE = "/services/claims"
_T = TypeVar("_T")
EDITABLE = ("draft", "ready", "rejected")
OPEN_STATUSES = ("submitted", "accepted", "partial", "denied", "appealed")
# Where each status may go next; events from partners can skip a step (an 835 may arrive
# before the 277CA), so the answer statuses are reachable from every sent state.
TRANSITIONS: dict[str, set[str]] = {
    "draft": {"draft", "ready", "closed"},
    "ready": {"draft", "ready", "submitted", "closed"},
    "submitted": {"accepted", "rejected", "paid", "partial", "denied", "closed"},
    "accepted": {"accepted", "rejected", "paid", "partial", "denied", "closed"},
    "rejected": {"draft", "ready", "submitted", "closed"},
    "paid": {"paid", "partial", "denied", "closed"},
    "partial": {"paid", "partial", "denied", "appealed", "closed"},
    "denied": {"paid", "partial", "denied", "appealed", "closed"},
    "appealed": {"paid", "partial", "denied", "closed"},
    "closed": {"paid", "partial", "denied"},
}


def now() -> datetime:
    return datetime.now(UTC)


def new_pcn() -> str:
    """Patient control number: 17 characters, unique (CLM01, echoed in CLP01)."""
    return "C" + uuid.uuid4().hex[:16].upper()


def data_of(claim: Claim) -> ClaimData:
    return ClaimData.model_validate(claim.data)


def transition(claim: Claim, to_status: str, actor: str, reason: str | None = None) -> dict[str, Any]:
    """Move the claim and return its history row (columns of claim_status_history); refuses a
    move the lifecycle does not allow. Pure, so batch handlers can insert many rows at once."""
    if to_status not in TRANSITIONS[claim.status]:
        raise ProblemError(
            409,
            "invalid-transition",
            "The claim cannot make that move",
            f"A {claim.status} claim cannot become {to_status}.",
        )
    when = now()
    row = {
        "claim_id": claim.id,
        "from_status": claim.status,
        "to_status": to_status,
        "actor": actor,
        "reason": reason,
        "changed_at": when,
    }
    claim.status = to_status
    claim.updated_at = when
    return row


def set_status(
    session: AsyncSession, claim: Claim, to_status: str, actor: str, reason: str | None = None
) -> None:
    """transition(), with the claim and its history row added to the session."""
    session.add(StatusChange(**transition(claim, to_status, actor, reason)))
    session.add(claim)


def new_claim(data: ClaimData, actor: str, *, encounter_id: str | None = None, **links: Any) -> Claim:
    when = now()
    return Claim(
        id=uuid.uuid4(),
        patient_control_number=new_pcn(),
        status="draft",
        patient_id=data.patient_id,
        payer_id=data.payer_id,
        coverage_order=data.coverage_order,
        frequency_code=data.frequency_code,
        data=data.model_dump(mode="json"),
        total_charge=data.total_charge,
        date_of_service=data.first_date_of_service,
        encounter_id=encounter_id,
        created_by=actor,
        created_at=when,
        updated_at=when,
        **links,
    )


async def create(session: AsyncSession, data: ClaimData, actor: str, **links: Any) -> Claim:
    """A new claim and its first history row (the claim is flushed first: the row references it)."""
    claim = new_claim(data, actor, **links)
    session.add(claim)
    await session.flush()
    session.add(StatusChange(**created_row(claim, actor)))
    return claim


def created_row(claim: Claim, actor: str) -> dict[str, Any]:
    """A new claim's first history row."""
    return {
        "claim_id": claim.id,
        "from_status": None,
        "to_status": "draft",
        "actor": actor,
        "reason": "created",
        "changed_at": claim.created_at,
    }


_CLAIM_COLUMNS = [(c.name, c.key) for c in Claim.__table__.columns]  # type: ignore[attr-defined]


async def insert_new(
    session: AsyncSession, claims: Sequence[Claim], history: Sequence[dict[str, Any]]
) -> None:
    """Insert new claims and history rows with one multi-row INSERT per table (batch handlers),
    instead of the ORM's unit of work per object; the claims go first (history references them)."""
    rows = [{name: getattr(claim, key) for name, key in _CLAIM_COLUMNS} for claim in claims]
    await insert_many(session, Claim.__table__, rows)  # type: ignore[attr-defined]
    await insert_many(session, StatusChange.__table__, history)  # type: ignore[attr-defined]


def replace_data(claim: Claim, data: ClaimData) -> None:
    claim.data = data.model_dump(mode="json")
    claim.payer_id = data.payer_id
    claim.total_charge = data.total_charge
    claim.date_of_service = data.first_date_of_service
    claim.scrub = None


# --- scrubbing ----------------------------------------------------------------------------


def possible_duplicate(o: Claim, claim: Claim, data: ClaimData) -> bool:
    """The duplicate filter (same patient and payer, an original claim still open, first date
    of service within this claim's dates), for claims read from the table or made in memory."""
    dates = [line.date_of_service for line in data.lines]
    return (
        o.patient_id == data.patient_id
        and o.payer_id == data.payer_id
        and o.id != claim.id
        and o.frequency_code == "1"
        and o.status != "closed"
        and o.date_of_service is not None
        and min(dates) <= o.date_of_service <= max(dates)
    )


def other_claim(o: Claim) -> scrubber.OtherClaim:
    return scrubber.OtherClaim(
        o.patient_control_number,
        tuple(line["code"] for line in o.data["lines"]),
        tuple(date.fromisoformat(line["date_of_service"]) for line in o.data["lines"]),
    )


# Keyed by (patient, payer): every pair of a batch in one statement each (params: _pair_params).
_PAIRS = (
    "(patient_id, payer_id) IN (SELECT * FROM unnest(CAST(:patients AS text[]), CAST(:payers AS text[])))"
)


def _pair_params(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    return {"patients": [p for p, _ in pairs], "payers": [q for _, q in pairs]}


_ELIGIBILITY = text(
    "SELECT patient_id, payer_id, status, date_of_service, coverage_start, coverage_end "  # noqa: S608 - constant
    f"FROM eligibility_copies WHERE {_PAIRS} ORDER BY checked_at"
)
_AUTHORIZATIONS = text(
    "SELECT patient_id, payer_id, number, service_codes, start_date, end_date, visits_allowed, visits_used "  # noqa: S608 - constant
    f"FROM authorization_copies WHERE {_PAIRS}"
).columns(service_codes=JSONB)
_CANDIDATES = text(
    "SELECT id, patient_id, payer_id, patient_control_number, frequency_code, status, date_of_service, "  # noqa: S608 - constant
    f"data->'lines' AS lines FROM claims WHERE {_PAIRS} "
    "AND frequency_code = '1' AND status <> 'closed' AND date_of_service BETWEEN :first AND :last"
).columns(lines=JSONB)


async def scrub_contexts(
    session: AsyncSession, items: Sequence[tuple[Claim, ClaimData]]
) -> list[scrubber.ScrubContext]:
    """Our copies of eligibility and authorizations, and possible duplicates on file, for each
    claim: three statements for the whole list (a batch of encounters), not three per claim.

    Claims of the same list are not each other's duplicates here; a batch handler checks
    those in memory with possible_duplicate()."""
    if not items:
        return []
    if session.new or session.dirty or session.deleted:
        await session.flush()  # the statements below are plain SQL: no autoflush
    keys = _pair_params(sorted({(data.patient_id, data.payer_id) for _, data in items}))
    dates = [line.date_of_service for _, data in items for line in data.lines]
    eligibility: dict[tuple[str, str], list[scrubber.EligibilityFact]] = {}
    for r in await session.execute(_ELIGIBILITY, keys):
        fact = scrubber.EligibilityFact(r.status, r.date_of_service, r.coverage_start, r.coverage_end)
        eligibility.setdefault((r.patient_id, r.payer_id), []).append(fact)
    authorizations: dict[tuple[str, str], list[scrubber.AuthorizationFact]] = {}
    for r in await session.execute(_AUTHORIZATIONS, keys):
        fact = scrubber.AuthorizationFact(
            r.number, tuple(r.service_codes), r.start_date, r.end_date, r.visits_allowed, r.visits_used
        )
        authorizations.setdefault((r.patient_id, r.payer_id), []).append(fact)
    candidates: dict[tuple[str, str], list[Claim]] = {}
    for r in await session.execute(_CANDIDATES, {**keys, "first": min(dates), "last": max(dates)}):
        on_file = Claim.model_construct(
            id=r.id,
            patient_id=r.patient_id,
            payer_id=r.payer_id,
            patient_control_number=r.patient_control_number,
            frequency_code=r.frequency_code,
            status=r.status,
            date_of_service=r.date_of_service,
            data={"lines": r.lines},
        )
        candidates.setdefault((r.patient_id, r.payer_id), []).append(on_file)
    today = date.today()
    contexts = []
    for claim, data in items:
        pair = (data.patient_id, data.payer_id)
        contexts.append(
            scrubber.ScrubContext(
                today=today,
                eligibility=eligibility.get(pair, []),
                authorizations=authorizations.get(pair, []),
                other_claims=[
                    other_claim(o)
                    for o in candidates.get(pair, [])
                    if possible_duplicate(o, claim, data) and o.id != claim.original_claim_id
                ],
            )
        )
    return contexts


async def run_scrub(session: AsyncSession, claim: Claim, actor: str) -> list[scrubber.Finding]:
    """Scrub and record the result; a clean draft becomes ready, a dirty ready claim a draft."""
    data = data_of(claim)
    (context,) = await scrub_contexts(session, [(claim, data)])
    findings = scrubber.scrub(data, context)
    for row in apply_scrub(claim, actor, findings):
        session.add(StatusChange(**row))
    session.add(claim)
    return findings


def apply_scrub(claim: Claim, actor: str, findings: list[scrubber.Finding]) -> list[dict[str, Any]]:
    """Record the findings on the claim and move it (clean: ready, else draft); returns the
    history rows of the move, if any."""
    clean = not scrubber.has_errors(findings)
    claim.scrub = {"at": now().isoformat(), "clean": clean, "findings": [f.as_dict() for f in findings]}
    if claim.first_scrub_clean is None:
        claim.first_scrub_clean = clean
    if claim.status in EDITABLE:
        target = "ready" if clean else "draft"
        if target != claim.status:
            return [transition(claim, target, actor, "scrubbed clean" if clean else "scrub found errors")]
    return []


async def submit(session: AsyncSession, claim: Claim, actor: str) -> Claim:
    """Scrub, refuse with the error edits (409), else write the 837P and publish claim.submitted."""
    if claim.status not in EDITABLE:
        raise ProblemError(
            409,
            "not-submittable",
            "The claim was already sent",
            f"A {claim.status} claim cannot be submitted.",
        )
    findings = await run_scrub(session, claim, actor)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise ProblemError(
            409,
            "scrub-errors",
            "The claim has scrubber errors",
            f"{len(errors)} error edit(s) must be fixed before the claim can be submitted.",
            errors=[FieldError(field=f"body.{f.field}", rule=f.edit, message=f.message) for f in errors],
        )
    (control,) = await control_numbers(session, 1)
    row, event = mark_submitted(claim, data_of(claim), control, actor)
    session.add(StatusChange(**row))
    session.add(claim)
    add_event(session, event)
    return claim


_CONTROL_NUMBERS = text("SELECT nextval('interchange_control_numbers') FROM generate_series(1, :n)")


async def control_numbers(session: AsyncSession, n: int) -> list[int]:
    """n interchange control numbers (ISA13) in one round trip."""
    if n <= 0:
        return []
    with session.no_autoflush:  # a sequence reads no rows: no need to flush pending ones first
        return [int(v) for v in (await session.execute(_CONTROL_NUMBERS, {"n": n})).scalars()]


def mark_submitted(claim: Claim, data: ClaimData, control: int, actor: str) -> tuple[dict[str, Any], Event]:
    """Write the 837P onto a submittable claim and move it to submitted; returns the history
    row and the claim.submitted event (made in the caller's correlation context)."""
    when = now()
    claim.x12_837 = generate(
        data,
        claim.patient_control_number,
        control_number=control,
        settings=get_claims_settings(),
        now=when,
    )
    claim.submission_count = (claim.submission_count or 0) + 1
    claim.submitted_at = when
    claim.followup_published_at = None
    claim.first_submitted_at = claim.first_submitted_at or when
    row = transition(claim, "submitted", actor, f"837P interchange {control:09d}")
    event = new_event(
        ClaimSubmitted(
            claim_id=claim.id,
            patient_control_number=claim.patient_control_number,
            patient_id=claim.patient_id,
            payer_id=claim.payer_id,
            frequency_code=data.frequency_code,  # type: ignore[arg-type]
            total_charge=data.total_charge,
            x12_837=claim.x12_837,
            submitted_at=when,
            coverage_order=data.coverage_order,
            account_id=claim.patient_id,
            date_of_service=data.first_date_of_service,
            lines=[
                ClaimLineSummary(
                    line_number=n,
                    code=line.code,
                    modifiers=line.modifiers,
                    units=line.units,
                    charge=line.charge,
                    date_of_service=line.date_of_service,
                )
                for n, line in enumerate(data.lines, start=1)
            ],
            original_payer_claim_control_number=data.original_payer_claim_control_number,
        ),
        source=SOURCE,
    )
    return row, event


# --- answers from the payer ----------------------------------------------------------------


async def find_claims(
    session: AsyncSession, keys: Sequence[tuple[uuid.UUID | None, str | None]]
) -> list[Claim | None]:
    """Match partners' answers, locked for update, in one statement for a whole batch: each
    (claim id, patient control number) by our claim id when echoed and ours, else by patient
    control number. The 837 text and the scrub are not loaded: answers do not need them."""
    ids, pcns = _match_keys(keys)
    if not ids and not pcns:
        return [None] * len(keys)
    found = (
        await session.exec(
            select(Claim)
            .where(
                or_(
                    col(Claim.id) == any_(bindparam("ids", ids, type_=ARRAY(Uuid()))),
                    col(Claim.patient_control_number) == any_(bindparam("pcns", pcns, type_=ARRAY(String()))),
                )
            )
            .options(defer(Claim.x12_837), defer(Claim.scrub))  # type: ignore[arg-type]
            .with_for_update()
            # Claims already in the session are read again: a set-based UPDATE earlier in
            # the transaction (accept_claims) may have moved them since they were loaded.
            .execution_options(populate_existing=True)
        )
    ).all()
    by_id = {c.id: c for c in found}
    by_pcn = {c.patient_control_number: c for c in found}
    return [_match(by_id, by_pcn, i, p) for i, p in keys]


def _match_keys(keys: Sequence[tuple[uuid.UUID | None, str | None]]) -> tuple[list[uuid.UUID], list[str]]:
    """The claim ids and patient control numbers to look up for partners' answers."""
    return [i for i, _ in keys if i is not None], [p for _, p in keys if p]


def _match(
    by_id: dict[uuid.UUID, _T], by_pcn: dict[str, _T], claim_id: uuid.UUID | None, pcn: str | None
) -> _T | None:
    """An answer's claim: by our claim id when echoed and ours, else by patient control number."""
    if claim_id in by_id:
        return by_id[claim_id]
    return by_pcn.get(pcn) if pcn else None


_MATCH = text(
    "SELECT id, patient_control_number FROM claims "
    "WHERE id = ANY(CAST(:ids AS uuid[])) OR patient_control_number = ANY(CAST(:pcns AS text[]))"
)

# Acknowledged claims that are still `submitted` become `accepted`, with their history rows, in
# one statement; a claim already answered (paid, rejected, ...) is left as it is.
_ACCEPT = text(
    """
    WITH answer AS (
        SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:pccns AS text[]), CAST(:actors AS text[]))
            AS a(id, pccn, actor)
    ), moved AS (
        UPDATE claims c
           SET status = 'accepted', updated_at = :now,
               payer_claim_control_number = COALESCE(NULLIF(answer.pccn, ''), c.payer_claim_control_number)
          FROM answer
         WHERE c.id = answer.id AND c.status = 'submitted'
        RETURNING c.id, answer.actor
    )
    INSERT INTO claim_status_history (claim_id, from_status, to_status, actor, reason, changed_at)
    SELECT id, 'submitted', 'accepted', actor, '277CA accepted', :now FROM moved
    """
)


async def accept_claims(
    session: AsyncSession, answers: Sequence[tuple[uuid.UUID | None, str | None, str | None, str]]
) -> None:
    """Payers' acknowledgments (claim id, patient control number, payer claim control number,
    actor) for a whole poll: matched as find_claims matches, the first per claim counting (a
    second finds it accepted already), in two statements and without ORM objects."""
    if not answers:
        return
    if session.new or session.dirty or session.deleted:
        await session.flush()  # plain SQL below: what other handlers changed goes first
    ids, pcns = _match_keys([(i, p) for i, p, _, _ in answers])
    rows = (await session.execute(_MATCH, {"ids": ids, "pcns": pcns})).all()
    by_id = {r.id: r.id for r in rows}
    by_pcn = {r.patient_control_number: r.id for r in rows}
    chosen: dict[uuid.UUID, tuple[str | None, str]] = {}
    for claim_id, pcn, pccn, actor in answers:
        match = _match(by_id, by_pcn, claim_id, pcn)
        if match is not None and match not in chosen:
            chosen[match] = (pccn, actor)
    if chosen:
        params = {
            "ids": list(chosen),
            "pccns": [pccn for pccn, _ in chosen.values()],
            "actors": [actor for _, actor in chosen.values()],
            "now": now(),
        }
        await session.execute(_ACCEPT, params)


def is_denial(adj: Adjustment | AdjustmentIn) -> bool:
    """Contractual write-downs and ordinary cost sharing are not denials; everything else is."""
    exempt = reference.carc()["not_denials"].get(adj.group_code, [])
    return adj.reason_code not in exempt and adj.amount > 0


def action_for(adjustments: list[Adjustment]) -> str:
    """The recommended action for a denial, from data/carc_actions.json (largest amount first)."""
    table = reference.carc()
    for adj in sorted(adjustments, key=lambda a: a.amount, reverse=True):
        if adj.reason_code in table["reasons"]:
            return str(table["reasons"][adj.reason_code])
    first = max(adjustments, key=lambda a: a.amount)
    return str(table["group_defaults"].get(first.group_code, "appeal"))


async def apply_payment(
    session: AsyncSession,
    claim: Claim,
    posted: PaymentPosted,
    actor: str,
    other_payers: OtherPayers,
) -> None:
    """An insurer's adjudication: paid, partial or denied; denials go to the queue and out as
    claim.denied; a balance left with another payer on file bills that payer next.
    `other_payers`: the latest eligibility checks' other payers, read for a whole batch."""
    if posted.claim_status_code == "22":
        claim.adjudication = {**(claim.adjudication or {}), "reversed_by": str(posted.payment_id)}
        session.add(claim)
        return
    # The same remittance (trace number) posted twice, e.g. republished by a partner: once only.
    seen = list((claim.adjudication or {}).get("trace_numbers", []))
    if posted.trace_number and posted.trace_number in seen:
        return
    if posted.trace_number:
        seen.append(posted.trace_number)
    paid = posted.amount
    denials = [a for a in posted.adjustments if is_denial(a)]
    denied_amount = sum((a.amount for a in denials), Decimal("0.00"))
    if posted.claim_status_code == "4" or (paid == 0 and denials):
        status = "denied"
    elif denials:
        status = "partial"
    else:
        status = "paid"
    when = now()
    claim.paid_amount = paid
    claim.allowed_amount = posted.allowed
    claim.patient_responsibility = posted.patient_responsibility
    claim.payer_claim_control_number = posted.payer_claim_control_number or claim.payer_claim_control_number
    claim.adjudicated_at = when
    claim.adjudication = {
        "payment_id": str(posted.payment_id),
        "claim_status_code": posted.claim_status_code,
        "paid": str(paid),
        "charge": str(posted.charge) if posted.charge is not None else None,
        "allowed": str(posted.allowed) if posted.allowed is not None else None,
        "patient_responsibility": (
            str(posted.patient_responsibility) if posted.patient_responsibility is not None else None
        ),
        "adjustments": [a.model_dump(mode="json") for a in posted.adjustments],
        "remark_codes": list(posted.remark_codes),
        "payer_claim_control_number": posted.payer_claim_control_number,
        "trace_number": posted.trace_number,
        "trace_numbers": seen,
    }
    if status not in TRANSITIONS[claim.status]:
        return
    codes = ",".join(f"{a.group_code}-{a.reason_code}" for a in posted.adjustments) or "none"
    set_status(session, claim, status, actor, f"paid {paid}; adjustments {codes}")
    if denials:
        action = action_for(denials)
        main = max(denials, key=lambda a: a.amount)
        session.add(
            Denial(
                id=uuid.uuid4(),
                claim_id=claim.id,
                payer_id=claim.payer_id,
                patient_id=claim.patient_id,
                reason_code=main.reason_code,
                group_code=main.group_code,
                adjustments=[a.model_dump(mode="json") for a in denials],
                remark_codes=list(posted.remark_codes),
                action=action,
                denied_amount=denied_amount,
                payer_claim_control_number=posted.payer_claim_control_number,
                denied_at=when,
            )
        )
        add_event(
            session,
            new_event(
                ClaimDenied(
                    claim_id=claim.id,
                    payer_id=claim.payer_id,
                    patient_id=claim.patient_id,
                    adjustments=denials,
                    remark_codes=list(posted.remark_codes),
                    action=action,  # type: ignore[arg-type]
                    denied_at=when,
                    patient_control_number=claim.patient_control_number,
                    payer_claim_control_number=posted.payer_claim_control_number,
                    denied_amount=denied_amount,
                ),
                source=SOURCE,
            ),
        )
    await bill_next_payer(session, claim, posted, actor, other_payers)


_LATEST_CHECKS = text(
    "SELECT DISTINCT ON (patient_id, payer_id) patient_id, payer_id, other_payers FROM eligibility_copies "  # noqa: S608 - constant
    f"WHERE {_PAIRS} ORDER BY patient_id, payer_id, checked_at DESC"
).columns(other_payers=JSONB)

OtherPayers = dict[tuple[str, str], list[dict[str, Any]]]


async def latest_other_payers(session: AsyncSession, claims: Sequence[Claim]) -> OtherPayers:
    """The other payers of each (patient, payer)'s latest eligibility check, for many claims in
    one statement (a batch of payments), keyed by (patient, payer)."""
    pairs = sorted({(c.patient_id, c.payer_id) for c in claims})
    if not pairs:
        return {}
    rows = await session.execute(_LATEST_CHECKS, _pair_params(pairs))
    return {(r.patient_id, r.payer_id): r.other_payers for r in rows}


def next_coverage(claim: Claim, other_payers: OtherPayers) -> OtherCoverage | None:
    """The payer after this one: from the claim's own coverage list (the encounter's), else from
    the latest eligibility check's other payers (member id then taken from this claim).
    `other_payers`: those checks, read for a whole batch (latest_other_payers)."""
    order = {"primary": "secondary", "secondary": "tertiary"}.get(claim.data.get("coverage_order", ""))
    if order is None:
        return None
    for other in claim.data.get("other_coverages") or []:
        if other.get("order") == order:
            return OtherCoverage.model_validate(other)
    for other in other_payers.get((claim.patient_id, claim.payer_id), []):
        if other.get("order") == order and other.get("payer_id") in reference.payers():
            data = data_of(claim)
            member = data.subscriber.member_id if data.subscriber else data.patient_id
            return OtherCoverage(
                payer_id=other["payer_id"],
                member_id=member,
                order=order,
                relationship_code=data.relationship_code,
            )
    return None


async def bill_next_payer(
    session: AsyncSession,
    claim: Claim,
    posted: PaymentPosted,
    actor: str,
    other_payers: OtherPayers,
) -> Claim | None:
    """Secondary (or tertiary) billing: a new claim carrying this payer's adjudication (2320/2430)."""
    # What is left for someone else to pay: the patient's share as the payer stated it, else the
    # charge less the payment and the contractual write-off (CO), which nobody may bill.
    if posted.patient_responsibility is not None:
        balance = posted.patient_responsibility
    else:
        written_off = sum((a.amount for a in posted.adjustments if a.group_code == "CO"), Decimal(0))
        balance = claim.total_charge - posted.amount - written_off
    if balance <= 0:
        return None
    nxt = next_coverage(claim, other_payers)
    if nxt is None:
        return None
    data = data_of(claim)
    exists = (await session.exec(select(Claim).where(Claim.primary_claim_id == claim.id))).first()
    if exists is not None:
        return None
    this_payer = OtherCoverage(
        payer_id=claim.payer_id,
        member_id=data.subscriber.member_id if data.subscriber else nxt.member_id,
        order=data.coverage_order,
        relationship_code=data.relationship_code,
        paid=posted.amount,
        patient_responsibility=posted.patient_responsibility,
        adjudication_date=posted.posted_at.date(),
        payer_claim_control_number=posted.payer_claim_control_number,
        adjustments=[AdjustmentIn(**a.model_dump()) for a in posted.adjustments],
        lines=_line_adjudications(data, posted),
    )
    subscriber = data.subscriber
    if nxt.subscriber is not None:
        subscriber = SubscriberIn(**nxt.subscriber.model_dump(), member_id=nxt.member_id)
    elif subscriber is not None:
        subscriber = subscriber.model_copy(update={"member_id": nxt.member_id})
    secondary = data.model_copy(
        update={
            "payer_id": nxt.payer_id,
            "coverage_order": nxt.order,
            "subscriber": subscriber,
            "relationship_code": nxt.relationship_code,
            "other_coverages": [this_payer],
            "frequency_code": "1",
            "original_payer_claim_control_number": None,
        }
    )
    secondary = ClaimData.model_validate(secondary.model_dump(mode="json"))
    new = await create(session, secondary, actor, primary_claim_id=claim.id, encounter_id=None)
    if reference.auto_submit_secondary():
        try:
            await submit(session, new, actor)
        except ProblemError:
            pass  # stays a draft (or ready) with its scrub findings for a person to work
    return new


def _line_adjudications(data: ClaimData, posted: PaymentPosted) -> list[LineAdjudication]:
    """Loop 2430 per line. payment.posted carries the adjudication at claim level only, so the
    paid amount and each adjustment are spread over the lines in proportion to their charge,
    the last line taking the rounding, so the lines add up to the claim-level 2320 amounts."""
    total = data.total_charge
    if total <= 0:
        return []
    cent = Decimal("0.01")
    paid_left = posted.amount
    adj_left = [a.amount for a in posted.adjustments]
    out: list[LineAdjudication] = []
    for n, line in enumerate(data.lines, start=1):
        last = n == len(data.lines)
        share = line.charge / total
        paid = paid_left if last else (posted.amount * share).quantize(cent)
        paid_left -= paid
        adjustments = []
        for k, adj in enumerate(posted.adjustments):
            amount = adj_left[k] if last else (adj.amount * share).quantize(cent)
            adj_left[k] -= amount
            if amount > 0:
                adjustments.append(
                    AdjustmentIn(group_code=adj.group_code, reason_code=adj.reason_code, amount=amount)
                )
        out.append(LineAdjudication(line_number=n, paid=paid, adjustments=adjustments))
    return out
