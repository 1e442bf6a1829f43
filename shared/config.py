"""Settings from the environment (pydantic-settings), one class for every service.

The same variable names are used by the local setup (deploy/infra.py) and by
docker-compose.yml, so a service behaves the same wherever it runs.
"""

from __future__ import annotations

import os
from functools import lru_cache
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_DATABASE_URL = "postgresql://revcycle:revcycle@127.0.0.1:55432/revcycle"
LOCAL_KAFKA = "127.0.0.1:9092"
DEV_JWT_SECRET = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105 - documented dev default

SERVICE_NAMES = ("eligibility", "claims", "payments", "notifications")


class Settings(BaseSettings):
    """Runtime configuration of one service process."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # Admin URL of the PostgreSQL server: used by migrations, and as the place to find the
    # server when SERVICE_DATABASE_URL is not given.
    database_url: str = LOCAL_DATABASE_URL
    # The service's own least-privilege connection. Derived from database_url when unset.
    service_database_url: str | None = None
    service_db_password: str | None = None
    # The request pool of each service process (docs/operations.md, "Database connections"):
    # DB_POOL_SIZE kept open, up to DB_MAX_OVERFLOW more under load, and a request that finds
    # none free waits DB_POOL_TIMEOUT_SECONDS before it fails. A request holds one connection.
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)

    kafka_bootstrap_servers: str = LOCAL_KAFKA
    # Prepended to each service's consumer group (the group is the service name), so a test
    # run or a second environment on one broker keeps its own offsets.
    consumer_group_prefix: str = ""
    # The partners' public signing keys, `<dir>/<partner>/<key id>.pub` (shared.events.signing,
    # docs/partners.md). A service refuses to start when a partner whose events it consumes has
    # no key here: there is no unsigned mode (`make up` and the tests make development keys).
    partner_keys_dir: str | None = None

    jwt_secret: str = DEV_JWT_SECRET
    jwt_algorithms: str = "HS256"
    jwt_issuer: str = "revcycle-dev"
    jwt_audience: str = "revcycle"
    # When set, RS256 tokens are verified with keys from this JWKS endpoint.
    jwt_jwks_url: str | None = None

    log_level: str = "INFO"

    outbox_batch_size: int = Field(default=1000, ge=1)
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    consumer_batch_size: int = Field(default=1000, ge=1)
    consumer_max_attempts: int = Field(default=3, ge=1)
    consumer_retry_base_seconds: float = Field(default=0.2, ge=0)
    # A consumer paused by a dependency outage tries again after 0.5 s, doubling up to this.
    consumer_pause_max_seconds: float = Field(default=10.0, gt=0)
    health_timeout_seconds: float = Field(default=2.0, gt=0)
    # Stuck work (shared.stuckwork): how often the probes run (readiness, /metrics and the ops
    # overview show the last round), and per-queue warn thresholds overriding the probes'
    # defaults, e.g. STUCK_WORK_THRESHOLDS='{"payments:unmatched": {"warn_count": 20,
    # "warn_age_seconds": 3600}}' (null: that measure alone never warns).
    stuck_work_every_seconds: float = Field(default=30.0, gt=0)
    stuck_work_thresholds: dict[str, dict[str, float | None]] = Field(default_factory=dict)


@lru_cache
def get_settings() -> Settings:
    """Settings are read once per process; tests build their own Settings objects."""
    return Settings()


def role_name(service: str) -> str:
    """The PostgreSQL login role a service runs as; it can use only its own schema."""
    return f"{service}_svc"


def role_password(service: str, settings: Settings) -> str:
    """A role's password: `<SERVICE>_DB_PASSWORD` (e.g. CLAIMS_DB_PASSWORD, which migrate and
    that service both read), else SERVICE_DB_PASSWORD, else a development default."""
    return (
        os.environ.get(f"{service.upper()}_DB_PASSWORD")
        or settings.service_db_password
        or f"{service}-dev-password"
    )


def service_database_url(service: str, settings: Settings) -> str:
    """The service's own connection URL: same server as DATABASE_URL, the service's role."""
    if settings.service_database_url:
        return settings.service_database_url
    return with_credentials(settings.database_url, role_name(service), role_password(service, settings))


def with_credentials(url: str, user: str, password: str) -> str:
    """Swap the user and password of a postgres URL, keeping host, port and database."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(user)}:{quote(password)}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def asyncpg_dsn(url: str) -> str:
    """asyncpg wants plain postgresql://; SQLAlchemy wants postgresql+asyncpg://."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy async URL of a postgres URL."""
    return "postgresql+asyncpg://" + asyncpg_dsn(url)[len("postgresql://") :]
