"""The platform's processes: the six services, the ops console, the payer sandbox and the mail
sink, run as the supervisord group `platform` (deploy/supervision.py), and the migrations that
run before them.

`make up` starts them after PostgreSQL, Kafka and the migrations, and waits until each health
URL answers 200; `make down` stops them first. PROCESSES is the one list: the supervisord
configuration, `make status`, `make logs`, the demo and the end-to-end tests follow it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from deploy import kafka_auth, mailbox, supervision
from deploy.broker import kafka_bootstrap
from deploy.postgres import database_url
from deploy.system import (
    LOG_DIR,
    ROOT,
    START_TIMEOUT,
    STATE,
    InfraError,
    http_status,
    lock,
    mark_log,
    port_open,
    rel,
    say,
    tail,
)

# The services.  Keep this the single list: `up`, `down`, `status` and `logs` follow it.
SERVICES = {
    "eligibility": 8001,
    "claims": 8002,
    "payments": 8003,
    "notifications": 8004,
    "gateway": 8006,
    "frontoffice": 8007,
}
# The ops console (services/ops): no database or consumer of its own; it reads the six
# services' /v1/ops routes over HTTP (its OPS_*_URL defaults are the ports above).
OPS_PORT = 8005


class Proc(NamedTuple):
    """A process of the platform (a supervisord program): argv may use {python} and {port}."""

    name: str
    argv: tuple[str, ...]
    port: int
    health: str = "/health/ready"
    # Its Kafka principal (deploy/kafka_auth.py): the credentials its environment carries.
    principal: str | None = None


def _uvicorn(app: str) -> tuple[str, ...]:
    return ("{python}", "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", "{port}")


PROCESSES: list[Proc] = [
    # Local SMTP sink on 127.0.0.1:1025 with its HTTP API (and SMS sink) on 8025 (first: the
    # notifications service sends to it).
    Proc(
        "smtp-sink",
        ("{python}", "-m", "deploy.smtp_sink", "--smtp-port", "1025", "--http-port", "{port}"),
        8025,
    ),
    *(
        Proc(name, _uvicorn(f"services.{name}.main:app"), port, principal=name)
        for name, port in SERVICES.items()
    ),
    # The ops page, http://127.0.0.1:8005/ops (after the services it watches).
    Proc("ops", _uvicorn("services.ops.main:app"), OPS_PORT),
    # The payer sandbox (a partner system: 270/271 over HTTP, and a clearinghouse whose SFTP
    # mailbox on 127.0.0.1:2222 the gateway uploads 837s to and polls for TA1/999/277CA/835
    # files, deploy/mailbox.py). It speaks no Kafka: no principal.
    Proc("payer-sandbox", _uvicorn("deploy.payer_sandbox.main:app"), 8010, "/health", principal=None),
    # More background processes go here, one line each.
]
GROUP = "platform"  # the supervisord group of PROCESSES: `supervisorctl status platform:*`
# The partners' development signing keys (shared.events.signing, docs/partners.md), made once by
# `make up`: the services verify with the public ones; the EHR generator (`make ehr`, `make
# demo`) signs with the private ones, which no platform program gets.
PARTNER_KEYS = STATE / "partner-keys"


# --------------------------------------------------------------------------------------
# Migrations and the platform's processes
# --------------------------------------------------------------------------------------


def venv_python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    if venv.exists():
        return str(venv)
    say("no .venv found (run `make install`); using the current Python")
    return sys.executable


def child_env(principal: str | None = kafka_auth.ADMIN) -> dict[str, str]:
    """The environment for migrate and the platform's processes: os.environ plus where the
    servers are, the Kafka credentials of `principal` only (migrate: the admin; each service its
    own; None for a process that does not use Kafka), in development mode
    (REVCYCLE_ENV=development) unless the caller chose a mode: the local platform's services
    verify tokens of the local issuer under .state and use the development passwords; outside
    it they refuse to start without configured secrets (shared.secret_checks)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    env.setdefault("REVCYCLE_ENV", "development")
    env["DATABASE_URL"] = database_url()
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap()
    if principal is not None:
        env.update(kafka_auth.principal_env(principal))
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("PARTNER_KEYS_DIR", str(PARTNER_KEYS / "public"))
    env.setdefault("PARTNER_SIGNING_KEYS_DIR", str(PARTNER_KEYS / "private"))
    return env


# The sandbox practice's settings that a real practice sets for itself: the NPI eligibility
# asks payers with when a check runs from the registry (deploy/payer_sandbox/ehr.py BILLING_NPI,
# the Luhn-valid NPI of prefix 123456789), and the staff member an overdue ticket escalates to
# (the billing manager `make demo` registers with notifications).
PRACTICE_EXTRAS: dict[str, dict[str, str]] = {
    "eligibility": {"ELIGIBILITY_PROVIDER_NPI": "1234567893"},
    "frontoffice": {"FRONTOFFICE_ESCALATION_CONTACT": "demo-billing-manager"},
}


