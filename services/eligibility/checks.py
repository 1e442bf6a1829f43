"""Coverage checks: build a 270, ask the payer, read the 271, keep the answer, tell others.

A check is a row in `checks`. It is created `pending`, and whoever holds its lease runs it:
the request that created it (for up to its budget), or the background worker (batches,
checks whose request stopped waiting, and checks whose process died). Running a check
first looks for a recent answer for the same member, payer, service types and date (the
payer's cache TTL); otherwise it calls the payer. Its end state, the encrypted raw 270/271
and the `eligibility.checked` event commit in one transaction.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Request, status
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.eligibility import edi
from services.eligibility.payers import BreakerOpen, PayerFailure, PayerTimeout, TransientReply
from services.eligibility.runtime import Runtime, runtime
from services.eligibility.validation import MemberId, Npi, PatientIn, ServiceTypeCode
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import Database, SessionDep
from shared.events import new_event
from shared.events.catalogue import BenefitSummary, EligibilityChecked, Id, OtherPayer
from shared.outbox import add_event
from shared.problems import Problem, ProblemError, invalid

SOURCE = "/services/eligibility"
X12_SCOPE = "eligibility:x12"


# --- API models --------------------------------------------------------------------------


class CheckIn(BaseModel):
    """One coverage check."""

    model_config = ConfigDict(extra="forbid")

    patient_id: Id = Field(description="The practice's patient (account) id.")
    patient: PatientIn
    member_id: MemberId
    payer_id: Id
    provider_npi: Npi
    service_type_codes: list[ServiceTypeCode] = Field(
        default_factory=lambda: ["30"], min_length=1, max_length=99
    )
    date_of_service: date = Field(default_factory=date.today)


class Money2(BaseModel):
    in_network: Decimal | None = None
    out_of_network: Decimal | None = None


class AccumulatorOut(BaseModel):
    total: Decimal | None = None
    met: Decimal | None = None
    remaining: Decimal | None = None


class NetworkAccumulators(BaseModel):
    in_network: AccumulatorOut | None = None
    out_of_network: AccumulatorOut | None = None


class LevelAccumulators(BaseModel):
    individual: NetworkAccumulators | None = None
    family: NetworkAccumulators | None = None


class ServiceBenefitsOut(BaseModel):
    service_type_code: str
    copay: Money2
    coinsurance_percent: Money2
    deductible: LevelAccumulators
    out_of_pocket: LevelAccumulators
    prior_auth_required: bool
    messages: list[str] = Field(default_factory=list)


class RejectionOut(BaseModel):
    level: str
    reason_code: str
    reason: str
    follow_up_code: str
    follow_up_action: str
    transient: bool


class OtherPayerOut(BaseModel):
    payer_id: str
    name: str
    order: str | None
    member_id: str | None = None


class CheckError(BaseModel):
    code: str
    detail: str
    retryable: bool


class CheckOut(BaseModel):
    id: uuid.UUID
    state: Literal["pending", "done", "failed"]
    status: Literal["active", "inactive", "error"] | None = None
    patient_id: str
    payer_id: str
    member_hint: str = Field(description="Last characters of the member id, for display.")
    date_of_service: date
    service_type_codes: list[str]
    plan_name: str | None = None
    group_number: str | None = None
    coverage_start: date | None = None
    coverage_end: date | None = None
    benefits: list[ServiceBenefitsOut] = Field(default_factory=list)
    other_payers: list[OtherPayerOut] = Field(default_factory=list)
    rejections: list[RejectionOut] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    error: CheckError | None = None
    cached: bool = False
    batch_id: uuid.UUID | None = None
    created_at: datetime
    completed_at: datetime | None = None
    links: dict[str, str] = Field(default_factory=dict)


# --- turning a 271 into what we keep -----------------------------------------------------


def _acc_dict(book: dict[str, dict[str, edi.Accumulator]]) -> dict[str, Any]:
    return {level: {net: acc.as_dict() for net, acc in nets.items()} for level, nets in book.items()}


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def result_of(response: edi.Response271, service_type_codes: list[str]) -> dict[str, Any]:
    """The JSON kept in `checks.result` (and shown by the API)."""
    benefits = [
        {
            "service_type_code": s.service_type_code,
            "copay": {"in_network": _s(s.copay_in_network), "out_of_network": _s(s.copay_out_of_network)},
            "coinsurance_percent": {
                "in_network": _s(s.coinsurance_in_network),
                "out_of_network": _s(s.coinsurance_out_of_network),
            },
            "deductible": _acc_dict(s.deductible),
            "out_of_pocket": _acc_dict(s.out_of_pocket),
            "prior_auth_required": s.prior_auth_required,
            "messages": s.messages,
        }
        for s in edi.summarize(response, service_type_codes)
    ]
    return {
        "status": response.status,
        "plan_name": response.plan_name,
        "group_number": response.group_number,
        "coverage_start": response.coverage_start.isoformat() if response.coverage_start else None,
        "coverage_end": response.coverage_end.isoformat() if response.coverage_end else None,
        "benefits": benefits,
        "other_payers": [
            {"payer_id": p.payer_id, "name": p.name, "order": p.order, "member_id": p.member_id}
            for p in response.other_payers
        ],
        "rejections": [
            {
                "level": r.level,
                "reason_code": r.reason_code,
                "reason": r.reason,
                "follow_up_code": r.follow_up_code,
                "follow_up_action": r.follow_up_action,
                "transient": r.transient,
            }
            for r in response.rejections
        ],
        "warnings": response.warnings,
    }


def event_of(
    check_id: uuid.UUID, row: dict[str, Any], result: dict[str, Any], at: datetime
) -> EligibilityChecked:
    """The event: coverage summary and benefits, no names, birth dates or member ids."""
    benefits = []
    for b in result["benefits"]:
        for net in ("in_network", "out_of_network"):
            copay = b["copay"][net]
            coins = b["coinsurance_percent"][net]
            ded = (b["deductible"].get("individual") or {}).get(net) or {}
            oop = (b["out_of_pocket"].get("individual") or {}).get(net) or {}
            if net == "out_of_network" and not any(
                [copay, coins, ded.get("remaining"), oop.get("remaining")]
            ):
                continue
            benefits.append(
                BenefitSummary(
                    service_type_code=b["service_type_code"],
                    in_network=net == "in_network",
                    copay=copay,
                    coinsurance_percent=coins,
                    deductible_remaining=ded.get("remaining"),
                    out_of_pocket_remaining=oop.get("remaining"),
                    prior_auth_required=b["prior_auth_required"],
                )
            )
    rejection = next(iter(result["rejections"]), None)
    return EligibilityChecked(
        check_id=check_id,
        patient_id=row["patient_id"],
        payer_id=row["payer_id"],
        status=result["status"],
        date_of_service=row["date_of_service"],
        service_type_codes=list(row["service_type_codes"]),
        coverage_start=result["coverage_start"],
        coverage_end=result["coverage_end"],
        prior_auth_required_service_types=[
            b["service_type_code"] for b in result["benefits"] if b["prior_auth_required"]
        ],
        error_code=rejection["reason_code"] if rejection and result["status"] == "error" else None,
        checked_at=at,
        other_payers=[
            OtherPayer(payer_id=p["payer_id"], order=p["order"])
            for p in result["other_payers"]
            if p["order"] and re.fullmatch(r"[A-Za-z0-9._:\-]{1,64}", p["payer_id"] or "")
        ],
        benefits=benefits,
    )


# --- running a check ---------------------------------------------------------------------

CHECK_COLUMNS = (
    "id, state, status, patient_id, payer_id, member_hint, date_of_service, service_type_codes, result, "
    "error, cached_from, batch_id, created_at, completed_at"
)


# The check and, in the same round trip, the freshest reusable answer for the same question
# (same cache key) inside its payer's TTL (`:ttls` maps payer id -> seconds; 0 = no cache).
_LOAD = text(
    "SELECT c.id, c.patient_id, c.payer_id, c.provider_npi, c.service_type_codes, c.date_of_service, "
    "c.cache_key, c.request_enc, c.state, c.attempts, h.id AS hit_id, h.status AS hit_status, "
    "h.result AS hit_result FROM checks c LEFT JOIN LATERAL (SELECT id, status, result FROM checks h "
    "WHERE :use_cache AND h.cache_key = c.cache_key AND h.state = 'done' "
    "AND h.status IN ('active', 'inactive') AND h.id <> c.id AND h.completed_at > clock_timestamp() - "
    "make_interval(secs => COALESCE(CAST(CAST(:ttls AS jsonb) ->> c.payer_id AS float8), 0)) "
    "ORDER BY h.completed_at DESC LIMIT 1) h ON true WHERE c.id = ANY(:ids)"
)
_FINISH = text(
    "UPDATE checks SET state = :state, status = :status, result = CAST(:result AS jsonb), "  # noqa: S608
    "error = CAST(:error AS jsonb), cached_from = :cached_from, completed_at = :at, lease_until = NULL, "
    f"request_enc = NULL WHERE id = :id AND state = 'pending' RETURNING {CHECK_COLUMNS}"
)


async def load_for_run(session: AsyncSession, rt: Runtime, check_id: uuid.UUID, *, use_cache: bool) -> Any:
    """The check with its cache hit, as `run_check` needs it (`loaded=`)."""
    return (await load_many_for_run(session, rt, [check_id], use_cache=use_cache)).get(check_id)


async def load_many_for_run(
    session: AsyncSession, rt: Runtime, ids: list[uuid.UUID], *, use_cache: bool = True
) -> dict[uuid.UUID, Any]:
    ttls = json.dumps({p: c.cache_ttl_seconds for p, c in rt.payers.payers.items()})
    found = await session.execute(_LOAD, {"ids": ids, "use_cache": use_cache, "ttls": ttls})
    return {row["id"]: row for row in found.mappings()}


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


async def run_check(
    db: Database,
    rt: Runtime,
    check_id: uuid.UUID,
    *,
    defer_when_paused: bool = False,
    use_cache: bool = True,
    loaded: Any = None,
) -> Any:
    """Run one pending check to its end state. Safe to call twice: only a pending row is
    finished, so a duplicate run (lease expired while the first was slow) changes nothing.
    With `defer_when_paused` (background work), a payer whose breaker is open does not fail
    the check: it goes back to the queue until the breaker may close. Returns the finished
    row (None when this call did not finish it)."""
    row = loaded
    if row is None:
        async with db.session() as session:
            row = await load_for_run(session, rt, check_id, use_cache=use_cache)
    if row is None or row["state"] != "pending":
        return None
    row = dict(row)
    if row["payer_id"] not in rt.payers.payers:  # taken out of the payer table since it was queued
        error = {"code": "unknown-payer", "detail": "The payer is no longer configured.", "retryable": False}
        return await _finish(db, rt, row, "failed", error=error)
    config = rt.payers.config(row["payer_id"])
    if row["hit_id"] is not None:
        return await _finish(
            db,
            rt,
            row,
            "done",
            status_=row["hit_status"],
            result=row["hit_result"],
            cached_from=row["hit_id"],
        )

    request = rt.vault.open_json(row["request_enc"])
    inquiry = edi.Inquiry(
        payer_id=row["payer_id"],
        payer_name=config.name,
        provider_npi=row["provider_npi"],
        provider_name=rt.settings.provider_name,
        member_id=request["member_id"],
        first_name=request["first_name"],
        last_name=request["last_name"],
        birth_date=date.fromisoformat(request["birth_date"]),
        date_of_service=row["date_of_service"],
        service_type_codes=tuple(row["service_type_codes"]),
        trace_number=check_id.hex[:30],
    )
    x12_270 = edi.build_270(inquiry, sender_id=rt.settings.sender_id, control_number=rt.control_number())
    raw_271: list[str] = []

    def parse(reply: str) -> edi.Response271:
        raw_271.append(reply)
        response = edi.parse_271(reply, strict=False)
        if response.status == "error" and response.transient_rejection is not None:
            raise TransientReply(response)
        return response

    try:
        response = await rt.payers.exchange(row["payer_id"], x12_270, parse)
    except BreakerOpen as failure:
        if defer_when_paused and row["attempts"] < MAX_DEFERRALS:
            await _defer(db, check_id, failure.retry_after or 1.0)
            return None
        await _finish(db, rt, row, "failed", error=_error(failure))  # nothing was sent
        raise
    except PayerFailure as failure:
        reply = raw_271[-1] if raw_271 else None
        await _finish(db, rt, row, "failed", error=_error(failure), x12_270=x12_270, x12_271=reply)
        raise
    result = result_of(response, list(row["service_type_codes"]))
    return await _finish(
        db, rt, row, "done", status_=response.status, result=result, x12_270=x12_270, x12_271=raw_271[-1]
    )


MAX_DEFERRALS = 20


def _error(failure: PayerFailure) -> dict[str, Any]:
    """A payer failure as the check's `error` column keeps it."""
    return {"code": failure.code, "detail": failure.detail, "retryable": failure.retryable}


