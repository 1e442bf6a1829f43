"""Settings from the environment (pydantic-settings), one class for every service.

The same variable names are used by the local setup (deploy/infra.py) and by
docker-compose.yml, so a service behaves the same wherever it runs.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_DATABASE_URL = "postgresql://revcycle:revcycle@127.0.0.1:55432/revcycle"
LOCAL_KAFKA = "127.0.0.1:9092"
# REVCYCLE_ENV's one value that allows development keys and defaults (shared.secret_checks).
DEVELOPMENT = "development"

SERVICE_NAMES = ("eligibility", "claims", "payments", "notifications", "gateway", "frontoffice")


class UnsafeSetting(ValueError):
    """A secret is missing or is a development value outside development mode."""


class Settings(BaseSettings):
    """Runtime configuration of one service process."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # REVCYCLE_ENV=development (set by `make up`, the demo, the tests and docker compose) is the
    # only mode where development keys and defaults work: the local token issuer under .state,
    # the `<service>-dev-password` roles, eligibility's development X12 key. Anything else
    # (unset included) is production: each secret must be configured, or the service refuses
    # to start and says which (shared.secret_checks, docs/security.md).
    revcycle_env: str = "production"

    # Admin URL of the PostgreSQL server: used by migrations, and as the place to find the
    # server when SERVICE_DATABASE_URL is not given.
    database_url: str = LOCAL_DATABASE_URL
    # The service's own least-privilege connection. Derived from database_url when unset.
    service_database_url: str | None = None
    service_db_password: str | None = None
    # TLS to PostgreSQL: `sslmode` (disable, prefer, require, verify-ca, verify-full) and
    # `sslrootcert` in DATABASE_URL / SERVICE_DATABASE_URL, as libpq takes them; this CA file
    # (DATABASE_SSL_ROOT_CERT) applies when the URL names none (shared.db.tls_of).
    database_ssl_root_cert: str | None = None
    # The request pool of each service process (docs/operations.md, "Database connections"):
    # DB_POOL_SIZE kept open, up to DB_MAX_OVERFLOW more under load, and a request that finds
    # none free waits DB_POOL_TIMEOUT_SECONDS before it fails. A request holds one connection.
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)

    kafka_bootstrap_servers: str = LOCAL_KAFKA
    # The broker authenticates every client (docs/kafka-security.md): SASL SCRAM-SHA-512 as
    # this process's own principal, over TLS (SASL_SSL, trusting KAFKA_SSL_CAFILE) or not on a
    # private network (SASL_PLAINTEXT). There is no unauthenticated mode.
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL"] = "SASL_PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_username: str | None = None
    kafka_password: str | None = None
    kafka_ssl_cafile: str | None = None
    # The dead-letter replay's own principal (shared.kafka_acl.DEADLETTERS): it reads the .dlq
    # topics and sends letters back, which the service's principal may not.
    kafka_deadletters_username: str = "deadletters"
    kafka_deadletters_password: str | None = None
    # Prepended to each service's consumer group (the group is the service name), so a test
    # run or a second environment on one broker keeps its own offsets.
    consumer_group_prefix: str = ""
    # The partners' public signing keys, `<dir>/<partner>/<key id>.pub` (shared.events.signing,
    # docs/partners.md). A service refuses to start when a partner whose events it consumes has
    # no key here: there is no unsigned mode (`make up` and the tests make development keys).
    partner_keys_dir: str | None = None

    # Tokens: an identity provider's JWKS (RS256/ES256, keys picked by `kid`), or an HS256
    # secret of at least 32 bytes; never both. In development mode with neither, the local
    # issuer's JWKS under DEV_ISSUER_DIR (shared.issuer). JWT_ALGORITHMS defaults to RS256 with
    # a JWKS and HS256 with a secret; JWT_ISSUER to the development issuer in development only.
    jwt_jwks_url: str | None = None
    jwt_secret: str | None = None
    jwt_algorithms: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str = "revcycle"
    dev_issuer_dir: str | None = None

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

    # Limits (shared/limits.py, docs/operations.md "Limits"). The largest body a route takes,
    # by the route's body class: JSON documents; a batch of items (a route that says so); a
    # file upload (an 835, a BAI2 or CSV deposit file, a fee schedule). A bigger body gets 413
    # before a byte of it is parsed.
    body_limit_json_bytes: int = Field(default=1024 * 1024, ge=1024)
    body_limit_batch_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    body_limit_file_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    # Requests per client (the token's subject, else the client address) per route class, in
    # the `limits` library's notation ("600/minute", "10/second;600/minute"): reads (GET),
    # writes (other methods) and bulk work (batches, file uploads). Over it: 429 + Retry-After.
    # Counted per process ("memory://"); RATE_LIMIT_STORAGE_URI="redis://host:6379" shares the
    # count between replicas (needs the redis client installed).
    rate_limit_enabled: bool = True
    rate_limit_read: str = "6000/minute"
    rate_limit_write: str = "3000/minute"
    rate_limit_bulk: str = "600/minute"
    rate_limit_storage_uri: str = "memory://"
    # A 422 lists at most this many broken rules, and says how many there were in all.
    max_problem_errors: int = Field(default=50, ge=1)

    @property
    def dev_mode(self) -> bool:
        """True only for REVCYCLE_ENV=development: the one place development keys may work."""
        return self.revcycle_env.strip().lower() == DEVELOPMENT


@lru_cache
def get_settings() -> Settings:
    """Settings are read once per process; tests build their own Settings objects."""
    return Settings()


def role_name(service: str) -> str:
    """The PostgreSQL login role a service runs as; it can use only its own schema."""
    return f"{service}_svc"


def role_password(service: str, settings: Settings) -> str:
    """A role's password: `<SERVICE>_DB_PASSWORD` (e.g. CLAIMS_DB_PASSWORD, which migrate and
    that service both read), else SERVICE_DB_PASSWORD. The `<service>-dev-password` default
    is in the repository, so it works in development mode only; elsewhere a missing or
    development password raises UnsafeSetting (migrate and the service refuse to go on)."""
    variable = f"{service.upper()}_DB_PASSWORD"
    development = f"{service}-dev-password"
    configured = os.environ.get(variable) or settings.service_db_password
    if settings.dev_mode:
        return configured or development
    if not configured:
        raise UnsafeSetting(f"{variable} (or SERVICE_DB_PASSWORD) is not set: the database role's password")
    if configured == development:
        raise UnsafeSetting(f"{variable} is the development password published in the repository")
    return configured


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
