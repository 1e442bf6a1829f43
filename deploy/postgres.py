"""The private PostgreSQL cluster in .state/pg on 127.0.0.1:55432 (provisioned by
deploy/pg_cluster.py), started and stopped here; or an external server.

PostgreSQL is not run under supervisord: pg_ctl is its own supervisor (the postmaster restarts
failed backends, postmaster.pid guards the data directory, `pg_ctl stop -m fast` is the clean
way down), and as root it must run as the `postgres` OS user, which pg_ctl under runuser does.
When DATABASE_URL points at another server, that server is only waited for, never started or
stopped.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from deploy.pg_cluster import (
    LOCAL_DATABASE_URL,
    PG_DATA,
    PG_DB,
    PG_DIR,
    PG_HOST,
    PG_LOG,
    PG_OS_USER,
    PG_PASSWORD,
    PG_PORT,
    PG_USER,
    TLS_CONF,
    _make_traversable,
    chown_to_pg,
    conf_text,
    initdb,
    install_tls,
    pg_env,
    pg_run,
    prepare_dirs,
    psql,
    server_bindir,
)
from deploy.system import (
    EXTERNAL_WAIT_TIMEOUT,
    InfraError,
    lock,
    pid_alive,
    port_open,
    rel,
    run,
    say,
    tail,
    wait_reaped,
)


def database_url() -> str:
    """DATABASE_URL from the environment, else the local cluster's admin URL."""
    return os.environ.get("DATABASE_URL", "").strip() or LOCAL_DATABASE_URL


