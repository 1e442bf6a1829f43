"""Settings of the gateway service only (environment prefix GATEWAY_).

The trading partners (hosts, folders, names, envelope identifiers, their secrets' sources) are
a file, `GATEWAY_PARTNERS_FILE` (docs/clearinghouse.md): a clearinghouse is configured, not
coded. Secrets are never in that file, only where to find them (an environment variable or a
file), so the file can be reviewed and versioned.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Where the partners are configured, and the workers' pace."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=None, extra="ignore")

    partners_file: str | None = None
    # The inbound processing worker: files per round, and how long a taken file stays leased.
    process_batch: int = Field(default=20, ge=1)
    process_lease_seconds: float = Field(default=60.0, gt=0)
    # Largest file taken from a mailbox or an upload (a 5,000-claim 837 is about 5 MB).
    max_file_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    # The mailbox and outbound workers look at every partner this often (each partner's own
    # poll_seconds and batch_max_seconds decide whether a round does anything).
    tick_seconds: float = Field(default=1.0, gt=0)
    sftp_timeout_seconds: float = Field(default=30.0, gt=0)


def gateway_settings(app: Any) -> GatewaySettings:
    """Read once per app (tests set GATEWAY_* before they start a service)."""
    settings = getattr(app.state, "gateway_settings", None)
    if settings is None:
        settings = GatewaySettings()
        app.state.gateway_settings = settings
    return settings


def secret_problems(dev_mode: bool) -> list[str]:
    """ServiceDefinition.secret_problems: outside development mode the partners are configured
    (the partners' own secrets are checked when their file is loaded). A partners file that
    is there but wrong refuses the start in every mode, naming the field and the rule."""
    from services.gateway.partners.usecases import partners_problems

    problems = partners_problems()
    if dev_mode or GatewaySettings().partners_file:
        return problems
    return ["GATEWAY_PARTNERS_FILE is not set: the gateway has no trading partner to talk to"]
