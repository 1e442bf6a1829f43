#!/usr/bin/env python3
"""Local infrastructure: a private PostgreSQL, a KRaft Kafka broker and the platform's processes.

Standard library only, so it runs with the system ``python3`` before any virtualenv exists.

    python3 deploy/infra.py up            # PostgreSQL + Kafka + migrations + services
    python3 deploy/infra.py down          # stop everything this tool started
    python3 deploy/infra.py status | env | logs [name] [-f]
    python3 deploy/infra.py pg-up | kafka-up | kafka-stop | kafka-start | migrate | services-up
    python3 deploy/infra.py replicas-up [--count 2] [names] | replicas-down   # more instances
    python3 deploy/infra.py deps | browser   # system packages (browser: headless Chromium only)

PostgreSQL runs through pg_ctl (deploy/postgres.py). Kafka (deploy/broker.py), the four
services, the payer sandbox and the mail sink run under supervisord (deploy/supervision.py):
its configuration, control socket, pid file and every log live under ``.state/`` at the
repository root (git-ignored), with the database cluster and the broker's class path and data.
When ``DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS`` point at external servers, those are only
waited for, never started or stopped.

Importable API (``from deploy import infra``): database_url(), kafka_bootstrap(),
ensure_postgres(), ensure_kafka(), stop_kafka(), start_kafka(), kafka_running(),
kafka_is_local(), postgres_is_local(), process_pids(), stop_all(), PROCESSES, SERVICES.
Failures raise InfraError with a short message.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:
    # Run as a script: import the deploy package from the repository root (and never let this
    # directory's modules shadow installed packages).
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import contextlib
import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence

from deploy import broker, kafka_auth, mailbox, pg_cluster, postgres, supervision
from deploy.broker import (  # noqa: F401 - the public API
    KAFKA_HOST,
    KAFKA_PORT,
    kafka_bootstrap,
    kafka_is_local,
    kafka_running,
)
from deploy.postgres import (  # noqa: F401 - the public API
    PG_DATA,
    database_url,
    ensure_postgres,
    postgres_is_local,
    redact_url,
    stop_postgres,
)
from deploy.processes import (  # noqa: F401 - the public API
    GROUP,
    PARTNER_KEYS,
    PROCESSES,
    SERVICES,
    Proc,
    child_env,
    logfile,
    migrate,
    process_pids,
    register_practice,
    replicas_down,
    replicas_up,
    services_down,
    services_up,
    url,
    venv_python,
)
from deploy.system import (  # noqa: F401 - the public API
    LOG_DIR,
    ROOT,
    RUN_DIR,
    STATE,
    InfraError,
    apt_install,
    http_status,
    port_open,
    rel,
    say,
    tail,
)

# The broker's data directory. The test suite points it at a scratch directory before it
# starts a broker of its own (tests/conftest.py); ensure_kafka and start_kafka read it here.
KAFKA_DATA = broker.KAFKA_DATA

# --------------------------------------------------------------------------------------
# PostgreSQL and Kafka
# --------------------------------------------------------------------------------------


def ensure_kafka() -> str:
    """Make sure Kafka accepts connections (the local broker on KAFKA_DATA, or an external one)."""
    return broker.ensure_kafka(KAFKA_DATA)


def start_kafka() -> str:
    """Start the local broker (after stop_kafka); InfraError when Kafka is external."""
    if not kafka_is_local():
        raise InfraError(f"Kafka is external ({kafka_bootstrap()}); infra.py does not manage it")
    return broker.start_local(KAFKA_DATA)


def stop_kafka() -> None:
    """Stop the local broker: SIGTERM, up to 30 s, then SIGKILL its process group (supervisord).

    InfraError when Kafka is external (KAFKA_BOOTSTRAP_SERVERS points elsewhere).
    """
    if not kafka_is_local():
        raise InfraError(f"Kafka is external ({kafka_bootstrap()}); infra.py does not stop it")
    broker.stop_local()


def install_browser() -> None:
    """Debian's chromium and chromedriver when missing: the ops page's browser test drives them
    (tests/ops), and CI must run it rather than skip it."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        apt_install(["chromium", "chromium-driver"], "the ops page's browser test (headless Chromium)")


def install_system_deps() -> None:
    """Install missing system packages (PostgreSQL server, JDK, Maven, Chromium) with apt-get."""
    if not pg_cluster.bindir_candidates():
        pg_cluster.install_postgresql()
    broker.install_java_maven()
    install_browser()
    if not shutil.which("jq"):
        # Only the README's curl walkthrough uses it: nice to have, never a reason to fail.
        try:
            apt_install(["jq"], "the README's curl walkthrough")
        except InfraError as exc:
            say(f"jq not installed ({exc}); the README walkthrough needs it")