async def _defer(db: Database, check_id: uuid.UUID, seconds: float) -> None:
    async with db.session() as session, session.begin():
        await session.execute(
            text(
                "UPDATE checks SET lease_until = clock_timestamp() + make_interval(secs => :s) "
                "WHERE id = :id AND state = 'pending'"
            ),
            {"id": check_id, "s": seconds},
        )


async def _finish(
    db: Database,
    rt: Runtime,
    row: dict[str, Any],
    state: str,
    *,
    status_: str | None = None,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    cached_from: uuid.UUID | None = None,
    x12_270: str | None = None,
    x12_271: str | None = None,
) -> Any:
    at = datetime.now(UTC)
    async with db.session() as session, session.begin():
        updated = await session.execute(
            _FINISH,
            {
                "id": row["id"],
                "state": state,
                "status": status_,
                "result": _json(result),
                "error": _json(error),
                "cached_from": cached_from,
                "at": at,
            },
        )
        finished = updated.mappings().one_or_none()
        if finished is None:
            return None
        if x12_270 is not None:
            await session.execute(
                text(
                    "INSERT INTO raw_x12 (check_id, x12_270, x12_271) VALUES (:id, :a, :b) "
                    "ON CONFLICT DO NOTHING"
                ),
                {
                    "id": row["id"],
                    "a": rt.vault.seal(x12_270),
                    "b": rt.vault.seal(x12_271) if x12_271 is not None else None,
                },
            )
        if result is not None:
            add_event(session, new_event(event_of(row["id"], row, result, at), source=SOURCE))
    return finished


