"""Settings of the ops console only (environment prefix OPS_).

Where the six services answer, and how long the console waits for each. The defaults are the
local ports `make up` uses; docker compose and production name the services' addresses. There is
no service credential here on purpose: the console forwards the operator's own token, so every
service checks that operator's scopes and writes that operator into its audit trail.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OpsSettings(BaseSettings):
    """The services the console watches, and its patience with each."""

    model_config = SettingsConfigDict(env_prefix="OPS_", env_file=None, extra="ignore")

    eligibility_url: str = "http://127.0.0.1:8001"
    claims_url: str = "http://127.0.0.1:8002"
    payments_url: str = "http://127.0.0.1:8003"
    notifications_url: str = "http://127.0.0.1:8004"
    gateway_url: str = "http://127.0.0.1:8006"
    frontoffice_url: str = "http://127.0.0.1:8007"
    # Per call to one service: a service that does not answer in time is shown as down, and
    # the page still shows the others.
    timeout_seconds: float = Field(default=3.0, gt=0)
    # Dead letters listed per service (newest first, any state).
    dead_letter_limit: int = Field(default=50, ge=1, le=500)

    def services(self) -> dict[str, str]:
        """Service name -> base URL, in the order the page shows them."""
        return {
            "eligibility": self.eligibility_url.rstrip("/"),
            "claims": self.claims_url.rstrip("/"),
            "payments": self.payments_url.rstrip("/"),
            "notifications": self.notifications_url.rstrip("/"),
            "gateway": self.gateway_url.rstrip("/"),
            "frontoffice": self.frontoffice_url.rstrip("/"),
        }


def ops_settings(app: Any) -> OpsSettings:
    """Read once per app (a test puts its own on app.state before the app starts)."""
    settings = getattr(app.state, "ops_settings", None)
    if settings is None:
        settings = OpsSettings()
        app.state.ops_settings = settings
    return settings