def program_env(name: str, env: dict[str, str]) -> dict[str, str]:
    """A program's environment: the mailbox's settings for the gateway and the sandbox
    (deploy/mailbox.py); no partner's private key for any of them (the sandbox's clearinghouse
    signs nothing: it speaks files; the EHR generator runs from `make ehr` and `make demo`)."""
    env = {**env, **mailbox.program_extras(name), **PRACTICE_EXTRAS.get(name, {})}
    return {k: v for k, v in env.items() if k != "PARTNER_SIGNING_KEYS_DIR"}


def partner_keys() -> None:
    """Development signing keys for the partners that have none under .state/partner-keys
    (never a constant in the repository; an existing key is kept)."""
    proc = subprocess.run(  # noqa: S603 - fixed argv
        [venv_python(), "-m", "shared.events.signing", "dev-keys", str(PARTNER_KEYS)],
        cwd=ROOT,
        env=child_env(),
        check=False,
    )
    if proc.returncode != 0:
        raise InfraError(f"partner keys were not made (shared.events.signing exit {proc.returncode})")


def mailbox_keys() -> None:
    """The sandbox mailbox's keys (made once) and the gateway's partners.json naming it, written
    with the venv's Python (deploy/mailbox.py)."""
    argv = [
        venv_python(),
        "-m",
        "deploy.mailbox",
        str(mailbox.SANDBOX_STATE),
        "--out",
        str(mailbox.PARTNERS_FILE),
    ]
    proc = subprocess.run(argv, cwd=ROOT, env=child_env(None), check=False)  # noqa: S603 - fixed argv
    if proc.returncode != 0:
        raise InfraError(f"the mailbox keys were not made (deploy.mailbox exit {proc.returncode})")


def migrate() -> None:
    say("running migrations (python -m shared.migrate)")
    proc = subprocess.run(  # noqa: S603 - fixed argv
        [venv_python(), "-m", "shared.migrate"], cwd=ROOT, env=child_env(), check=False
    )
    if proc.returncode != 0:
        raise InfraError(f"migrations failed (shared.migrate exit {proc.returncode})")


def register_practice() -> None:
    """The sandbox practice's providers into the claims service's provider registry, through
    its API (deploy/payer_sandbox/practice.py): the EHR's encounters name them by NPI only.
    A failure is reported, not fatal: the platform runs, and `make demo` registers them too."""
    say("registering the sandbox practice's providers (python -m deploy.payer_sandbox.practice)")
    proc = subprocess.run(  # noqa: S603 - fixed argv
        [venv_python(), "-m", "deploy.payer_sandbox.practice"], cwd=ROOT, env=child_env(None), check=False
    )
    if proc.returncode != 0:
        say(f"the provider registry was not filled (exit {proc.returncode}); `make demo` tries again")


def logfile(name: str) -> Path:
    return LOG_DIR / f"{name}.log"


def url(p: Proc, path: str = "") -> str:
    return f"http://127.0.0.1:{p.port}{path}"


def _proc(name: str) -> Proc:
    for p in PROCESSES:
        if p.name == name:
            return p
    raise InfraError(f"unknown service {name!r}; known: {', '.join(p.name for p in PROCESSES)}")


def _programs() -> list[supervision.Program]:
    """PROCESSES as supervisord programs, with this command's environment (`make up`'s)."""
    python = venv_python()
    return [
        supervision.Program(
            p.name,
            [a.format(python=python, port=p.port) for a in p.argv],
            priority=20 + i,
            environment=program_env(p.name, child_env(p.principal)),
        )
        for i, p in enumerate(PROCESSES)
    ]


def _start_programs(procs: list[Proc]) -> set[str]:
    """Start the processes not running yet under supervisord; returns the names supervisord
    runs (a port already served by someone else's process is left alone, as before)."""
    states = {s.program: s.state for s in supervision.status()}
    managed, todo = set(), []
    for p in procs:
        if states.get(p.name) in ("RUNNING", "STARTING"):
            managed.add(p.name)
            continue
        if port_open("127.0.0.1", p.port):
            if http_status(url(p, p.health)) == 200:
                say(f"{p.name}: port {p.port} already served by a process infra.py did not start; leaving it")
                continue
            raise InfraError(f"{p.name}: port {p.port} is in use by another process")
        mark_log(logfile(p.name))
        todo.append(p)
    if todo:
        say(f"starting {', '.join(p.name for p in todo)} (supervisord group {GROUP})")
        # A whole group starts in parallel; programs named one by one start one after another.
        whole = len(todo) + len(managed) == len(PROCESSES)
        failed = supervision.start([f"{GROUP}:*"] if whole else [f"{GROUP}:{p.name}" for p in todo])
        if failed:
            supervision.stop(f"{GROUP}:{name}" for name in failed)  # no retries in the background
            name = next(iter(failed))
            raise InfraError(
                f"{', '.join(failed)} did not start ({failed[name]}); {rel(logfile(name))} (tail):\n"
                + tail(logfile(name), this_run=True)
            )
    return managed | {p.name for p in todo}


