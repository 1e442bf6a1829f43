"""OAuth2 bearer JWTs with per-service scopes.

Locally tokens are HS256 with a shared secret (`make token` prints one); in production
an RS256 issuer's JWKS URL is configured instead. Scopes are `<service>:<action>`, for
example `claims:read`, `payments:write`, `ops:read`.

Run `python -m shared.auth --scopes "claims:read claims:write"` to mint a dev token.
"""

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.config import SERVICE_NAMES, Settings, get_settings
from shared.problems import ProblemError

# Scopes for raw PHI files, money administration and operations that change what the platform
# processes. A real issuer grants them to few people (auditors, billing managers, on-call
# operators); the development token carries them so `make token` opens every route.
# ops:replay replays or discards dead letters; ops:phi shows a dead letter's payload unredacted.
PRIVILEGED_SCOPES: tuple[str, ...] = (
    "eligibility:x12",
    "remittances:raw",
    "payments:admin",
    "payments:approve",
    "ops:replay",
    "ops:phi",
)

ALL_SCOPES: tuple[str, ...] = (
    *(f"{svc}:{action}" for svc in SERVICE_NAMES for action in ("read", "write")),
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


class TokenVerifier:
    """Verifies tokens with the shared secret (HS256) or the issuer's JWKS (RS256)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.algorithms = [a.strip() for a in settings.jwt_algorithms.split(",") if a.strip()]
        self._jwks = (
            jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True) if settings.jwt_jwks_url else None
        )

    async def verify(self, token: str) -> Principal:
        try:
            if self._jwks is not None:
                # PyJWKClient fetches over blocking I/O (cached afterwards): keep it off the loop.
                signing = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                key: Any = signing.key
            else:
                key = self.settings.jwt_secret
            claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={"require": ["exp", "sub"]},
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
    """A development HS256 token; never used by the services themselves."""
    settings = settings or get_settings()
    now = int(time.time())
    claims = {
        "sub": subject,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": str(uuid.uuid4()),
        "scope": " ".join(scopes if scopes else ALL_SCOPES),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def main() -> None:
    parser = argparse.ArgumentParser(description="Print a development bearer token.")
    parser.add_argument("--scopes", default="", help="Space-separated scopes; empty means all.")
    parser.add_argument("--subject", default="dev-user")
    parser.add_argument("--ttl", type=int, default=8 * 3600, help="Lifetime in seconds.")
    args = parser.parse_args()
    print(mint_token(args.scopes.split() or None, subject=args.subject, ttl_seconds=args.ttl))


if __name__ == "__main__":
    main()
