"""No secret has a working default outside development mode: what a service checks at start.

Why: a service that falls back to a key published in the repository, or accepts an empty or
short one, lets anyone who reads the code sign tokens, open the PHI it encrypted or log in as
its database role. So `create_app` calls `refuse_unsafe` before it builds anything, and a
service with such a setting exits non-zero, naming each problem (RefusedToStart).

Development mode (REVCYCLE_ENV=development: `make up`, the demo, the tests, docker compose) is
the one place development keys work. Outside it: a token key must be configured (a JWKS URL or
an HS256 secret of at least 32 bytes), JWT_ISSUER must be set and not the development issuer,
the database role's password must be set, and each service's own secrets must be (its
ServiceDefinition.secret_problems). A published, empty or short JWT_SECRET, `none` or mixed
HMAC/public-key algorithms are refused in every mode.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.request import url2pathname

from shared.config import Settings, UnsafeSetting, role_password
from shared.issuer import DEV_ISSUER, DEV_KID_PREFIX, DevIssuer

# Secrets once shipped in the repository: public, so never a key, whatever the mode.
PUBLISHED_JWT_SECRETS = frozenset({"dev-only-secret-change-me-0123456789abcdef"})
MIN_HMAC_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash output
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
PUBLIC_KEY_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
HINT = (
    "Development keys and defaults work only with REVCYCLE_ENV=development (`make up`, the demo "
    "and the tests set it); in production configure each setting named above (docs/security.md)."
)

# A service's own secret check: given whether development mode is on, the problems found.
SecretProblems = Callable[[bool], list[str]]


class RefusedToStart(SystemExit):
    """Exits the process with the message (status 1): raised while the app module is imported,
    so uvicorn, docker and supervisord see a failed start and the reason in its log."""

    def __init__(self, service: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{service} refuses to start:\n{lines}\n{HINT}")


@dataclass(frozen=True)
class TokenKeys:
    """How tokens are verified, resolved from the settings: one JWKS URL or one secret."""

    jwks_url: str | None
    secret: str | None
    algorithms: tuple[str, ...]
    issuer: str
    audience: str
    development: bool  # the local development issuer's JWKS (shared.issuer)


def token_keys(settings: Settings) -> TokenKeys:
    """The verification keys: the configured JWKS or secret; in development mode with neither,
    the local issuer's JWKS file. Algorithms default to what the key kind allows."""
    url, secret = settings.jwt_jwks_url or None, settings.jwt_secret
    dev_jwks = DevIssuer(settings.dev_issuer_dir).jwks_url
    if url is None and secret is None and settings.dev_mode:
        url = dev_jwks
    default = "HS256" if secret is not None and url is None else "RS256"
    algorithms = tuple(a.strip() for a in (settings.jwt_algorithms or default).split(",") if a.strip())
    issuer = settings.jwt_issuer or (DEV_ISSUER if settings.dev_mode else "")
    return TokenKeys(url, secret, algorithms, issuer, settings.jwt_audience, url == dev_jwks)


def jwt_problems(settings: Settings) -> list[str]:
    """What is wrong with the token settings (empty when nothing is)."""
    keys = token_keys(settings)
    problems = _secret_problems(keys.secret)
    if keys.secret is not None and keys.jwks_url:
        problems.append("both JWT_SECRET and JWT_JWKS_URL are set: configure one way to verify tokens")
    elif keys.secret is None and not keys.jwks_url:
        problems.append(
            "no token key is configured: set JWT_JWKS_URL to your identity provider's JWKS "
            f"(RS256/ES256), or JWT_SECRET to at least {MIN_HMAC_BYTES} random bytes (HS256)"
        )
    problems += _algorithm_problems(keys)
    if not settings.dev_mode:
        if not settings.jwt_issuer:
            problems.append("JWT_ISSUER is not set: the `iss` your identity provider writes in its tokens")
        elif settings.jwt_issuer == DEV_ISSUER:
            problems.append(f"JWT_ISSUER is {DEV_ISSUER!r}, the development issuer (`make token`)")
        if keys.jwks_url and _holds_development_keys(keys.jwks_url):
            problems.append(f"JWT_JWKS_URL holds the development issuer's keys (kid {DEV_KID_PREFIX}...)")
    return problems


def _secret_problems(secret: str | None) -> list[str]:
    if secret is None:
        return []
    if not secret.strip():
        return ["JWT_SECRET is empty"]
    if secret in PUBLISHED_JWT_SECRETS:
        return [
            "JWT_SECRET is the development key published in the repository: anyone can sign tokens with it"
        ]
    size = len(secret.encode())
    if size < MIN_HMAC_BYTES:
        return [
            f"JWT_SECRET has {size} bytes; an HS256 key needs at least {MIN_HMAC_BYTES} random bytes "
            "(e.g. `openssl rand -base64 48`)"
        ]
    return []


def _algorithm_problems(keys: TokenKeys) -> list[str]:
    """`none` never; HMAC only with a secret and public-key algorithms only with a JWKS, so a
    token signed HS256 with a public key as its secret is never checked against that key."""
    names = set(keys.algorithms)
    if not names:
        return ["JWT_ALGORITHMS is empty"]
    if any(a.lower() == "none" for a in names):
        return ["JWT_ALGORITHMS names 'none': unsigned tokens are never accepted"]
    allowed = HMAC_ALGORITHMS if keys.secret is not None and not keys.jwks_url else PUBLIC_KEY_ALGORITHMS
    wrong = sorted(names - allowed)
    if not wrong:
        return []
    kind = "JWT_SECRET (HMAC)" if allowed is HMAC_ALGORITHMS else "a JWKS (public keys)"
    return [f"JWT_ALGORITHMS names {', '.join(wrong)}, which {kind} cannot verify safely"]


def _holds_development_keys(url: str) -> bool:
    """Whether a file:// JWKS holds a key of the development issuer (its kids are marked)."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        return False
    try:
        with open(url2pathname(parts.path)) as handle:
            keys = json.load(handle).get("keys", [])
    except (OSError, ValueError, AttributeError):
        return False  # unreadable: the verifier reports it per request; not a development key
    return any(str(k.get("kid", "")).startswith(DEV_KID_PREFIX) for k in keys if isinstance(k, dict))


def database_problems(service: str, settings: Settings) -> list[str]:
    """The service's database login: its own URL, or DATABASE_URL plus its role's password."""
    if settings.dev_mode or settings.service_database_url:
        return []
    problems = []
    if "database_url" not in settings.model_fields_set:
        problems.append(
            "DATABASE_URL (or SERVICE_DATABASE_URL) is not set: the default is the development server"
        )
    try:
        role_password(service, settings)
    except UnsafeSetting as exc:
        problems.append(str(exc))
    return problems


def refuse_unsafe(
    service: str, settings: Settings, *, database: bool = True, own: SecretProblems | None = None
) -> None:
    """Raise RefusedToStart naming every problem of the service's settings, if any."""
    problems = jwt_problems(settings)
    if database:
        problems += database_problems(service, settings)
    if own is not None:
        problems += own(settings.dev_mode)
    if problems:
        raise RefusedToStart(service, problems)
