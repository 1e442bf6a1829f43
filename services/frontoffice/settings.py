"""Settings of the front office service only (environment prefix FRONTOFFICE_).

The shared `Settings` hold what every service needs; what only the front office tunes (its
workers' pace, its service levels' defaults) lives here as the sub-domains arrive.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FrontofficeSettings(BaseSettings):
    """The front office's own knobs."""

    model_config = SettingsConfigDict(env_prefix="FRONTOFFICE_", env_file=None, extra="ignore")

    # How often its background workers look for due work (service-level breaches and the like).
    tick_seconds: float = Field(default=1.0, gt=0)

    # Who answers for a ticket past its service level (tickets: servicelevels). Staff recipient
    # ids as the notifications directory knows them: one per category, the default for the
    # rest, and the senior contact a ticket reaches at level 2.
    escalation_contact: str = Field(default="billing-manager", min_length=1, max_length=128)
    escalation_contacts: dict[str, str] = Field(default_factory=dict)
    senior_escalation_contact: str = Field(default="practice-manager", min_length=1, max_length=128)
    # How many breached tickets one worker round takes (SKIP LOCKED: replicas share them).
    breach_batch: int = Field(default=100, ge=1, le=10_000)


def frontoffice_settings(app: Any) -> FrontofficeSettings:
    """Read once per app (tests set FRONTOFFICE_* or put their own on app.state before a start)."""
    settings = getattr(app.state, "frontoffice_settings", None)
    if settings is None:
        settings = FrontofficeSettings()
        app.state.frontoffice_settings = settings
    return settings