def redact_url(url: str) -> str:
    """The URL without its password."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _same_server(url: str, host: str, port: int) -> bool:
    try:
        parts = urllib.parse.urlsplit(url)
        return parts.hostname in (host, "localhost") and (parts.port or 5432) == port
    except ValueError:
        return False


def postgres_is_local() -> bool:
    """True when the database is (or will be) the private cluster in .state/pg."""
    env = os.environ.get("DATABASE_URL", "").strip()
    if not env:
        return True
    if _same_server(env, PG_HOST, PG_PORT):
        # Pointing at our address: ours if our cluster runs or nothing else holds the port.
        return running_pid() is not None or not port_open(PG_HOST, PG_PORT)
    return False


def running_pid() -> int | None:
    """The postmaster's pid if our cluster is running."""
    try:
        pid = int((PG_DATA / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if not pid_alive(pid):
        return None
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode("utf-8", "replace")
    except OSError:
        return pid
    return pid if "postgres" in cmd or "postmaster" in cmd else None


def server_address() -> tuple[str, int]:
    """(host, port) of the database server DATABASE_URL names."""
    parts = urllib.parse.urlsplit(database_url())
    return parts.hostname or "localhost", parts.port or 5432


# --------------------------------------------------------------------------------------
# Up and down
# --------------------------------------------------------------------------------------


def _wait_external(url: str) -> None:
    try:
        host, port = server_address()
    except ValueError as exc:
        raise InfraError(f"DATABASE_URL is not a valid URL: {exc}") from exc
    # pg_isready understands postgresql:// URLs, not SQLAlchemy's "postgresql+asyncpg://".
    libpq_url = re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", url)
    isready = shutil.which("pg_isready")
    deadline = time.monotonic() + EXTERNAL_WAIT_TIMEOUT
    while True:
        if isready:
            if run([isready, "-q", "-t", "2", "-d", libpq_url], check=False, timeout=30).returncode == 0:
                return
        elif port_open(host, port):
            return
        if time.monotonic() > deadline:
            raise InfraError(
                f"DATABASE_URL server {host}:{port} did not accept connections "
                f"within {EXTERNAL_WAIT_TIMEOUT:.0f}s"
            )
        time.sleep(1)


def _start(bindir: Path) -> None:
    if port_open(PG_HOST, PG_PORT):
        raise InfraError(
            f"port {PG_PORT} is in use by another process; stop it, or set DATABASE_URL "
            "to use an existing server"
        )
    say(f"starting PostgreSQL on {PG_HOST}:{PG_PORT}")
    argv = [str(bindir / "pg_ctl"), "start", "-D", str(PG_DATA), "-l", str(PG_LOG), "-w", "-t", "60", "-s"]
    try:
        pg_run(argv, timeout=120, what="pg_ctl start")
    except InfraError as exc:
        raise InfraError(f"{exc}\n--- {rel(PG_LOG)} (tail) ---\n{tail(PG_LOG)}") from exc


def _bootstrap(bindir: Path) -> None:
    """Idempotent: the admin role's password (repairs a changed one) and the admin database,
    then a connection over TCP with the password, the way clients connect."""
    psql(bindir, f"ALTER ROLE {PG_USER} WITH LOGIN SUPERUSER PASSWORD '{PG_PASSWORD}'")
    if psql(bindir, f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'") != "1":  # noqa: S608
        psql(bindir, f'CREATE DATABASE "{PG_DB}"')
    run(
        [str(bindir / "psql"), "-X", "-tA", "-c", "SELECT 1", LOCAL_DATABASE_URL],
        env={**pg_env(), "PGCONNECT_TIMEOUT": "10"},
        cwd=PG_DIR,
        timeout=60,
        what="connecting with the admin URL",
    )


def ensure_postgres() -> str:
    """Make sure PostgreSQL accepts connections; returns the admin URL (DATABASE_URL)."""
    url = database_url()
    if not postgres_is_local():
        _wait_external(url)
        say(f"PostgreSQL (external) ready at {redact_url(url)}")
        return url
    with lock("postgres"):
        bindir = server_bindir()
        prepare_dirs()
        if not (PG_DATA / "PG_VERSION").exists():
            initdb(bindir)
        conf = PG_DATA / "revcycle.conf"
        before = conf.read_text() if conf.exists() else ""
        conf.write_text(conf_text(tls=install_tls(PG_DATA)))
        chown_to_pg(conf)
        pid = running_pid()
        if pid is None:
            _start(bindir)
        elif conf.read_text() != before:  # TLS switched on (or off): a reload applies it
            pg_run(
                [str(bindir / "pg_ctl"), "reload", "-D", str(PG_DATA), "-s"], timeout=60, what="pg_ctl reload"
            )
        _bootstrap(bindir)
    if pid is None:
        say(f"PostgreSQL ready at {redact_url(LOCAL_DATABASE_URL)}")
    else:
        say(f"PostgreSQL already running (pid {pid}) at {redact_url(LOCAL_DATABASE_URL)}")
    return LOCAL_DATABASE_URL


def stop_postgres() -> None:
    """Stop the private cluster (pg_ctl stop -m fast, else -m immediate); never an external one."""
    pid = running_pid()
    if pid is None:
        return
    say(f"stopping PostgreSQL (pid {pid})")
    stop = [str(PG_DATA), "-w", "-t", "60", "-s"]
    try:
        bindir = server_bindir(install=False)
        try:
            pg_run(
                [str(bindir / "pg_ctl"), "stop", "-D", *stop, "-m", "fast"], timeout=90, what="pg_ctl stop"
            )
        except InfraError as exc:
            say(f"{exc}; stopping it with -m immediate")
            pg_run([str(bindir / "pg_ctl"), "stop", "-D", *stop, "-m", "immediate"], timeout=90)
    except InfraError as exc:
        say(f"{exc}; killing the postmaster")
    # Backends exit with the postmaster; make sure none of ours remain.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _leftovers():
        time.sleep(0.2)
    for left in _leftovers():
        with contextlib.suppress(ProcessLookupError):
            os.kill(left, signal.SIGKILL)
    wait_reaped(pid)


def _leftovers() -> list[int]:
    """postgres processes whose command line or cwd points at our data directory."""
    found = []
    data = str(PG_DATA)
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if ("postgres" in cmd or "postmaster" in cmd) and (data in cmd or cwd == data):
            if pid_alive(int(entry.name)):
                found.append(int(entry.name))
    return found


@contextlib.contextmanager
def scratch_cluster(directory: Path, port: int) -> Iterator[str]:
    """A throwaway cluster in `directory` on PG_HOST:`port` that takes TLS connections only
    (its own local CA in directory/tls, ca.pem for clients), for tests of the clients' TLS
    without touching the shared server; yields its admin URL (no sslmode), then removes it."""
    bindir = server_bindir(install=False)
    data = directory / "data"
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        _make_traversable(directory)  # the postgres OS user must reach it
    (directory / "pwfile").write_text(PG_PASSWORD + "\n")
    for path in (directory, directory / "pwfile"):
        chown_to_pg(path)
    argv = [str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, f"--pwfile={directory / 'pwfile'}"]
    argv += ["--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C"]
    run(argv, user=PG_OS_USER, cwd=directory, env=pg_env(), timeout=120, what="initdb (scratch)")
    if not install_tls(data, directory / "tls"):
        raise InfraError("could not make the scratch cluster's certificate")
    settings = f"listen_addresses = '{PG_HOST}'\nport = {port}\nunix_socket_directories = '{directory}'\n"
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(settings + "fsync = off\n" + TLS_CONF)
    # TLS or nothing over TCP: a plain connection is refused.
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
        "hostnossl all all 0.0.0.0/0 reject\n"
    )
    ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(directory / "postgres.log")]
    run([*ctl, "start", "-w", "-t", "60", "-s"], user=PG_OS_USER, cwd=directory, env=pg_env(), timeout=120)
    try:
        yield f"postgresql://{PG_USER}:{PG_PASSWORD}@{PG_HOST}:{port}/postgres"
    finally:
        run(
            [*ctl, "stop", "-m", "immediate", "-s"], user=PG_OS_USER, cwd=directory, env=pg_env(), check=False
        )
        shutil.rmtree(directory, ignore_errors=True)
