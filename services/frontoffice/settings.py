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


def frontoffice_settings(app: Any) -> FrontofficeSettings:
    """Read once per app (tests set FRONTOFFICE_* or put their own on app.state before a start)."""
    settings = getattr(app.state, "frontoffice_settings", None)
    if settings is None:
        settings = FrontofficeSettings()
        app.state.frontoffice_settings = settings
    return settings