async def run_owned(
    db: Database,
    rt: Runtime,
    check_id: uuid.UUID,
    *,
    background: bool = False,
    use_cache: bool = True,
    loaded: Any = None,
) -> tuple[PayerFailure | None, Any]:
    """Run a check this process holds the lease of: (failure, finished row). A failure is
    returned, not raised (the check row already says what happened). If the process stops
    meanwhile, the lease is given back so the next worker picks the check up at once."""
    try:
        finished = await run_check(
            db, rt, check_id, defer_when_paused=background, use_cache=use_cache, loaded=loaded
        )
        return None, finished
    except PayerFailure as failure:
        return failure, None
    except asyncio.CancelledError:
        await asyncio.shield(release(db, [check_id]))
        raise


async def release(db: Database, ids: list[uuid.UUID]) -> None:
    if not ids:
        return
    async with db.session() as session, session.begin():
        await session.execute(
            text("UPDATE checks SET lease_until = NULL WHERE id = ANY(:ids) AND state = 'pending'"),
            {"ids": ids},
        )


def new_row(
    rt: Runtime,
    body: CheckIn,
    requested_by: str,
    *,
    batch_id: uuid.UUID | None = None,
    lease_until: datetime | None = None,
) -> dict[str, Any]:
    """The `checks` row for a request: PHI sealed, the cache key hashed."""
    return {
        "id": uuid.uuid4(),
        "patient_id": body.patient_id,
        "payer_id": body.payer_id,
        "provider_npi": body.provider_npi,
        "service_type_codes": json.dumps(body.service_type_codes),
        "date_of_service": body.date_of_service,
        "member_hint": body.member_id[-4:],
        "cache_key": rt.cache_key(
            body.payer_id, body.member_id, body.service_type_codes, body.date_of_service.isoformat()
        ),
        "request_enc": rt.vault.seal_json(
            {
                "member_id": body.member_id,
                "first_name": body.patient.first_name,
                "last_name": body.patient.last_name,
                "birth_date": body.patient.birth_date.isoformat(),
            }
        ),
        "batch_id": batch_id,
        "lease_until": lease_until,
        "requested_by": requested_by,
    }