def stop_all() -> None:
    """Stop the platform's processes, then the broker, then supervisord, then the private
    PostgreSQL: only what infra.py started, never an external server."""
    errors = []
    steps = (services_down, broker.stop_local, supervision.shutdown, stop_postgres)
    for step in steps:
        try:
            step()
        except InfraError as exc:
            errors.append(str(exc))
    if errors:
        raise InfraError("; ".join(errors))


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def _row(name: str, state: str, detail: str, address: str, ready: bool | str) -> str:
    ready = ("ready" if ready else "not ready") if isinstance(ready, bool) else ready
    return f"{name:<24} {state:<9} {detail:<28} {address:<24} {ready}"


def _server_lines() -> list[str]:
    """PostgreSQL, and Kafka when it is not supervisord's: running/external, address, ready."""
    host, port = postgres.server_address()
    if postgres_is_local():
        pid = postgres.running_pid()
        state, detail = ("RUNNING", f"pid {pid} (pg_ctl)") if pid else ("STOPPED", "(pg_ctl)")
        lines = [_row("postgres", state, detail, f"{host}:{port}", pid is not None and port_open(host, port))]
    else:
        lines = [_row("postgres", "EXTERNAL", "DATABASE_URL", f"{host}:{port}", port_open(host, port))]
    if not kafka_is_local():
        ready = any(port_open(h, p) for h, p in broker.bootstrap_hosts(kafka_bootstrap()))
        lines.append(_row("kafka", "EXTERNAL", "KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap(), ready))
    if not supervision.running():
        lines.append(
            _row("supervisord", "STOPPED", "(make up starts it)", f"unix:{rel(supervision.SOCKET)}", "")
        )
    return lines


def _status_lines() -> list[str]:
    """PostgreSQL, then `supervisorctl status` with each program's address and readiness."""
    lines = _server_lines()
    found = {s.program: s for s in supervision.status()}
    kafka = found.get(broker.PROGRAM)
    if kafka is not None:
        up = kafka.state == "RUNNING" and port_open(KAFKA_HOST, KAFKA_PORT)
        lines.append(_row(kafka.name, kafka.state, kafka.description, f"{KAFKA_HOST}:{KAFKA_PORT}", up))
    elif kafka_is_local():
        lines.append(_row(broker.PROGRAM, "STOPPED", "", f"{KAFKA_HOST}:{KAFKA_PORT}", False))
    for p in PROCESSES:
        s = found.get(p.name)
        code = http_status(url(p, p.health), timeout=1.0)
        ready = "ready" if code == 200 else (f"not ready ({code})" if code else "not ready")
        if s is not None:
            lines.append(_row(s.name, s.state, s.description, url(p), ready))
        elif code is not None:  # something else serves the port
            lines.append(_row(f"{GROUP}:{p.name}", "FOREIGN", "not started by infra.py", url(p), ready))
        else:
            lines.append(_row(f"{GROUP}:{p.name}", "STOPPED", "", url(p), ready))
    return lines


def _summary() -> str:
    pg = "local" if postgres_is_local() else "external"
    kf = "local" if kafka_is_local() else "external"
    lines = [
        "",
        "revcycle is up",
        f"  {'PostgreSQL':<14} {redact_url(database_url())}  ({pg})",
        f"  {'Kafka':<14} {kafka_bootstrap()}  ({kf})",
        f"  {'Logs':<14} {rel(LOG_DIR)}/  (make logs [NAME=claims] [FOLLOW=1])",
        f"  {'Processes':<14} supervisord, {rel(supervision.CONF)}  (make status)",
        "",
        f"  {'service':<14} {'URL':<23} {'docs':<6} {'ready':<14} {'metrics':<9} asyncapi",
    ]
    for p in PROCESSES:
        if p.name in SERVICES:
            extras = f"{'/metrics':<9} /asyncapi"
        elif p.name == "ops":
            extras = f"{'/metrics':<9} -   the ops page: {url(p, '/ops')}"
        elif p.name == "payer-sandbox":
            sftp = f"sftp://127.0.0.1:{mailbox.SFTP_PORT}"
            extras = f"{'-':<9} -   its SFTP mailbox: {sftp} (keys: {rel(mailbox.SANDBOX_STATE)})"
        else:  # development partners and sinks: no metrics or event contract of their own
            extras = f"{'-':<9} -"
        lines.append(f"  {p.name:<14} {url(p):<23} {'/docs':<6} {p.health:<14} {extras}")
    lines.append("")
    lines.append("Stop everything with `make down` (python3 deploy/infra.py down).")
    return "\n".join(lines)


def _log_names() -> list[str]:
    return ["postgres", "kafka", *(p.name for p in PROCESSES), "supervisord"]


def _cmd_logs(name: str | None, follow: bool, lines: int) -> int:
    names = [name] if name else _log_names()
    if name and name not in _log_names() and not logfile(name).exists():
        raise InfraError(f"unknown log {name!r}; known: {', '.join(_log_names())}")
    files = [logfile(n) for n in names if logfile(n).exists()]
    if not files:
        raise InfraError(f"no logs yet in {rel(LOG_DIR)}")
    if follow:
        tail_cmd = shutil.which("tail")
        if not tail_cmd:
            raise InfraError("`tail` is needed for -f")
        with contextlib.suppress(KeyboardInterrupt):  # -F: follows supervisord's log rotation
            subprocess.run([tail_cmd, "-n", str(lines), "-F", *map(str, files)], check=False)  # noqa: S603
        return 0
    for f in files:
        if len(files) > 1:
            print(f"==> {rel(f)} <==")
        print(tail(f, lines))
        if len(files) > 1:
            print()
    return 0


def _cmd_env() -> int:
    print(f"export DATABASE_URL={shlex.quote(database_url())}")
    print(f"export KAFKA_BOOTSTRAP_SERVERS={shlex.quote(kafka_bootstrap())}")
    # Where the tools and the test suite find the principals' passwords and the partners' listener.
    print(f"export KAFKA_CREDENTIALS_FILE={shlex.quote(str(kafka_auth.credentials_file()))}")
    partner, tls = broker.partner_bootstrap()
    if tls:
        print(f"export KAFKA_PARTNER_BOOTSTRAP_SERVERS={shlex.quote(partner)}")
    # A service started by hand refuses to start without its partners' public keys.
    print(f"export PARTNER_KEYS_DIR={shlex.quote(str(PARTNER_KEYS / 'public'))}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infra.py", description="Local PostgreSQL, Kafka and services for revcycle."
    )
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="command")
    sub.add_parser(
        "up",
        help="pg-up, kafka-up, migrate, services-up, register the sandbox practice, print where things are",
    )
    sub.add_parser("down", help="stop everything infra.py started, supervisord included")
    sub.add_parser("status", help="PostgreSQL, then supervisorctl status with readiness")
    sub.add_parser("pg-up", help="start the private PostgreSQL (or wait for DATABASE_URL)")
    sub.add_parser("kafka-up", help="start the local Kafka broker (or wait for an external one)")
    sub.add_parser("kafka-stop", help="stop the local Kafka broker")
    sub.add_parser("kafka-start", help="start the local Kafka broker again")
    sub.add_parser("migrate", help="run python -m shared.migrate")
    sp = sub.add_parser("services-up", help="start the services under supervisord and wait until ready")
    sp.add_argument("names", nargs="*", help="only these services")
    sub.add_parser("services-down", help="stop the services only")
    rp = sub.add_parser(
        "replicas-up", help="start instances 2..N of the services (ports +100 each; make chaos uses it)"
    )
    rp.add_argument("names", nargs="*", help="only these services (default: the four)")
    rp.add_argument("--count", type=int, default=2, help="instances per service in all (default 2)")
    sub.add_parser("replicas-down", help="stop the extra instances replicas-up started")
    lp = sub.add_parser("logs", help="tail the logs (all or one)")
    lp.add_argument("name", nargs="?")
    lp.add_argument("-f", "--follow", action="store_true")
    lp.add_argument("-n", "--lines", type=int, default=40)
    sub.add_parser("env", help="print export lines: servers, Kafka credentials, partners' public keys")
    kp = sub.add_parser("kafka-env", help="print KEY=VALUE lines: a principal's Kafka credentials")
    kp.add_argument("principal", help="admin, a service, a partner or deadletters")
    sub.add_parser(
        "compose-config",
        help="write the compose broker's files (.state/kafka/compose: config, keystore, compose.env)",
    )
    sub.add_parser("deps", help="install missing system packages (postgresql, java, maven, chromium)")
    sub.add_parser("browser", help="install headless Chromium and chromedriver (the ops page test)")
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    match args.cmd:
        case "up":
            ensure_postgres()
            ensure_kafka()
            migrate()
            services_up()
            register_practice()
            print(_summary())
        case "down":
            stop_all()
            say("everything infra.py started is stopped")
        case "status":
            print("\n".join(_status_lines()))
        case "pg-up":
            ensure_postgres()
        case "kafka-up":
            ensure_kafka()
        case "kafka-stop":
            stop_kafka()
        case "kafka-start":
            start_kafka()
        case "migrate":
            migrate()
        case "services-up":
            services_up(args.names)
        case "services-down":
            services_down()
        case "replicas-up":
            for p in replicas_up(args.count, args.names or None):
                say(f"{p.name} ready at {url(p)}")
        case "replicas-down":
            replicas_down()
        case "logs":
            return _cmd_logs(args.name, args.follow, args.lines)
        case "env":
            return _cmd_env()
        case "kafka-env":
            if args.principal not in kafka_auth.PRINCIPALS:
                raise InfraError(
                    f"unknown principal {args.principal!r}; known: {', '.join(kafka_auth.PRINCIPALS)}"
                )
            print("\n".join(f"{k}={v}" for k, v in kafka_auth.principal_env(args.principal).items()))
        case "compose-config":
            written = rel(broker.compose_config())
            say(f"wrote {written}; now: docker compose --env-file {written}/compose.env up")
        case "deps":
            install_system_deps()
        case "browser":
            install_browser()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except InfraError as exc:
        print(f"infra: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("infra: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `infra.py status | head -1`
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
