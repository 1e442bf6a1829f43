"""OAuth2 bearer JWTs with per-service scopes.

Tokens are verified the same way everywhere: RS256 (or ES256) with the keys of an issuer's
JWKS, picked by the token's `kid`. In production JWT_JWKS_URL names the identity provider's
JWKS; in development mode (REVCYCLE_ENV=development) the local issuer under .state signs
(shared.issuer) and `make token` prints one of its tokens. HS256 with a JWT_SECRET of at least
32 bytes is the explicit alternative. What may be configured is checked at start-up
(shared.secret_checks). Scopes are `<service>:<action>`, for example `claims:read`,
`payments:write`, `ops:read`.

Run `python -m shared.auth --scopes "claims:read claims:write"` to mint a development token.
"""

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jwt
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.config import SERVICE_NAMES, Settings, get_settings
from shared.issuer import DevIssuer
from shared.problems import ProblemError
from shared.secret_checks import token_keys

# Scopes for raw PHI files, money administration and operations that change what the platform
# processes. A real issuer grants them to few people (auditors, billing managers, on-call
# operators); the development token carries them so `make token` opens every route.
# gateway:x12 reads the X12 files the gateway received (PHI). ops:replay replays or discards
# dead letters; ops:phi shows a dead letter's payload unredacted. assistance:approve is the
# second person's decision on a financial assistance application (a billing manager's).
PRIVILEGED_SCOPES: tuple[str, ...] = (
    "eligibility:x12",
    "gateway:x12",
    "assistance:approve",
    "remittances:raw",
    "payments:admin",
    "payments:approve",
    "ops:replay",
    "ops:phi",
)

# The front office (issue 19) scopes its three parts on their own, so a front desk can keep
# the patient registry without working tickets or seeing assistance applications; the billing
# staff roles hold all of them. (frontoffice:read and frontoffice:write, made above for every
# service, guard only what is the service's as a whole.)
FRONT_OFFICE_SCOPES: tuple[str, ...] = tuple(
    f"{part}:{action}" for part in ("patients", "tickets", "assistance") for action in ("read", "write")
)

ALL_SCOPES: tuple[str, ...] = (
    *(f"{svc}:{action}" for svc in SERVICE_NAMES for action in ("read", "write")),
    *FRONT_OFFICE_SCOPES,
    "ops:read",
    *PRIVILEGED_SCOPES,
)

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="OAuth2 access token (JWT). Scopes travel in the `scope` claim, space-separated.",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject and granted scopes."""

    subject: str
    scopes: frozenset[str]


class JwksClient(jwt.PyJWKClient):
    """PyJWKClient (its JWKS cache, lookup by kid, refetch on an unknown kid) that also reads a
    file:// JWKS: the local development issuer's, or keys an operator mounts. PyJWT refuses
    file:// to guard against URLs taken from tokens (`jku`); this URL comes from configuration
    only (JWT_JWKS_URL), never from a token. Everything after the fetch is PyJWT's own."""

    def __init__(self, uri: str, **options: Any) -> None:
        parts = urlsplit(uri)
        self.path = Path(url2pathname(parts.path)) if parts.scheme == "file" else None
        super().__init__("https://file.invalid/jwks.json" if self.path else uri, **options)
        self.uri = uri

    def fetch_data(self) -> Any:
        if self.path is None:
            return super().fetch_data()
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise jwt.PyJWKClientConnectionError(f"cannot read the JWKS file {self.path}: {exc}") from exc
        if not isinstance(data, dict):
            raise jwt.PyJWKClientError("The JWKS file does not hold a JSON object")
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(data)
        return data