INSERT_CHECK = text(
    "INSERT INTO checks (id, patient_id, payer_id, provider_npi, service_type_codes, date_of_service, "
    "member_hint, cache_key, request_enc, batch_id, lease_until, requested_by) VALUES (:id, :patient_id, "
    ":payer_id, :provider_npi, CAST(:service_type_codes AS jsonb), :date_of_service, :member_hint, "
    ":cache_key, :request_enc, :batch_id, :lease_until, :requested_by)"
)


def check_out(row: Any) -> CheckOut:
    result = row["result"] or {}
    if isinstance(result, str):
        result = json.loads(result)
    error = row["error"]
    if isinstance(error, str):
        error = json.loads(error)
    stcs = row["service_type_codes"]
    if isinstance(stcs, str):
        stcs = json.loads(stcs)
    links = {"self": f"/v1/eligibility/checks/{row['id']}"}
    if row["state"] != "pending":
        links["x12"] = f"/v1/eligibility/checks/{row['id']}/x12"
    return CheckOut(
        id=row["id"],
        state=row["state"],
        status=row["status"],
        patient_id=row["patient_id"],
        payer_id=row["payer_id"],
        member_hint=row["member_hint"],
        date_of_service=row["date_of_service"],
        service_type_codes=stcs,
        plan_name=result.get("plan_name"),
        group_number=result.get("group_number"),
        coverage_start=result.get("coverage_start"),
        coverage_end=result.get("coverage_end"),
        benefits=result.get("benefits", []),
        other_payers=result.get("other_payers", []),
        rejections=result.get("rejections", []),
        warnings=result.get("warnings", []),
        error=error,
        cached=row["cached_from"] is not None,
        batch_id=row["batch_id"],
        created_at=row["created_at"],
        completed_at=row["completed_at"],
        links=links,
    )


