"""Scrubbing claims: gather what the edits read (our event copies, duplicates on file, the code
data in effect) for a whole batch in a few statements, run the edits, record the result on each
claim; and keep our copies of eligibility checks up to date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.claims.authorizations import store as authorizations_store
from services.claims.claims import domain as claims_domain, store as claims_store
from services.claims.claims.schemas import ClaimData
from services.claims.claims.tables import Claim
from services.claims.codesets import usecases as codesets
from services.claims.codesets.domain import CodeData
from services.claims.scrubbing import store
from services.claims.scrubbing.domain import Finding, OtherClaim, ScrubContext, has_errors, scrub
from shared.events.catalogue import EligibilityChecked

Scrubbing = tuple[Claim, ClaimData, str]  # a claim, its content, who or what asked


def possible_duplicate(other: Claim, claim: Claim, data: ClaimData) -> bool:
    """The duplicate filter (same patient and payer, an original claim still open, first date
    of service within this claim's dates), for claims read from the table or made in memory."""
    dates = [line.date_of_service for line in data.lines]
    return (
        other.patient_id == data.patient_id
        and other.payer_id == data.payer_id
        and other.id != claim.id
        and other.frequency_code == "1"
        and other.status not in claims_domain.DONE
        and other.date_of_service is not None
        and min(dates) <= other.date_of_service <= max(dates)
    )


def other_claim(other: Claim) -> OtherClaim:
    """What the duplicate edit needs of another claim: its number, codes and dates."""
    return OtherClaim(
        other.patient_control_number,
        tuple(line.get("code") or line.get("revenue_code") for line in other.data["lines"]),
        tuple(date.fromisoformat(line["date_of_service"]) for line in other.data["lines"]),
    )


async def scrub_contexts(
    session: AsyncSession, items: Sequence[tuple[Claim, ClaimData]]
) -> list[ScrubContext]:
    """Our copies of eligibility and authorizations, possible duplicates and the code data in
    effect, for each claim: a few statements for the whole list (a batch of encounters), not a
    few per claim.

    A claim of the list that is not stored yet (a batch's new claims) is on file for the
    claims after it, so two encounters of one visit in one batch still meet the duplicate edit."""
    if not items:
        return []
    if session.new or session.dirty or session.deleted:
        await session.flush()  # the statements below are plain SQL: no autoflush
    pairs = sorted({(data.patient_id, data.payer_id) for _, data in items})
    dates = [line.date_of_service for _, data in items for line in data.lines]
    eligibility = await store.eligibility_facts(session, pairs)
    authorizations = await authorizations_store.authorization_facts(session, pairs)
    on_file = await claims_store.duplicate_candidates(session, pairs, min(dates), max(dates))
    code_data = await codesets.code_data_for(session, [data for _, data in items])
    today = date.today()
    contexts = []
    for (claim, data), codes in zip(items, code_data, strict=True):
        pair = (data.patient_id, data.payer_id)
        mates = on_file.setdefault(pair, [])
        others = [
            other_claim(o)
            for o in mates
            if possible_duplicate(o, claim, data) and o.id != claim.original_claim_id
        ]
        counted = bool(claim.submission_count) or claim.original_claim_id is not None
        contexts.append(
            ScrubContext(
                today, eligibility.get(pair, []), authorizations.get(pair, []), others, codes, counted
            )
        )
        if all(o.id != claim.id for o in mates):
            mates.append(claim)
    return contexts


def record_scrub(
    claim: Claim, actor: str, findings: list[Finding], codes: CodeData | None = None
) -> list[dict[str, Any]]:
    """Record the findings (and the code data versions they were checked against) on the claim
    and move it (clean: ready, else draft); returns the history rows of the move, if any."""
    clean = not has_errors(findings)
    claim.scrub = {
        "at": claims_domain.now().isoformat(),
        "clean": clean,
        "findings": [f.as_dict() for f in findings],
    }
    if codes is not None:
        claim.scrub["code_data"] = {
            kind: {"version": v.id, "effective_date": v.effective_date.isoformat()}
            for kind, v in codes.versions.items()
        }
    if claim.first_scrub_clean is None:
        claim.first_scrub_clean = clean
    if claim.status in claims_domain.EDITABLE:
        target = "ready" if clean else "draft"
        if target != claim.status:
            reason = "scrubbed clean" if clean else "scrub found errors"
            return [claims_domain.transition(claim, target, actor, reason)]
    return []


async def scrub_claims(
    session: AsyncSession, items: Sequence[Scrubbing]
) -> tuple[list[list[Finding]], list[dict[str, Any]], list[ScrubContext]]:
    """Scrub many claims at once and record each result on its claim; returns each claim's
    findings, the history rows of their moves (for the caller to store with the claims), and
    what each was scrubbed against (the submission sends the authorizations it found)."""
    contexts = await scrub_contexts(session, [(claim, data) for claim, data, _ in items])
    findings: list[list[Finding]] = []
    rows: list[dict[str, Any]] = []
    for (claim, data, actor), context in zip(items, contexts, strict=True):
        found = scrub(data, context)
        rows += record_scrub(claim, actor, found, context.codes)
        findings.append(found)
    return findings, rows, contexts


async def scrub_claim(session: AsyncSession, claim: Claim, actor: str) -> list[Finding]:
    """Scrub one stored claim and stage the result; a clean draft becomes ready, a dirty ready
    claim a draft."""
    (findings,), rows, _ = await scrub_claims(session, [(claim, claims_domain.data_of(claim), actor)])
    claims_store.stage(session, claim, rows)
    return findings


async def record_eligibility(session: AsyncSession, check: EligibilityChecked) -> None:
    """Our copy of an eligibility check, once per check id."""
    if await store.eligibility_copy_exists(session, check.check_id):
        return
    store.add_eligibility_copy(
        session,
        {
            "check_id": check.check_id,
            "patient_id": check.patient_id,
            "payer_id": check.payer_id,
            "status": check.status,
            "date_of_service": check.date_of_service,
            "coverage_start": check.coverage_start,
            "coverage_end": check.coverage_end,
            "other_payers": [p.model_dump(mode="json") for p in check.other_payers],
            "prior_auth_service_types": list(check.prior_auth_required_service_types),
            "checked_at": check.checked_at,
        },
    )