class TokenVerifier:
    """Verifies tokens with the issuer's JWKS (RS256/ES256) or the configured HS256 secret.

    Only the configured algorithms of the configured key kind are tried, and the token's
    `alg` must be one of them before any key is fetched: `none`, and an HS256 token made with
    a public key as its secret, never verify. iss, aud, exp and sub are required."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = token_keys(settings)
        self.algorithms = list(self.keys.algorithms)
        if self.keys.development:
            DevIssuer(settings.dev_issuer_dir).ensure()  # development mode: made on first use
        self._jwks = JwksClient(self.keys.jwks_url, cache_keys=True) if self.keys.jwks_url else None

    async def verify(self, token: str) -> Principal:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
            if algorithm not in self.algorithms:
                raise jwt.InvalidAlgorithmError(f"algorithm {algorithm!r} is not accepted")
            if self._jwks is not None:
                # PyJWKClient fetches over blocking I/O (cached afterwards): keep it off the loop.
                # The PyJWK itself as the key: PyJWT then verifies with the key's own algorithm
                # and refuses a token whose alg differs from it.
                key: Any = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
            else:
                key = self.keys.secret
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.keys.audience,
                issuer=self.keys.issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
                leeway=30,
            )
        except jwt.ExpiredSignatureError as exc:
            raise _unauthenticated("The token has expired.", "invalid_token") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise _unauthenticated("The token is not valid for this service.", "invalid_token") from exc
        raw = claims.get("scope", claims.get("scp", ""))
        scopes = frozenset(raw.split() if isinstance(raw, str) else raw)
        return Principal(subject=str(claims["sub"]), scopes=scopes)


def _challenge(error: str | None = None, scope: str | None = None) -> str:
    """The RFC 6750 WWW-Authenticate value."""
    return (
        'Bearer realm="revcycle"'
        + (f', error="{error}"' if error else "")
        + (f', scope="{scope}"' if scope else "")
    )


def _unauthenticated(detail: str, error: str | None = None) -> ProblemError:
    challenge = _challenge(error)
    return ProblemError(
        401, "unauthenticated", "Authentication required", detail, headers={"WWW-Authenticate": challenge}
    )


def require_scopes(*scopes: str) -> Any:
    """Dependency: a valid bearer token carrying every one of `scopes`."""
    return _require(scopes, any_of=False)


def require_any_scope(*scopes: str) -> Any:
    """Dependency: a valid bearer token carrying at least one of `scopes` (a duty that two
    roles may perform, e.g. a second-person approval by an approver or a payments admin)."""
    return _require(scopes, any_of=True)


def _require(scopes: tuple[str, ...], *, any_of: bool) -> Any:
    async def _principal(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer, scopes=list(scopes))],
    ) -> Principal:
        # Each refusal leaves (actor, reason) on request.state for the audit (shared.audit).
        if credentials is None or credentials.scheme.lower() != "bearer":
            request.state.refusal = (None, "no bearer token")
            raise _unauthenticated("Send `Authorization: Bearer <token>`.")
        verifier: TokenVerifier = request.app.state.verifier
        try:
            principal = await verifier.verify(credentials.credentials)
        except ProblemError as exc:
            request.state.refusal = (
                None,
                "expired token" if "expired" in (exc.detail or "") else "invalid token",
            )
            raise
        missing = sorted(set(scopes) - principal.scopes)
        if missing and not (any_of and len(missing) < len(set(scopes))):
            needed = " or ".join(missing) if any_of else " ".join(missing)
            request.state.refusal = (principal.subject, f"missing scope {needed}")
            raise ProblemError(
                403,
                "insufficient-scope",
                "Not allowed",
                f"The token lacks the scope(s): {needed}.",
                headers={"WWW-Authenticate": _challenge("insufficient_scope", " ".join(scopes))},
            )
        request.state.principal = principal
        return principal

    return Depends(_principal)


def mint_token(
    scopes: list[str] | None = None,
    *,
    subject: str = "dev-user",
    ttl_seconds: int = 3600,
    settings: Settings | None = None,
) -> str:
    """A development token (`make token`, the tests, the demo, the benchmarks), signed the way
    the services in this environment verify: by the local issuer (RS256, its kid in the
    header), or with the explicitly configured HS256 JWT_SECRET. Development mode only: in
    production tokens come from the identity provider."""
    settings = settings or get_settings()
    if not settings.dev_mode:
        raise RuntimeError("minting tokens is for development mode only (REVCYCLE_ENV=development)")
    keys = token_keys(settings)
    now = int(time.time())
    claims = {
        "sub": subject,
        "iss": keys.issuer,
        "aud": keys.audience,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": str(uuid.uuid4()),
        "scope": " ".join(scopes if scopes else ALL_SCOPES),
    }
    if keys.secret is not None and keys.jwks_url is None:
        return jwt.encode(claims, keys.secret, algorithm=keys.algorithms[0])
    if not keys.development:
        raise RuntimeError(f"tokens for {keys.jwks_url} come from that issuer, not from here")
    return DevIssuer(settings.dev_issuer_dir).sign(claims)


def main() -> None:
    parser = argparse.ArgumentParser(description="Print a development bearer token.")
    parser.add_argument("--scopes", default="", help="Space-separated scopes; empty means all.")
    parser.add_argument("--subject", default="dev-user")
    parser.add_argument("--ttl", type=int, default=8 * 3600, help="Lifetime in seconds.")
    args = parser.parse_args()
    try:
        print(mint_token(args.scopes.split() or None, subject=args.subject, ttl_seconds=args.ttl))
    except RuntimeError as exc:
        raise SystemExit(f"shared.auth: {exc}") from None


if __name__ == "__main__":
    main()