_BY_ID = text(f"SELECT {CHECK_COLUMNS} FROM checks WHERE id = :id")  # noqa: S608 - constant columns
_LATEST = text(
    f"SELECT {CHECK_COLUMNS} FROM checks WHERE patient_id = :p AND state = 'done' "  # noqa: S608
    "AND status IN ('active', 'inactive') AND (CAST(:payer AS text) IS NULL OR payer_id = :payer) "
    "ORDER BY completed_at DESC LIMIT 1"
)


async def load_check(session: AsyncSession, check_id: uuid.UUID) -> Any:
    return (await session.execute(_BY_ID, {"id": check_id})).mappings().one_or_none()


def unknown_payer(rt: Runtime, payer_id: str, field: str) -> None:
    if payer_id not in rt.payers.payers:
        raise invalid(
            (field, "unknown_payer", "No payer with this id is configured."),
            detail="1 field(s) broke a rule; see `errors`.",
        )


_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait=(\d+(?:\.\d+)?)")


def request_budget(rt: Runtime, prefer: str | None) -> float:
    """Seconds to wait for the payer before answering 202: RFC 7240 `Prefer: wait=N` or
    `respond-async` (0), else the configured budget; never more than the maximum."""
    budget = rt.settings.request_budget_seconds
    if prefer:
        if "respond-async" in prefer:
            budget = 0.0
        match = _PREFER_WAIT.search(prefer)
        if match:
            budget = float(match.group(1))
    return min(budget, rt.settings.max_request_budget_seconds)


