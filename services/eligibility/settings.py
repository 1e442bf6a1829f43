"""Settings of the eligibility service (environment variables prefixed ELIGIBILITY_).

The backbone's settings (database, Kafka, tokens) stay in shared.config; these are the
knobs only this service has: where payers are, how long a request may wait, the key that
encrypts raw X12 at rest, and the thresholds of the background workers.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path(__file__).parent / "data"
# Development key only: it is public, so it works in development mode only (secret_problems);
# set ELIGIBILITY_X12_KEYS in production.
DEV_X12_KEY = "ZGV2LW9ubHktZWxpZ2liaWxpdHkteDEyLWtleS0wMDA="


class EligibilitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ELIGIBILITY_", env_file=None, extra="ignore")

    # The payer connectivity table (data/payers.json), and a JSON object of per-payer
    # overrides merged over it, e.g. {"SBX001": {"endpoint": "http://...", "timeout_seconds": 3}}.
    payers_file: Path = DATA_DIR / "payers.json"
    payers_override: str | None = None
    fee_schedule_file: Path = DATA_DIR / "fee_schedule.json"
    # The payers' outpatient facility rates per revenue code / HCPCS (outpatient estimates).
    outpatient_rates_file: Path = DATA_DIR / "outpatient_rates.json"

    # How long POST /v1/eligibility/checks waits for the payer before answering 202 with a
    # link to poll. A `Prefer: wait=N` request header lowers or raises it (up to the max).
    request_budget_seconds: float = Field(default=10.0, gt=0)
    max_request_budget_seconds: float = Field(default=60.0, gt=0)

    # Fernet keys (comma-separated, newest first) that encrypt raw 270/271 and request PHI.
    x12_keys: str = DEV_X12_KEY

    # Interchange sender id in the 270's ISA/GS, and the provider name in loop 2100B.
    sender_id: str = "REVCYCLE"
    provider_name: str = "REVCYCLE CLINIC"
    # The provider NPI a check run from the registry asks for (2100B NM109) when its request
    # names none: a patient id and a date are all the front desk has to give.
    provider_npi: str | None = Field(default=None, pattern=r"^[0-9]{10}$")

    # Background checks (batches, and checks whose request stopped waiting): a worker claims
    # up to `worker_claim` rows at a time and holds each for `lease_seconds`; a row whose
    # lease ran out (its process died) is claimed again.
    worker_claim: int = Field(default=100, ge=1)
    worker_concurrency: int = Field(default=32, ge=1)
    lease_seconds: float = Field(default=60.0, gt=0)
    worker_interval_seconds: float = Field(default=0.2, gt=0)
    # At most batches.schemas.MAX_BATCH_SIZE (5000), the cap the API document shows.
    max_batch_size: int = Field(default=5000, ge=1, le=5000)

    # authorization.expiring: this many days before the end date, or when this few visits remain.
    authorization_expiring_days: int = Field(default=14, ge=0)
    authorization_visits_threshold: int = Field(default=2, ge=0)
    authorization_interval_seconds: float = Field(default=30.0, gt=0)


def secret_problems(dev_mode: bool) -> list[str]:
    """ServiceDefinition.secret_problems: outside development mode the PHI at rest must be
    sealed with configured Fernet keys, never the repository's development key."""
    if dev_mode:
        return []
    settings = EligibilitySettings()
    keys = [k.strip() for k in settings.x12_keys.split(",") if k.strip()]
    if "x12_keys" not in settings.model_fields_set or not keys:
        return [
            "ELIGIBILITY_X12_KEYS is not set: the Fernet keys that encrypt raw X12 and request PHI (make one:"
            " `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
        ]
    if DEV_X12_KEY in keys:
        return ["ELIGIBILITY_X12_KEYS holds the development key published in the repository"]
    return []


@lru_cache
def get_eligibility_settings() -> EligibilitySettings:
    return EligibilitySettings()


def app_settings(app: FastAPI) -> EligibilitySettings:
    """The settings an app runs with: the service's lifespan puts them on the app (tests set
    `app.state.eligibility_settings` before it starts, to run with their own)."""
    return app.state.eligibility_settings
