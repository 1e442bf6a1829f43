"""Issue 17, item 2: tokens are verified like an identity provider's, and only as configured.

RS256 tokens are checked against the issuer's JWKS (picked by `kid`), with iss, aud, exp and sub
required. Refused: `alg: none`, an HS256 token whose HMAC secret is the issuer's *public* key
(the RS/HS confusion attack), an expired token, another issuer or audience, a key not in the
JWKS. Rotation: a new key signs while the older public key stays in the JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import TokenVerifier
from shared.config import Settings
from shared.issuer import DevIssuer
from shared.problems import ProblemError
from shared.secret_checks import jwt_problems

ISSUER = "https://id.practice.example"
STRONG_SECRET = "an-hs256-secret-of-more-than-32-bytes-0123456789"


def _settings(**values: Any) -> Settings:
    """Production-like token settings (no development mode)."""
    return Settings(
        **{"revcycle_env": "production", "jwt_issuer": ISSUER, "jwt_audience": "revcycle"} | values
    )


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return (
        {"sub": "front-desk", "iss": ISSUER, "aud": "revcycle", "iat": now, "exp": now + 300}
        | {"scope": "claims:read"}
        | changes
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_made(header: dict[str, Any], claims: dict[str, Any], hmac_key: bytes | None) -> str:
    """A token built by hand, as an attacker would: PyJWT refuses to HMAC-sign with a PEM key."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if hmac_key is None:
        return signing_input + "."
    return signing_input + "." + _b64(hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest())


def _public_pem(issuer: DevIssuer) -> bytes:
    jwk = json.loads(issuer.jwks_path.read_text())["keys"][0]
    public = jwt.PyJWK(jwk).key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def provider(tmp_path: Path) -> DevIssuer:
    """An issuer with a JWKS file: stands for an identity provider's published keys."""
    return DevIssuer(tmp_path / "issuer").ensure()


async def _refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(ProblemError) as refused:
        await verifier.verify(token)
    assert refused.value.status == 401
    return refused.value.detail or ""


async def test_an_rs256_token_of_the_issuers_jwks_is_accepted(provider):
    verifier = TokenVerifier(_settings(jwt_jwks_url=provider.jwks_url))
    principal = await verifier.verify(provider.sign(_claims()))
    assert principal.subject == "front-desk" and principal.scopes == {"claims:read"}
    assert jwt.get_unverified_header(provider.sign(_claims()))["kid"] == provider.kid


@pytest.mark.parametrize("algorithms", [None, "RS256,HS256"])
async def test_an_hs256_token_made_with_the_public_key_as_secret_is_refused(provider, algorithms):
    """Even when HS256 is listed next to RS256 (which start-up refuses anyway), the key from a
    JWKS only ever verifies with its own algorithm."""
    verifier = TokenVerifier(_settings(jwt_jwks_url=provider.jwks_url, jwt_algorithms=algorithms))
    header = {"alg": "HS256", "typ": "JWT", "kid": provider.kid}
    for secret in (_public_pem(provider), provider.jwks_path.read_bytes()):
        await _refused(verifier, _hand_made(header, _claims(), secret))


async def test_unsigned_expired_foreign_and_unknown_key_tokens_are_refused(provider, tmp_path):
    verifier = TokenVerifier(_settings(jwt_jwks_url=provider.jwks_url))
    await _refused(verifier, _hand_made({"alg": "none", "typ": "JWT", "kid": provider.kid}, _claims(), None))
    expired = provider.sign(_claims(exp=int(time.time()) - 3600))
    assert "expired" in await _refused(verifier, expired)
    await _refused(verifier, provider.sign(_claims(iss="revcycle-dev")))
    await _refused(verifier, provider.sign(_claims(aud="someone-else")))
    await _refused(verifier, provider.sign({k: v for k, v in _claims().items() if k != "aud"}))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    same_kid = jwt.encode(_claims(), other, algorithm="RS256", headers={"kid": provider.kid})
    await _refused(verifier, same_kid)
    stranger = DevIssuer(tmp_path / "stranger").ensure()
    await _refused(verifier, stranger.sign(_claims()))


async def test_a_rotated_key_signs_while_the_older_public_key_still_verifies(provider):
    verifier = TokenVerifier(_settings(jwt_jwks_url=provider.jwks_url))
    before = provider.sign(_claims())
    assert (await verifier.verify(before)).subject == "front-desk"  # the JWKS is now cached
    old_kid, new_kid = provider.kid, provider.rotate()
    assert new_kid != old_kid and provider.kids()[:2] == [new_kid, old_kid]
    after = provider.sign(_claims())
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    # The running verifier fetches the JWKS again for the kid it does not know yet.
    assert (await verifier.verify(after)).subject == "front-desk"
    assert (await verifier.verify(before)).subject == "front-desk"


async def test_an_explicit_strong_hs256_secret_verifies_hs256_only(provider):
    verifier = TokenVerifier(_settings(jwt_secret=STRONG_SECRET))
    good = jwt.encode(_claims(), STRONG_SECRET, algorithm="HS256")
    assert (await verifier.verify(good)).subject == "front-desk"
    await _refused(verifier, provider.sign(_claims()))  # RS256 is not what this service verifies


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"jwt_jwks_url": "https://id.example/jwks", "jwt_algorithms": "RS256,HS256"}, "names HS256"),
        ({"jwt_secret": STRONG_SECRET, "jwt_algorithms": "RS256"}, "names RS256"),
        ({"jwt_jwks_url": "https://id.example/jwks", "jwt_algorithms": "none"}, "names 'none'"),
        ({"jwt_jwks_url": "https://id.example/jwks", "jwt_secret": STRONG_SECRET}, "both JWT_SECRET"),
        ({"jwt_jwks_url": "https://id.example/jwks", "jwt_issuer": None}, "JWT_ISSUER is not set"),
    ],
)
def test_unsafe_algorithm_and_key_settings_are_named(values, problem):
    problems = jwt_problems(_settings(**values))
    assert any(problem in p for p in problems), problems


def test_development_mode_verifies_the_local_issuer_and_refuses_weak_secrets_too(tmp_path):
    dev = Settings(revcycle_env="development", dev_issuer_dir=str(tmp_path / "dev"))
    assert jwt_problems(dev) == []
    assert TokenVerifier(dev).keys.jwks_url == DevIssuer(tmp_path / "dev").jwks_url
    assert (tmp_path / "dev" / "current.pem").stat().st_mode & 0o077 == 0  # private to its owner
    for weak in ("", "short", "dev-only-secret-change-me-0123456789abcdef"):
        assert jwt_problems(dev.model_copy(update={"jwt_secret": weak})), weak