def failure_problem(failure: PayerFailure, check_id: uuid.UUID) -> ProblemError:
    location = {"Location": f"/v1/eligibility/checks/{check_id}"}
    if isinstance(failure, PayerTimeout):
        return ProblemError(
            504,
            "payer-timeout",
            "The payer did not answer in time",
            f"{failure.detail} The check can be retried.",
            retryable=True,
            headers=location,
        )
    if isinstance(failure, BreakerOpen):
        retry_after = max(1, int(failure.retry_after or 1))
        return ProblemError(
            503,
            "payer-circuit-open",
            "The payer is unavailable",
            f"{failure.detail} The check can be retried after {retry_after} s.",
            retryable=True,
            headers={**location, "Retry-After": str(retry_after)},
        )
    return ProblemError(
        502,
        failure.code,
        "The payer gave no usable answer",
        failure.detail + (" The check can be retried." if failure.retryable else ""),
        retryable=failure.retryable,
        headers=location,
    )


# --- routes ------------------------------------------------------------------------------

router = APIRouter(prefix="/v1", tags=["eligibility"])

CheckId = Annotated[uuid.UUID, Path(description="Check id.")]
PatientId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:\-]{1,64}$", description="Patient id.")]


@router.post(
    "/eligibility/checks",
    response_model=CheckOut,
    summary="Check a patient's coverage with the payer (X12 270/271)",
    responses={
        202: {"model": CheckOut, "description": "Slower than the request budget: poll the Location."},
        502: {"model": Problem, "description": "The payer answered with an error."},
        503: {"model": Problem, "description": "The payer's circuit breaker is open; retry later."},
        504: {"model": Problem, "description": "The payer timed out; the check can be retried."},
    },
    description="Answers 200 with the coverage when the payer answers within the request budget "
    "(`Prefer: wait=N` sets it, `Prefer: respond-async` answers 202 at once), else 202 with a "
    "`Location` to poll. A repeat check for the same member, payer, service types and date "
    "inside the payer's cache TTL is answered from the last answer without calling the payer "
    "(`Cache-Control: no-cache` asks the payer anyway).",
)
async def create_check(
    request: Request,
    body: CheckIn,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("eligibility_check", "create", require_scopes("eligibility:write"))],
    prefer: Annotated[str | None, Header()] = None,
    cache_control: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    rt = runtime(request.app)
    trail.patient_id = body.patient_id
    unknown_payer(rt, body.payer_id, "body.payer_id")
    config = rt.payers.config(body.payer_id)
    lease = datetime.now(UTC) + timedelta(seconds=config.timeout_seconds + rt.settings.lease_seconds)
    row = new_row(rt, body, trail.actor, lease_until=lease)
    use_cache = "no-cache" not in (cache_control or "")
    async with session.begin():
        await session.execute(INSERT_CHECK, row)
        loaded = await load_for_run(session, rt, row["id"], use_cache=use_cache)  # same round trip set
    check_id = row["id"]
    trail.resource_id = str(check_id)
    db: Database = request.app.state.db
    task = asyncio.create_task(run_owned(db, rt, check_id, use_cache=use_cache, loaded=loaded))
    rt.tasks.add(task)
    task.add_done_callback(rt.tasks.discard)
    done, _ = await asyncio.wait({task}, timeout=request_budget(rt, prefer))
    location = f"/v1/eligibility/checks/{check_id}"
    if not done:
        async with db.session() as fresh:
            pending = check_out(await load_check(fresh, check_id))
        return JSONResponse(
            pending.model_dump(mode="json"),
            status_code=status.HTTP_202_ACCEPTED,
            headers={"Location": location, "Retry-After": "1"},
        )
    failure, finished = task.result()
    if failure is not None:
        raise failure_problem(failure, check_id)
    if finished is None:  # finished elsewhere meanwhile (another replica took the lease over)
        async with db.session() as fresh:
            finished = await load_check(fresh, check_id)
    out = check_out(finished)
    return JSONResponse(out.model_dump(mode="json"), headers={"Location": location})