def _wait_ready(procs: list[Proc], managed: set[str]) -> None:
    """Until every health URL answers 200; fails early when a program supervisord runs exits."""
    deadline = time.monotonic() + START_TIMEOUT
    waiting = {p.name: p for p in procs}
    while waiting:
        states = {s.program: s for s in supervision.status()}
        for name, p in list(waiting.items()):
            found = states.get(name)
            if name in managed and (found is None or found.state not in ("RUNNING", "STARTING")):
                how = f"{found.state} ({found.description})" if found else "gone"
                raise InfraError(
                    f"{name} is {how}; {rel(logfile(name))} (tail):\n" + tail(logfile(name), this_run=True)
                )
            if http_status(url(p, p.health)) == 200:
                pid = f" (pid {found.pid})" if found is not None and found.pid else ""
                say(f"{name} ready at {url(p)}{pid}")
                del waiting[name]
        if waiting and time.monotonic() > deadline:
            name = next(iter(waiting))
            raise InfraError(
                f"{', '.join(waiting)} not ready within {START_TIMEOUT:.0f}s "
                f"({url(waiting[name], waiting[name].health)}); "
                f"{rel(logfile(name))} (tail):\n" + tail(logfile(name), this_run=True)
            )
        if waiting:
            time.sleep(0.5)


def services_up(names: Sequence[str] | None = None) -> None:
    """Start the platform's processes under supervisord (idempotent) and wait until each health
    URL answers 200. The group's configuration carries this command's environment: when that
    changed since the last `up`, supervisord restarts the group with the new one."""
    procs = [_proc(n) for n in names] if names else list(PROCESSES)
    partner_keys()
    mailbox_keys()
    supervision.install_group(GROUP, _programs())
    with lock("services"):
        managed = _start_programs(procs)
    _wait_ready(procs, managed)


def services_down() -> None:
    """Stop the platform's processes (the broker stays); supervisord exits when idle."""
    if supervision.running():
        say(f"stopping supervisord group {GROUP}")
        supervision.stop([f"{GROUP}:*"])
        supervision.shutdown_if_idle()


# --------------------------------------------------------------------------------------
# More instances of a service (make chaos: two instances of every service, one killed)
# --------------------------------------------------------------------------------------

REPLICA_GROUP = "replicas"  # the supervisord group of the extra instances


def replica(p: Proc, n: int) -> Proc:
    """Instance n (2, 3, ...) of a process: the same program and environment (so the same
    database, the same consumer groups and the same outbox) on port + 100 * (n - 1)."""
    return p._replace(name=f"{p.name}-{n}", port=p.port + 100 * (n - 1))


def replicas(count: int = 2, names: Sequence[str] | None = None) -> list[Proc]:
    """Instances 2..count of each named service (default: the six services)."""
    return [replica(_proc(name), n) for name in names or list(SERVICES) for n in range(2, count + 1)]


def replicas_up(count: int = 2, names: Sequence[str] | None = None) -> list[Proc]:
    """Start instances 2..count of the services under supervisord (group `replicas`) and wait
    until each answers ready; the first instances keep running as they are."""
    procs = replicas(count, names)
    if not procs:
        return []
    python = venv_python()
    programs = [
        supervision.Program(
            p.name,
            [a.format(python=python, port=p.port) for a in p.argv],
            priority=40 + i,
            environment=program_env(p.name, child_env(p.principal)),
        )
        for i, p in enumerate(procs)
    ]
    supervision.install_group(REPLICA_GROUP, programs)
    for p in procs:
        mark_log(logfile(p.name))
    failed = supervision.start([f"{REPLICA_GROUP}:*"])  # in parallel
    if failed:
        name = next(iter(failed))
        raise InfraError(
            f"{', '.join(failed)} did not start; {rel(logfile(name))} (tail):\n" + tail(logfile(name))
        )
    _wait_ready(procs, {p.name for p in procs})
    return procs


def replicas_down() -> None:
    """Stop the extra instances and forget their group (the first instances keep running)."""
    if supervision.running():
        supervision.stop([f"{REPLICA_GROUP}:*"])
        supervision.remove_group(REPLICA_GROUP)


def process_pids() -> dict[str, int]:
    """name -> pid of each process supervisord runs (kafka and PROCESSES), from supervisorctl."""
    return supervision.pids()
