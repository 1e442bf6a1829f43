"""The development broker's principals and their passwords, and what each process is told.

Passwords are generated once per checkout into .state/kafka/credentials.json (mode 0600,
git-ignored), one per principal of shared.kafka_acl.PRINCIPALS; nothing in the repository is a
password. deploy/broker.py bootstraps them as SCRAM-SHA-512 users when it formats the storage
(`StorageTool format --add-scram`); `process_env(principal)` is the environment a process
connecting as that principal gets (KAFKA_USERNAME, KAFKA_PASSWORD, KAFKA_SECURITY_PROTOCOL, ...).
Standard library only, like the rest of deploy/infra.py's modules.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from deploy.system import STATE

if TYPE_CHECKING:
    from shared.kafka import KafkaAccess

KAFKA_DIR = STATE / "kafka"
CREDENTIALS = KAFKA_DIR / "credentials.json"
# The one local CA of the development servers (deploy/tls.py), shared with PostgreSQL.
TLS_DIR = STATE / "tls"
CA_FILE = TLS_DIR / "ca.pem"
KEYSTORE = TLS_DIR / "kafka.pem"
ADMIN = "admin"
DEADLETTERS = "deadletters"
# Mirrors shared.kafka_acl.PRINCIPALS (deploy/ runs before the virtualenv; tests/shared checks
# that the two agree).
SERVICES = ("eligibility", "claims", "payments", "notifications", "gateway", "frontoffice")
PARTNERS = ("ehr", "collections", "financing")
PRINCIPALS = (ADMIN, *SERVICES, *PARTNERS, DEADLETTERS)
MECHANISM = "SCRAM-SHA-512"


def credentials_file() -> Path:
    """Where the passwords are: KAFKA_CREDENTIALS_FILE (a broker another checkout provisioned,
    e.g. a shared one), else this checkout's .state/kafka/credentials.json."""
    return Path(os.environ.get("KAFKA_CREDENTIALS_FILE") or CREDENTIALS)


def ca_file() -> Path:
    """The CA that signed the broker's certificate: in the .state of the checkout whose
    credentials these are (.state/tls/ca.pem beside .state/kafka/credentials.json)."""
    return credentials_file().parent.parent / TLS_DIR.name / CA_FILE.name


def passwords(path: Path | None = None) -> dict[str, str]:
    """Every principal's password, generating (and keeping) those not yet made."""
    path = path or credentials_file()
    found: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [p for p in PRINCIPALS if not found.get(p)]
    if missing:
        found.update({p: secrets.token_urlsafe(24) for p in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
        tmp.replace(path)
    return found


def scram_arguments(found: dict[str, str]) -> list[str]:
    """`--add-scram` arguments of StorageTool format: one SCRAM-SHA-512 user per principal."""
    args: list[str] = []
    for principal in PRINCIPALS:
        args += ["--add-scram", f"{MECHANISM}=[name={principal},password={found[principal]}]"]
    return args


def process_env(principal: str, bootstrap: str, *, tls: bool = False) -> dict[str, str]:
    """What a process connecting as `principal` gets in its environment: over TLS (SASL_SSL,
    trusting the local CA) when `tls`, else SASL_PLAINTEXT. A service's environment also
    carries the dead-letter replay's credentials (its /v1/ops/dead-letters routes use them)."""
    found = passwords()
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_USERNAME": principal,
        "KAFKA_PASSWORD": found[principal],
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL" if tls else "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": MECHANISM,
    }
    if tls:
        env["KAFKA_SSL_CAFILE"] = str(ca_file())
    if principal in (*SERVICES, DEADLETTERS):
        env["KAFKA_DEADLETTERS_USERNAME"] = DEADLETTERS
        env["KAFKA_DEADLETTERS_PASSWORD"] = found[DEADLETTERS]
    return env


def principal_env(principal: str) -> dict[str, str]:
    """`process_env` for a principal at its usual place: a partner on the partners' listener
    (TLS), a service or the admin on KAFKA_BOOTSTRAP_SERVERS."""
    from deploy.broker import kafka_bootstrap, partner_bootstrap

    if principal in PARTNERS:
        bootstrap, tls = partner_bootstrap()
        return process_env(principal, bootstrap, tls=tls)
    return process_env(principal, kafka_bootstrap())


def access(principal: str) -> KafkaAccess:
    """A development tool's or the test suite's access as `principal` (needs the virtualenv)."""
    from shared.kafka import KafkaAccess

    env = principal_env(principal)
    return KafkaAccess(
        bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"],
        username=env["KAFKA_USERNAME"],
        password=env["KAFKA_PASSWORD"],
        security_protocol=env["KAFKA_SECURITY_PROTOCOL"],
        mechanism=env["KAFKA_SASL_MECHANISM"],
        cafile=env.get("KAFKA_SSL_CAFILE"),
    )