@router.get("/eligibility/checks/{check_id}", response_model=CheckOut, summary="One coverage check")
async def get_check(
    check_id: CheckId,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("eligibility_check", "read", require_scopes("eligibility:read"))],
) -> CheckOut:
    trail.resource_id = str(check_id)
    row = await load_check(session, check_id)
    if row is None:
        raise ProblemError(404, "not-found", "Check not found", "No coverage check with this id.")
    trail.patient_id = row["patient_id"]
    return check_out(row)


@router.get(
    "/patients/{patient_id}/coverage",
    response_model=CheckOut,
    summary="The patient's latest verified coverage",
    description="The newest completed check whose payer answered active or inactive "
    "(optionally for one payer).",
)
async def get_coverage(
    patient_id: PatientId,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("coverage", "read", require_scopes("eligibility:read"))],
    payer_id: str | None = None,
) -> CheckOut:
    trail.patient_id = trail.resource_id = patient_id
    row = (await session.execute(_LATEST, {"p": patient_id, "payer": payer_id})).mappings().one_or_none()
    if row is None:
        raise ProblemError(
            404, "not-found", "No verified coverage", "No completed coverage check for this patient."
        )
    return check_out(row)


class RawX12(BaseModel):
    check_id: uuid.UUID
    source_check_id: uuid.UUID = Field(
        description="The check that called the payer (differs for cache hits)."
    )
    x12_270: str
    x12_271: str | None


@router.get(
    "/eligibility/checks/{check_id}/x12",
    response_model=RawX12,
    summary="The raw 270 sent and 271 received (PHI; needs eligibility:x12, audited)",
    responses={200: {"content": {"text/plain": {}}}},
)
async def get_raw_x12(
    request: Request,
    check_id: CheckId,
    session: SessionDep,
    trail: Annotated[AuditTrail, audited("raw_x12", "read", require_scopes(X12_SCOPE))],
) -> Any:
    trail.resource_id = str(check_id)
    row = (
        (
            await session.execute(
                text("SELECT patient_id, cached_from FROM checks WHERE id = :id"), {"id": check_id}
            )
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise ProblemError(404, "not-found", "Check not found", "No coverage check with this id.")
    trail.patient_id = row["patient_id"]
    source = row["cached_from"] or check_id
    raw = (
        (
            await session.execute(
                text("SELECT x12_270, x12_271 FROM raw_x12 WHERE check_id = :id"), {"id": source}
            )
        )
        .mappings()
        .one_or_none()
    )
    if raw is None:
        raise ProblemError(404, "not-found", "No raw X12", "This check has not called a payer (yet).")
    vault = runtime(request.app).vault
    out = RawX12(
        check_id=check_id,
        source_check_id=source,
        x12_270=vault.open(raw["x12_270"]),
        x12_271=vault.open(raw["x12_271"]) if raw["x12_271"] is not None else None,
    )
    if "text/plain" in request.headers.get("accept", ""):
        return PlainTextResponse(out.x12_270 + "\n" + (out.x12_271 or ""))
    return out
