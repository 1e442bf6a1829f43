"""Coverage check routes: ask now (answer within the request budget, else 202 and poll), read
one, the patient's latest verified coverage, and the raw 270/271 behind a check."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, status
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import RowMapping

from services.eligibility.checks import usecases
from services.eligibility.checks.domain import request_budget
from services.eligibility.checks.schemas import CheckOut, CheckRequest, RawX12, RegistryCheckIn
from services.eligibility.checks.usecases import CheckRuntime
from services.eligibility.payers.domain import BreakerOpen, PayerFailure, PayerTimeout
from services.eligibility.payers.usecases import require_known
from services.eligibility.registry.usecases import check_from_registry
from shared.audit import AuditTrail, audited
from shared.auth import require_scopes
from shared.db import SessionDep
from shared.problems import Problem, ProblemError

X12_SCOPE = "eligibility:x12"

router = APIRouter(prefix="/v1", tags=["eligibility"])

CreateCheck = Annotated[
    AuditTrail, audited("eligibility_check", "create", require_scopes("eligibility:write"))
]
ReadCheck = Annotated[AuditTrail, audited("eligibility_check", "read", require_scopes("eligibility:read"))]
ReadCoverage = Annotated[AuditTrail, audited("coverage", "read", require_scopes("eligibility:read"))]
ReadRawX12 = Annotated[AuditTrail, audited("raw_x12", "read", require_scopes(X12_SCOPE))]

CheckId = Annotated[uuid.UUID, Path(description="Check id.")]
PatientId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:\-]{1,64}$", description="Patient id.")]


Runtime = Annotated[CheckRuntime, Depends(usecases.request_runtime)]


async def _load_or_404(check_id: uuid.UUID, session: SessionDep, trail: AuditTrail) -> RowMapping:
    trail.resource_id = str(check_id)
    row = await usecases.load_check(session, check_id)
    if row is None:
        raise ProblemError(404, "not-found", "Check not found", "No coverage check with this id.")
    trail.patient_id = row["patient_id"]
    return row


async def get_current_check(check_id: CheckId, session: SessionDep, trail: ReadCheck) -> RowMapping:
    """The check in the path, read under the `eligibility_check` audit entry; 404 if none."""
    return await _load_or_404(check_id, session, trail)


async def get_raw_check(check_id: CheckId, session: SessionDep, trail: ReadRawX12) -> RowMapping:
    """The check in the path, read under the `raw_x12` audit entry; 404 if none."""
    return await _load_or_404(check_id, session, trail)


CurrentCheck = Annotated[RowMapping, Depends(get_current_check)]
RawCheck = Annotated[RowMapping, Depends(get_raw_check)]


def failure_problem(failure: PayerFailure, check_id: uuid.UUID) -> ProblemError:
    """A payer failure as the answer to the request that waited for it."""
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
    "(`Cache-Control: no-cache` asks the payer anyway).\n\n"
    "With only `patient_id` and `date_of_service` (optionally `service_type_codes`, "
    "`coverage_order`, `provider_npi`) the check is run from the registry: the coverage in force "
    "on that date gives the payer, the member id and who to ask about (the patient as subscriber, "
    "or as a dependent of the subscriber on file), and a 271 that disagrees with the registry "
    "publishes eligibility.discrepancy_found. A patient without such a coverage is a 422 naming "
    "`body.patient_id` with the rule `no_registered_coverage`.",
)
async def create_check(
    request: Request,
    body: CheckRequest,
    session: SessionDep,
    trail: CreateCheck,
    rt: Runtime,
    prefer: Annotated[str | None, Header()] = None,
    cache_control: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    trail.patient_id = body.patient_id
    registry = None
    if isinstance(body, RegistryCheckIn):  # the registry's coverage names the payer
        body, registry = await check_from_registry(session, rt.vault, body, rt.settings.provider_npi)
        require_known(rt.payers, body.payer_id, "body.patient_id")
    else:
        require_known(rt.payers, body.payer_id, "body.payer_id")
    submitted = await usecases.submit_check(
        session,
        request.app.state.db,
        rt,
        body,
        trail.actor,
        use_cache="no-cache" not in (cache_control or ""),
        budget=request_budget(rt.settings, prefer),
        registry=registry,
    )
    trail.resource_id = str(submitted.check_id)
    location = f"/v1/eligibility/checks/{submitted.check_id}"
    if submitted.failure is not None:
        raise failure_problem(submitted.failure, submitted.check_id)
    out = usecases.check_out(submitted.row, rt.vault).model_dump(mode="json")
    if submitted.pending:
        return JSONResponse(
            out, status_code=status.HTTP_202_ACCEPTED, headers={"Location": location, "Retry-After": "1"}
        )
    return JSONResponse(out, headers={"Location": location})


@router.get("/eligibility/checks/{check_id}", response_model=CheckOut, summary="One coverage check")
async def get_check(check: CurrentCheck, rt: Runtime) -> CheckOut:
    return usecases.check_out(check, rt.vault)


@router.get(
    "/patients/{patient_id}/coverage",
    response_model=CheckOut,
    summary="The patient's latest verified coverage",
    description="The newest completed check whose payer answered active or inactive "
    "(optionally for one payer).",
)
async def get_coverage(
    patient_id: PatientId, session: SessionDep, trail: ReadCoverage, rt: Runtime, payer_id: str | None = None
) -> CheckOut:
    trail.patient_id = trail.resource_id = patient_id
    coverage = await usecases.latest_coverage(session, rt.vault, patient_id, payer_id)
    if coverage is None:
        raise ProblemError(
            404, "not-found", "No verified coverage", "No completed coverage check for this patient."
        )
    return coverage


@router.get(
    "/eligibility/checks/{check_id}/x12",
    response_model=RawX12,
    summary="The raw 270 sent and 271 received (PHI; needs eligibility:x12, audited)",
    responses={200: {"content": {"text/plain": {}}}},
)
async def get_raw_x12(request: Request, check: RawCheck, session: SessionDep, rt: Runtime) -> Any:
    out = await usecases.raw_x12(session, rt.vault, check["id"], check["cached_from"])
    if out is None:
        raise ProblemError(404, "not-found", "No raw X12", "This check has not called a payer (yet).")
    if "text/plain" in request.headers.get("accept", ""):
        return PlainTextResponse(out.x12_270 + "\n" + (out.x12_271 or ""))
    return out
