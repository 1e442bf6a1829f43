"""Payer connectivity as configuration, and the ways a payer call can fail.

Per payer (data/payers.json, overridable by ELIGIBILITY_PAYERS_OVERRIDE): the endpoint, a
total timeout budget and a per-attempt timeout, retries with exponential backoff and full
jitter for transient failures only (connection errors, timeouts, HTTP 429/5xx and the AAA
42 "unable to respond now" answer), a circuit breaker, a rate limit and a cache TTL.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PayerConfig(BaseModel):
    """How to reach one payer."""

    model_config = ConfigDict(extra="forbid")

    name: str
    endpoint: str
    timeout_seconds: float = Field(
        default=8.0, gt=0, description="Budget for the whole call, retries included."
    )
    attempt_timeout_seconds: float = Field(default=5.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    backoff_base_seconds: float = Field(default=0.2, ge=0)
    backoff_max_seconds: float = Field(default=2.0, ge=0)
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_reset_seconds: float = Field(default=30.0, gt=0)
    rate_limit_per_second: float = Field(default=50.0, gt=0)
    rate_limit_burst: int = Field(default=10, ge=1)
    cache_ttl_seconds: float = Field(default=900, ge=0)


# --- failures ----------------------------------------------------------------------------


class PayerFailure(Exception):
    """The payer gave no usable answer. `retryable` says whether the same check may work later."""

    code = "payer-error"
    retryable = True

    def __init__(self, payer_id: str, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.payer_id = payer_id
        self.detail = detail
        self.retry_after = retry_after


class PayerTimeout(PayerFailure):
    code = "payer-timeout"


class BreakerOpen(PayerFailure):
    code = "payer-circuit-open"


class PayerBadGateway(PayerFailure):
    """The payer answered with an HTTP error or something that is not a 271."""

    code = "payer-bad-gateway"


class PayerRejectedRequest(PayerFailure):
    """HTTP 4xx other than 408/429: sending the same request again will not help."""

    code = "payer-rejected-request"
    retryable = False


class TransientReply(Exception):
    """Raised by a reply parser for an answer that says "try again later" (AAA 42). The reply
    is kept, so the last one can be returned when the retries run out."""

    def __init__(self, result: object) -> None:
        super().__init__("transient reply")
        self.result = result


# HTTP answers that mean "try again later" (the payer or a proxy is overloaded or down).
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
