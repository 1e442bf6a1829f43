"""Issue 17, item 2: no secret has a working default outside an explicit development mode.

Each case starts the real service process (`python -m uvicorn services.<svc>.main:app`, what
`make up`, docker compose and a production deployment run) with an environment that is
production-like in every respect except the one setting under test, and asserts that the
process exits non-zero and says why. Controls show the refusals are about that one setting:
the same environment with a proper key starts, and development mode (REVCYCLE_ENV=development,
what `make up`, the demo and these tests set) starts with the local issuer's RS256 keys.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.conftest import kafka_env

ROOT = Path(__file__).resolve().parents[2]
# The HS256 secret the repository shipped as a silent default: public, so never a key.
PUBLISHED_SECRET = "dev-only-secret-change-me-0123456789abcdef"
STRONG_SECRET = "t3st-only-" + "x" * 40
START_TIMEOUT = 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _jwks_file(directory: Path, kid: str = "id-provider-1") -> str:
    """A JWKS of one fresh RSA key (an identity provider's published keys), as a file:// URL."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig", "alg": "RS256"}
    path = directory / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return path.as_uri()


def production_env(**settings: str | None) -> dict[str, str]:
    """A production-like environment (no REVCYCLE_ENV): every secret configured, the servers
    unreachable on purpose (a refusal must come before any connection). `None` removes one."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": "postgresql://admin:a-configured-admin-password@127.0.0.1:9/revcycle",
        "SERVICE_DB_PASSWORD": "a-configured-role-password-0123456789",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "KAFKA_USERNAME": "claims",
        "KAFKA_PASSWORD": "a-configured-kafka-password-0123456789",
        # The partners' public signing keys (issue 17 item 1): configured, as production must.
        "PARTNER_KEYS_DIR": os.environ["PARTNER_KEYS_DIR"],
        "JWT_ISSUER": "https://id.practice.example",
        "JWT_AUDIENCE": "revcycle",
        "ELIGIBILITY_X12_KEYS": "bm90LXRoZS1kZXYta2V5LWJ1dC0zMi1ieXRlcy0wMDA=",
        "NOTIFICATIONS_SMTP_HOST": "smtp.practice.example",
        "NOTIFICATIONS_SMS_URL": "https://sms.practice.example/send",
        "LOG_LEVEL": "WARNING",
    }
    for key, value in settings.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@contextlib.contextmanager
def started(app: str, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run `uvicorn <app>` on a free port; yields (process, base URL) and stops it afterwards."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()


def _live(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health/live", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def refusal(app: str, env: dict[str, str]) -> tuple[int, str]:
    """Start the app and expect it to exit: (exit code, its output). Fails when it serves."""
    with started(app, env) as (proc, base):
        deadline = time.monotonic() + START_TIMEOUT
        while proc.poll() is None:
            assert not _live(base), f"{app} started and serves {base}/health/live"
            assert time.monotonic() < deadline, f"{app} neither exited nor served within {START_TIMEOUT}s"
            time.sleep(0.2)
        output = proc.stdout.read() if proc.stdout else ""
        return proc.returncode, output


def serves(app: str, env: dict[str, str]) -> str:
    """Start the app and expect /health/live to answer; fails with its output when it exits."""
    with started(app, env) as (proc, base):
        deadline = time.monotonic() + START_TIMEOUT
        while not _live(base):
            if proc.poll() is not None:
                output = proc.stdout.read() if proc.stdout else ""
                pytest.fail(f"{app} exited {proc.returncode}:\n{output[-3000:]}")
            assert time.monotonic() < deadline, f"{app} not live within {START_TIMEOUT}s"
            time.sleep(0.2)
        return base


CLAIMS = "services.claims.main:app"


@pytest.mark.parametrize(
    ("case", "jwt_settings", "said"),
    [
        ("no key", {}, "no token key is configured"),
        ("development key", {"JWT_SECRET": PUBLISHED_SECRET}, "development key published in the repository"),
        ("empty key", {"JWT_SECRET": ""}, "JWT_SECRET is empty"),
        ("short key", {"JWT_SECRET": "only-20-bytes-long!!"}, "JWT_SECRET has 20 bytes"),
    ],
)
def test_outside_development_mode_a_service_refuses_a_missing_public_empty_or_short_key(
    case, jwt_settings, said
):
    code, output = refusal(CLAIMS, production_env(JWT_JWKS_URL=None, JWT_SECRET=None) | jwt_settings)
    assert code != 0, output
    assert "claims refuses to start" in output, output
    assert said in output, output
    assert "REVCYCLE_ENV=development" in output, output  # says how local work runs instead


def test_outside_development_mode_the_development_issuer_is_refused(tmp_path):
    from shared.issuer import DEV_ISSUER, DevIssuer

    dev_jwks = DevIssuer(tmp_path).ensure().jwks_url
    code, output = refusal(CLAIMS, production_env(JWT_JWKS_URL=dev_jwks, JWT_ISSUER=DEV_ISSUER))
    assert code != 0
    assert f"JWT_ISSUER is {DEV_ISSUER!r}, the development issuer" in output, output
    assert "holds the development issuer's keys" in output, output


def test_outside_development_mode_a_service_starts_with_configured_keys(tmp_path):
    """The control: the production-like environment with an identity provider's JWKS (or a
    strong HS256 secret) starts; so each refusal above is about its one setting."""
    serves(CLAIMS, production_env(JWT_JWKS_URL=_jwks_file(tmp_path)))
    serves("services.ops.main:app", production_env(JWT_SECRET=STRONG_SECRET, JWT_ALGORITHMS="HS256"))


def test_outside_development_mode_other_development_secrets_are_refused(tmp_path):
    jwks = _jwks_file(tmp_path)
    code, output = refusal(CLAIMS, production_env(JWT_JWKS_URL=jwks, SERVICE_DB_PASSWORD=None))
    assert code != 0 and "CLAIMS_DB_PASSWORD (or SERVICE_DB_PASSWORD) is not set" in output, output
    code, output = refusal(
        "services.eligibility.main:app", production_env(JWT_JWKS_URL=jwks, ELIGIBILITY_X12_KEYS=None)
    )
    assert code != 0 and "ELIGIBILITY_X12_KEYS is not set" in output, output
    code, output = refusal("deploy.payer_sandbox.main:app", production_env(JWT_JWKS_URL=jwks))
    assert code != 0 and "the payer sandbox runs in development mode only" in output, output


def test_in_development_mode_the_service_starts_and_accepts_make_token(servers, settings):
    """REVCYCLE_ENV=development with no key configured: the local issuer's RS256 keys under
    .state (made on demand), and `python -m shared.auth` (make token) signs what it accepts."""
    env = {
        **production_env(JWT_ISSUER=None, SERVICE_DB_PASSWORD=None, ELIGIBILITY_X12_KEYS=None),
        "REVCYCLE_ENV": "development",
        "DATABASE_URL": servers.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": servers.kafka_bootstrap,
        **kafka_env(settings),
        "CONSUMER_GROUP_PREFIX": settings.consumer_group_prefix,
        "CLAIMS_RECEIVER_ID": os.environ.get("CLAIMS_RECEIVER_ID", ""),
    }
    minted = subprocess.run(
        [sys.executable, "-m", "shared.auth", "--scopes", "ops:read"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    with started(CLAIMS, env) as (proc, base):
        deadline = time.monotonic() + START_TIMEOUT
        while not _live(base):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline
            time.sleep(0.2)
        ok = httpx.get(f"{base}/v1/audit?limit=1", headers={"Authorization": f"Bearer {minted}"}, timeout=30)
        assert ok.status_code == 200, ok.text
        refused = httpx.get(f"{base}/v1/audit?limit=1", headers={"Authorization": "Bearer x.y.z"}, timeout=30)
        assert refused.status_code == 401
