#!/usr/bin/env python3
"""Local infrastructure manager: a private PostgreSQL, a KRaft Kafka broker and the services.

Standard library only, so it runs with the system ``python3`` before any virtualenv exists.

    python3 deploy/infra.py up            # PostgreSQL + Kafka + migrations + services
    python3 deploy/infra.py down          # stop everything this tool started
    python3 deploy/infra.py status | env | logs [name] [-f]
    python3 deploy/infra.py pg-up | kafka-up | kafka-stop | kafka-start | migrate | services-up

Everything lives under ``.state/`` at the repository root (git-ignored): the database
cluster, the broker's class path and data, pid files (``.state/run``) and logs
(``.state/logs``).  When ``DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS`` point at external
servers, those are only waited for, never started or stopped.

Importable API (``import deploy.infra``): database_url(), kafka_bootstrap(),
ensure_postgres(), ensure_kafka(), stop_kafka(), start_kafka(), kafka_is_local(),
postgres_is_local(), stop_all().  Failures raise InfraError with a short message.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import grp
import hashlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

# --------------------------------------------------------------------------------------
# Layout and constants
# --------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".state"
RUN_DIR = STATE / "run"
LOG_DIR = STATE / "logs"

PG_DIR = STATE / "pg"
PG_DATA = PG_DIR / "data"
PG_PORT = 55432
PG_HOST = "127.0.0.1"
PG_USER = "revcycle"
PG_PASSWORD = "revcycle"  # noqa: S105 - local development cluster only
PG_DB = "revcycle"
PG_OS_USER = "postgres"  # PostgreSQL refuses to run as root; used when uid == 0
PG_LOG = LOG_DIR / "postgres.log"
LOCAL_DATABASE_URL = f"postgresql://{PG_USER}:{PG_PASSWORD}@{PG_HOST}:{PG_PORT}/{PG_DB}"

KAFKA_DIR = STATE / "kafka"
KAFKA_LIB = KAFKA_DIR / "lib"
KAFKA_DATA = KAFKA_DIR / "data"
KAFKA_PROPS = KAFKA_DIR / "server.properties"
KAFKA_CLUSTER_ID = KAFKA_DIR / "cluster.id"
KAFKA_POM = ROOT / "deploy" / "kafka" / "pom.xml"
KAFKA_PROPS_TEMPLATE = ROOT / "deploy" / "kafka" / "server.properties.in"
KAFKA_LOG4J = ROOT / "deploy" / "kafka" / "log4j.properties"
KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9093
KAFKA_HOST = "127.0.0.1"
LOCAL_KAFKA_BOOTSTRAP = f"{KAFKA_HOST}:{KAFKA_PORT}"
KAFKA_HEAP = ("-Xms256m", "-Xmx768m")
KAFKA_LOG = LOG_DIR / "kafka.log"
KAFKA_PID = RUN_DIR / "kafka.pid"
KAFKA_STARTED_MARKERS = ("Kafka Server started", "[KafkaServer id=1] started")

START_TIMEOUT = 90.0  # seconds: Kafka broker, services
EXTERNAL_WAIT_TIMEOUT = 60.0  # seconds: external DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS
STOP_TIMEOUT = 30.0  # seconds between SIGTERM and SIGKILL

# The services.  Keep this the single list: `up`, `down`, `status` and `logs` follow it.
SERVICES = {"eligibility": 8001, "claims": 8002, "payments": 8003, "notifications": 8004}


class Proc(NamedTuple):
    """A background process managed by services-up/down: argv may use {python} and {port}."""

    name: str
    argv: tuple[str, ...]
    port: int
    health: str = "/health/ready"


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
    *(Proc(name, _uvicorn(f"services.{name}.main:app"), port) for name, port in SERVICES.items()),
    # The payer sandbox (a partner system: 270/271 over HTTP, claims and 835s over Kafka).
    Proc("payer-sandbox", _uvicorn("deploy.payer_sandbox.main:app"), 8010, "/health"),
    # More background processes go here, one line each.
]


class InfraError(RuntimeError):
    """An expected failure: printed as one short message by the CLI, no stack trace."""


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def _say(msg: str) -> None:
    """Progress messages go to stderr so stdout stays clean for `env` and `status`."""
    print(f"infra: {msg}", file=sys.stderr, flush=True)


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


# Log size when infra.py last started each process: failure reports show only that run.
_LOG_START: dict[Path, int] = {}


def _tail(path: Path, lines: int = 40, this_run: bool = False) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            start = _LOG_START.get(path, 0) if this_run else 0
            f.seek(max(start if start <= size else 0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return f"(no log at {_rel(path)})"
    return "\n".join(data.splitlines()[-lines:])


def _run(
    argv: Sequence[str],
    *,
    as_pg: bool = False,
    check: bool = True,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = 300,
    what: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing output; on failure raise InfraError with the output's tail."""
    cmd = list(argv)
    if as_pg and os.geteuid() == 0:
        cmd = ["runuser", "-u", PG_OS_USER, "--", *cmd]
    try:
        proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise InfraError(f"command not found: {cmd[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise InfraError(f"{what or cmd[0]} timed out after {timeout:.0f}s") from exc
    if check and proc.returncode != 0:
        out = "\n".join((proc.stdout or "").strip().splitlines()[-25:])
        raise InfraError(
            f"{what or shlex.join(cmd)} failed (exit {proc.returncode})" + (f":\n{out}" if out else "")
        )
    return proc


def _port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _http_status(url: str, timeout: float = 2.0) -> int | None:
    """HTTP status of a GET (no proxies), or None when nothing answers."""
    try:
        with _NO_PROXY_OPENER.open(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _lock(name: str) -> Iterator[None]:
    """Inter-process lock so concurrent callers (e.g. test workers) don't race to start things."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with (RUN_DIR / f"{name}.lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _dirs() -> None:
    for d in (STATE, RUN_DIR, LOG_DIR):
        d.mkdir(parents=True, exist_ok=True)


# --------------------------------------------------------------------------------------
# Processes: pid files, liveness, stopping
# --------------------------------------------------------------------------------------


class _Background(subprocess.Popen):  # type: ignore[type-arg]
    """A server meant to outlive this Python process: no "still running" ResourceWarning."""

    def __del__(self) -> None:
        pass


# Children started by this Python process, kept so they can be reaped (a dead, unreaped
# child would still look alive, e.g. after stop_kafka() in a test process).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _pid_alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            _CHILDREN.pop(pid, None)
            return False
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]


def _read_pid(pidfile: Path, must_contain: Sequence[str] = ()) -> int | None:
    """The pid recorded in pidfile if that process is alive (and its command line matches)."""
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if pid <= 1 or not _pid_alive(pid):
        return None
    cmd = _cmdline(pid)
    if cmd is not None and must_contain:
        joined = "\0".join(cmd)
        if not all(token in joined for token in must_contain):
            return None  # pid reused by an unrelated process
    return pid


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Only zombies left?  Check every member via /proc.
    try:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    except OSError:
        return True
    return False


def _reap(pid: int) -> None:
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1)
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _stop_pid(name: str, pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process (and its group when it leads one), wait, then SIGKILL the group."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    own_group = pgid == pid  # started with start_new_session=True
    with contextlib.suppress(ProcessLookupError):
        if own_group:
            os.killpg(pgid, signal.SIGTERM)
        else:
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not _pid_alive(pid) and (not own_group or not _group_alive(pgid)):
            return
        time.sleep(0.2)
    _say(f"{name} did not stop within {timeout:.0f}s; killing it")
    with contextlib.suppress(ProcessLookupError):
        if own_group:
            os.killpg(pgid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _reap(pid)
        if not _pid_alive(pid) and (not own_group or not _group_alive(pgid)):
            return
        time.sleep(0.1)
    raise InfraError(f"{name} (pid {pid}) is still alive after SIGKILL")


def _spawn(
    name: str, argv: Sequence[str], log: Path, pidfile: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a background process in its own session, output appended to log."""
    _dirs()
    with log.open("ab") as out:
        out.write(f"\n--- infra.py: starting {name} at {time.strftime('%F %T')} ---\n".encode())
        out.flush()
        _LOG_START[log] = out.tell()
        try:
            proc = _Background(  # fixed argv, no shell
                list(argv),
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except FileNotFoundError as exc:
            raise InfraError(f"cannot start {name}: {argv[0]} not found") from exc
    _CHILDREN[proc.pid] = proc
    pidfile.write_text(f"{proc.pid}\n")
    return proc


# --------------------------------------------------------------------------------------
# System packages (apt)
# --------------------------------------------------------------------------------------


_APT_UPDATED: list[bool] = []  # `apt-get update` once per process


def _apt_install(packages: Sequence[str], why: str) -> None:
    if os.geteuid() != 0:
        raise InfraError(
            f"{why} is not installed and installing it needs root. "
            f"Run: sudo apt-get install -y {' '.join(packages)}"
        )
    if not shutil.which("apt-get"):
        raise InfraError(f"{why} is not installed and apt-get is not available; install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _say(f"installing {' '.join(packages)} with apt-get (for {why}) ...")
    if not _APT_UPDATED:
        _run(["apt-get", "update", "-q"], env=env, timeout=900, what="apt-get update")
        _APT_UPDATED.append(True)
    _run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        env=env,
        timeout=1800,
        what=f"apt-get install {' '.join(packages)}",
    )


PG_CREATECLUSTER_CONF = Path("/etc/postgresql-common/createcluster.conf")


def _install_postgresql() -> None:
    # Keep the Debian package from creating (and starting) its own "main" cluster on
    # port 5432: we only need the binaries; our cluster lives in .state/pg.
    if os.geteuid() != 0:
        _apt_install(["postgresql"], "PostgreSQL")  # raises with the command to run
    if not PG_CREATECLUSTER_CONF.exists():
        _apt_install(["postgresql-common"], "PostgreSQL")
    with contextlib.suppress(OSError):
        text = PG_CREATECLUSTER_CONF.read_text()
        if not re.search(r"^\s*create_main_cluster\s*=", text, re.M):
            PG_CREATECLUSTER_CONF.write_text(text.rstrip("\n") + "\ncreate_main_cluster = false\n")
    _apt_install(["postgresql"], "PostgreSQL")


def install_system_deps() -> None:
    """Install missing system packages (PostgreSQL server, JDK, Maven) with apt-get."""
    if not _pg_bindir_candidates():
        _install_postgresql()
    missing = []
    if not shutil.which("java"):
        missing.append("default-jre-headless")
    if not shutil.which("mvn"):
        missing.append("maven")
    if missing:
        _apt_install(missing, "the Kafka broker (Java/Maven)")
    if not shutil.which("jq"):
        # Only the README's curl walkthrough uses it: nice to have, never a reason to fail.
        try:
            _apt_install(["jq"], "the README's curl walkthrough")
        except InfraError as exc:
            _say(f"jq not installed ({exc}); the README walkthrough needs it")


# --------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------


def database_url() -> str:
    """DATABASE_URL from the environment, else the local cluster's admin URL."""
    return os.environ.get("DATABASE_URL", "").strip() or LOCAL_DATABASE_URL


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
        return _pg_running_pid() is not None or not _port_open(PG_HOST, PG_PORT)
    return False


def _pg_version_key(path: Path) -> tuple[int, ...]:
    nums = re.findall(r"\d+", path.parent.name)
    return tuple(int(n) for n in nums) or (0,)


def _pg_bindir_candidates() -> list[Path]:
    found: list[Path] = []

    def add(d: Path) -> None:
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file() and d not in found:
            found.append(d)

    if os.environ.get("PG_BINDIR"):
        add(Path(os.environ["PG_BINDIR"]))
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_pg_version_key, reverse=True):
        add(d)
    if shutil.which("pg_config"):
        with contextlib.suppress(InfraError):
            add(Path(_run(["pg_config", "--bindir"], timeout=30).stdout.strip()))
    if shutil.which("pg_ctl"):
        add(Path(shutil.which("pg_ctl") or "").resolve().parent)
    return found


def _pg_bindir(install: bool = True) -> Path:
    """PostgreSQL server binaries; matches an existing cluster's major version when possible."""
    cands = _pg_bindir_candidates()
    if not cands and not install:
        raise InfraError("PostgreSQL binaries (pg_ctl) not found")
    if not cands:
        _install_postgresql()
        cands = _pg_bindir_candidates()
        if not cands:
            raise InfraError("PostgreSQL was installed but initdb/pg_ctl were not found")
    version_file = PG_DATA / "PG_VERSION"
    if version_file.exists():
        want = version_file.read_text().strip()
        for d in cands:
            out = _run([str(d / "pg_ctl"), "--version"], check=False, timeout=30).stdout
            m = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
            if m and m.group(1) == want:
                return d
        raise InfraError(
            f"the cluster in {_rel(PG_DATA)} was created by PostgreSQL {want}, which is not "
            "installed; run `make clean-state` to recreate it"
        )
    return cands[0]


def _pg_socket_dir() -> Path:
    sock = PG_DIR / "run"
    # A unix socket path must fit in sun_path (108 bytes incl. NUL).
    if len(str(sock / f".s.PGSQL.{PG_PORT}.lock")) >= 100:
        digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]  # noqa: S324 - not security
        sock = Path("/tmp") / f"revcycle-pg-{digest}"  # noqa: S108 - path too long otherwise
    return sock


def _pg_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env.pop("LANG", None)
    return env


def _pg_running_pid() -> int | None:
    """The postmaster's pid if our cluster is running."""
    try:
        pid = int((PG_DATA / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if not _pid_alive(pid):
        return None
    cmd = _cmdline(pid)
    if cmd is not None and not any("postgres" in a or "postmaster" in a for a in cmd[:1]):
        return None
    return pid


def _ensure_pg_os_user() -> tuple[int, int]:
    try:
        pw = pwd.getpwnam(PG_OS_USER)
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        pass
    _say(f"creating system user {PG_OS_USER!r} (PostgreSQL refuses to run as root)")
    argv = ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent"]
    argv += ["--shell", "/usr/sbin/nologin"]
    try:
        grp.getgrnam(PG_OS_USER)
        argv += ["--gid", PG_OS_USER]
    except KeyError:
        argv += ["--user-group"]
    _run([*argv, PG_OS_USER], what=f"useradd {PG_OS_USER}")
    pw = pwd.getpwnam(PG_OS_USER)
    return pw.pw_uid, pw.pw_gid


def _make_traversable_for_pg(path: Path) -> None:
    """Make sure the postgres OS user can reach path: add o+x to ancestors that block it."""
    probe = ["runuser", "-u", PG_OS_USER, "--", "test", "-x", str(path)]
    if _run(probe, check=False, timeout=30).returncode == 0:
        return
    changed = []
    for d in [path, *path.parents]:
        mode = d.stat().st_mode
        if not mode & 0o001:
            d.chmod(mode | 0o001)
            changed.append(str(d))
    if changed:
        _say(f"made traversable for {PG_OS_USER} (o+x): {', '.join(changed)}")
    if _run(probe, check=False, timeout=30).returncode != 0:
        raise InfraError(f"the {PG_OS_USER} user cannot access {path}; check its permissions")


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    for p in [path, *path.rglob("*")]:
        with contextlib.suppress(FileNotFoundError):
            os.lchown(p, uid, gid)


def _prepare_pg_dirs() -> None:
    _dirs()
    sock = _pg_socket_dir()
    for d in (PG_DIR, sock):
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o700)
    PG_LOG.touch(exist_ok=True)
    if os.geteuid() == 0:
        uid, gid = _ensure_pg_os_user()
        for d in (PG_DIR, sock):
            if d.stat().st_uid != uid:
                _chown_tree(d, uid, gid)
        os.chown(PG_LOG, uid, gid)
        _make_traversable_for_pg(PG_DIR)
        _make_traversable_for_pg(sock)


def _pg_conf() -> str:
    return (
        "# Written by deploy/infra.py on every pg-up; edits here are overwritten.\n"
        f"listen_addresses = '{PG_HOST}'\n"
        f"port = {PG_PORT}\n"
        f"unix_socket_directories = '{_pg_socket_dir()}'\n"
        "unix_socket_permissions = 0700\n"
        "max_connections = 200\n"
        "shared_buffers = 128MB\n"
        "password_encryption = 'scram-sha-256'\n"
        "logging_collector = off\n"
        "log_min_messages = warning\n"
        "log_connections = off\n"
    )


def _pg_initdb(bindir: Path) -> None:
    tmp = PG_DIR / "data.init"
    pwfile = PG_DIR / "pwfile"
    if tmp.exists():
        shutil.rmtree(tmp)
    _say(f"initializing PostgreSQL cluster in {_rel(PG_DATA)}")
    pwfile.write_text(PG_PASSWORD + "\n")
    pwfile.chmod(0o600)
    if os.geteuid() == 0:
        pw = pwd.getpwnam(PG_OS_USER)
        os.chown(pwfile, pw.pw_uid, pw.pw_gid)
    try:
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(tmp),
                "-U",
                PG_USER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",  # the socket dir is private (0700)
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            as_pg=True,
            cwd=PG_DIR,
            env=_pg_env(),
            what="initdb",
        )
    finally:
        pwfile.unlink(missing_ok=True)
    with (tmp / "postgresql.conf").open("a") as f:
        f.write("\n# revcycle local settings (deploy/infra.py)\ninclude_if_exists = 'revcycle.conf'\n")
    tmp.rename(PG_DATA)


def _psql(bindir: Path, sql: str, db: str = "postgres") -> str:
    argv = [str(bindir / "psql"), "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1"]
    argv += ["-h", str(_pg_socket_dir()), "-p", str(PG_PORT), "-U", PG_USER, "-d", db, "-c", sql]
    return _run(argv, env=_pg_env(), cwd=PG_DIR, timeout=60, what="psql").stdout.strip()


def _wait_external_postgres(url: str) -> None:
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname or "localhost", parts.port or 5432
    except ValueError as exc:
        raise InfraError(f"DATABASE_URL is not a valid URL: {exc}") from exc
    # pg_isready understands postgresql:// URLs, not SQLAlchemy's "postgresql+asyncpg://".
    libpq_url = re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", url)
    isready = shutil.which("pg_isready")
    deadline = time.monotonic() + EXTERNAL_WAIT_TIMEOUT
    while True:
        if isready:
            rc = _run([isready, "-q", "-t", "2", "-d", libpq_url], check=False, timeout=30)
            if rc.returncode == 0:
                return
        elif _port_open(host, port):
            return
        if time.monotonic() > deadline:
            raise InfraError(
                f"DATABASE_URL server {host}:{port} did not accept connections "
                f"within {EXTERNAL_WAIT_TIMEOUT:.0f}s"
            )
        time.sleep(1)


def ensure_postgres() -> str:
    """Make sure PostgreSQL accepts connections; returns the admin URL (DATABASE_URL)."""
    url = database_url()
    if not postgres_is_local():
        _wait_external_postgres(url)
        _say(f"PostgreSQL (external) ready at {redact_url(url)}")
        return url
    with _lock("postgres"):
        bindir = _pg_bindir()
        _prepare_pg_dirs()
        if not (PG_DATA / "PG_VERSION").exists():
            _pg_initdb(bindir)
        conf = PG_DATA / "revcycle.conf"
        conf.write_text(_pg_conf())
        if os.geteuid() == 0:
            pw = pwd.getpwnam(PG_OS_USER)
            os.chown(conf, pw.pw_uid, pw.pw_gid)
        pid = _pg_running_pid()
        if pid is None:
            if _port_open(PG_HOST, PG_PORT):
                raise InfraError(
                    f"port {PG_PORT} is in use by another process; stop it, or set DATABASE_URL "
                    "to use an existing server"
                )
            _say(f"starting PostgreSQL on {PG_HOST}:{PG_PORT}")
            try:
                _run(
                    [
                        str(bindir / "pg_ctl"),
                        "start",
                        "-D",
                        str(PG_DATA),
                        "-l",
                        str(PG_LOG),
                        "-w",
                        "-t",
                        "60",
                        "-s",
                    ],
                    as_pg=True,
                    cwd=PG_DIR,
                    env=_pg_env(),
                    timeout=120,
                    what="pg_ctl start",
                )
            except InfraError as exc:
                raise InfraError(f"{exc}\n--- {_rel(PG_LOG)} (tail) ---\n{_tail(PG_LOG)}") from exc
        # Idempotent bootstrap: the password (repairs a changed one) and the admin database.
        _psql(bindir, f"ALTER ROLE {PG_USER} WITH LOGIN SUPERUSER PASSWORD '{PG_PASSWORD}'")
        if _psql(bindir, f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'") != "1":  # noqa: S608
            _psql(bindir, f'CREATE DATABASE "{PG_DB}"')
        # Prove the TCP + password path that clients use.
        _run(
            [str(bindir / "psql"), "-X", "-tA", "-c", "SELECT 1", LOCAL_DATABASE_URL],
            env={**_pg_env(), "PGCONNECT_TIMEOUT": "10"},
            cwd=PG_DIR,
            timeout=60,
            what="connecting with the admin URL",
        )
    if pid is None:
        _say(f"PostgreSQL ready at {redact_url(LOCAL_DATABASE_URL)}")
    else:
        _say(f"PostgreSQL already running (pid {pid}) at {redact_url(LOCAL_DATABASE_URL)}")
    return LOCAL_DATABASE_URL


def stop_postgres() -> None:
    """Stop the private cluster (pg_ctl stop -m fast); never touches an external server."""
    pid = _pg_running_pid()
    if pid is None:
        return
    _say(f"stopping PostgreSQL (pid {pid})")
    try:
        bindir = _pg_bindir(install=False)
        _run(
            [str(bindir / "pg_ctl"), "stop", "-D", str(PG_DATA), "-m", "fast", "-w", "-t", "60", "-s"],
            as_pg=True,
            cwd=PG_DIR,
            env=_pg_env(),
            timeout=90,
            what="pg_ctl stop",
        )
    except InfraError as exc:
        _say(f"{exc}; killing the postmaster")
    if _pid_alive(pid):
        _stop_pid("postgres", pid, timeout=10)
    # Backends exit with the postmaster; make sure none of ours remain.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _pg_leftovers():
        time.sleep(0.2)
    for left in _pg_leftovers():
        with contextlib.suppress(ProcessLookupError):
            os.kill(left, signal.SIGKILL)


def _pg_leftovers() -> list[int]:
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
            if _pid_alive(int(entry.name)):
                found.append(int(entry.name))
    return found


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


# --------------------------------------------------------------------------------------
# Kafka
# --------------------------------------------------------------------------------------


def kafka_bootstrap() -> str:
    """KAFKA_BOOTSTRAP_SERVERS from the environment, else the local broker's address."""
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip() or LOCAL_KAFKA_BOOTSTRAP


def _bootstrap_hosts(value: str) -> list[tuple[str, int]]:
    hosts = []
    for item in value.split(","):
        item = re.sub(r"^\w+://", "", item.strip())
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host:
            host, port = port, "9092"
        try:
            hosts.append((host.strip("[]"), int(port)))
        except ValueError as exc:
            raise InfraError(f"bad KAFKA_BOOTSTRAP_SERVERS entry: {item!r}") from exc
    return hosts


def _kafka_pid() -> int | None:
    return _read_pid(KAFKA_PID, ("kafka.Kafka",))


def kafka_running() -> bool:
    """True when the broker infra.py starts is up (its pid alive and its port open)."""
    return _kafka_pid() is not None and _port_open(KAFKA_HOST, KAFKA_PORT)


def kafka_is_local() -> bool:
    """True when Kafka is (or will be) the broker infra.py runs, so it may be stopped/started."""
    env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if not env:
        return True
    hosts = _bootstrap_hosts(env)
    if len(hosts) == 1 and hosts[0][0] in (KAFKA_HOST, "localhost") and hosts[0][1] == KAFKA_PORT:
        # Pointing at our address: ours if our broker runs or nothing else holds the port.
        return _kafka_pid() is not None or not _port_open(KAFKA_HOST, KAFKA_PORT)
    return False


def _wait_external_kafka(value: str) -> None:
    hosts = _bootstrap_hosts(value)
    if not hosts:
        raise InfraError("KAFKA_BOOTSTRAP_SERVERS is empty")
    deadline = time.monotonic() + EXTERNAL_WAIT_TIMEOUT
    while not any(_port_open(h, p) for h, p in hosts):
        if time.monotonic() > deadline:
            raise InfraError(
                f"Kafka at {value} did not accept connections within {EXTERNAL_WAIT_TIMEOUT:.0f}s"
            )
        time.sleep(1)


def _kafka_lib_stamp() -> str:
    return hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()


def _kafka_resolve() -> None:
    """Resolve the broker's class path into .state/kafka/lib (once per pom.xml version)."""
    stamp_file = KAFKA_LIB / ".resolved"
    want = _kafka_lib_stamp()
    if stamp_file.exists() and stamp_file.read_text().strip() == want:
        return
    if not shutil.which("mvn") or not shutil.which("java"):
        install_system_deps()
    m = re.search(r"<kafka.version>([^<]+)</kafka.version>", KAFKA_POM.read_text())
    _say(f"resolving Kafka {m.group(1) if m else ''} from Maven Central into {_rel(KAFKA_LIB)}")
    tmp = KAFKA_DIR / "lib.new"
    if tmp.exists():
        shutil.rmtree(tmp)
    KAFKA_DIR.mkdir(parents=True, exist_ok=True)
    _run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(KAFKA_POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={tmp}",
            "-DincludeScope=runtime",
        ],
        cwd=ROOT,
        timeout=1800,
        what="mvn dependency:copy-dependencies (Kafka)",
    )
    if not any(tmp.glob("kafka_*.jar")):
        raise InfraError("mvn finished but no kafka jar was resolved")
    (tmp / ".resolved").write_text(want + "\n")
    if KAFKA_LIB.exists():
        shutil.rmtree(KAFKA_LIB)
    tmp.rename(KAFKA_LIB)


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if not java:
        raise InfraError("java not found; install OpenJDK 17 (apt-get install default-jre-headless)")
    return java


def _kafka_prepare() -> None:
    _dirs()
    _kafka_resolve()
    KAFKA_DATA.mkdir(parents=True, exist_ok=True)
    text = KAFKA_PROPS_TEMPLATE.read_text()
    text = text.replace("@DATA_DIR@", str(KAFKA_DATA))
    text = text.replace("@PORT@", str(KAFKA_PORT))
    text = text.replace("@CONTROLLER_PORT@", str(KAFKA_CONTROLLER_PORT))
    KAFKA_PROPS.write_text(text)
    if (KAFKA_DATA / "meta.properties").exists():
        return
    cp = f"{KAFKA_LIB}/*"
    if KAFKA_CLUSTER_ID.exists() and KAFKA_CLUSTER_ID.read_text().strip():
        cluster_id = KAFKA_CLUSTER_ID.read_text().strip()
    else:
        out = _run(
            [_java(), "-cp", cp, "kafka.tools.StorageTool", "random-uuid"],
            timeout=120,
            what="StorageTool random-uuid",
        ).stdout
        cluster_id = out.strip().splitlines()[-1].strip()
        KAFKA_CLUSTER_ID.write_text(cluster_id + "\n")
    _say(f"formatting Kafka storage in {_rel(KAFKA_DATA)} (cluster id {cluster_id})")
    _run(
        [
            _java(),
            "-cp",
            cp,
            f"-Dlog4j.configuration=file:{KAFKA_LOG4J}",
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(KAFKA_PROPS),
        ],
        timeout=120,
        what="StorageTool format",
    )


def _kafka_log_started(offset: int) -> bool:
    try:
        with KAFKA_LOG.open("rb") as f:
            f.seek(offset)
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return False
    return any(m in data for m in KAFKA_STARTED_MARKERS)


def _start_local_kafka() -> str:
    with _lock("kafka"):
        pid = _kafka_pid()
        if pid is not None and _port_open(KAFKA_HOST, KAFKA_PORT):
            _say(f"Kafka already running (pid {pid}) at {LOCAL_KAFKA_BOOTSTRAP}")
            return LOCAL_KAFKA_BOOTSTRAP
        if pid is None:
            KAFKA_PID.unlink(missing_ok=True)
            for port in (KAFKA_PORT, KAFKA_CONTROLLER_PORT):
                if _port_open(KAFKA_HOST, port):
                    raise InfraError(
                        f"port {port} is in use by another process; stop it, or set "
                        "KAFKA_BOOTSTRAP_SERVERS to use an existing broker"
                    )
            _kafka_prepare()
            KAFKA_LOG.touch(exist_ok=True)
            offset = KAFKA_LOG.stat().st_size
            argv = [
                _java(),
                *KAFKA_HEAP,
                "-XX:+UseG1GC",
                "-XX:MaxGCPauseMillis=20",
                "-Djava.awt.headless=true",
                f"-Dlog4j.configuration=file:{KAFKA_LOG4J}",
                "-cp",
                f"{KAFKA_LIB}/*",
                "kafka.Kafka",
                str(KAFKA_PROPS),
            ]
            _say(f"starting Kafka broker on {LOCAL_KAFKA_BOOTSTRAP}")
            proc = _spawn("kafka", argv, KAFKA_LOG, KAFKA_PID)
            pid = proc.pid
        else:
            offset = 0  # already starting: accept any start marker in the log
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if not _pid_alive(pid):
                KAFKA_PID.unlink(missing_ok=True)
                raise InfraError(
                    f"the Kafka broker exited during startup; {_rel(KAFKA_LOG)} (tail):\n"
                    + _tail(KAFKA_LOG, this_run=True)
                )
            if _port_open(KAFKA_HOST, KAFKA_PORT) and _kafka_log_started(offset):
                break
            if time.monotonic() > deadline:
                raise InfraError(
                    f"the Kafka broker did not become ready within {START_TIMEOUT:.0f}s; "
                    f"{_rel(KAFKA_LOG)} (tail):\n" + _tail(KAFKA_LOG, this_run=True)
                )
            time.sleep(0.25)
    _say(f"Kafka ready at {LOCAL_KAFKA_BOOTSTRAP} (pid {pid})")
    return LOCAL_KAFKA_BOOTSTRAP


def ensure_kafka() -> str:
    """Make sure Kafka accepts connections; returns the bootstrap servers."""
    if not kafka_is_local():
        value = kafka_bootstrap()
        _wait_external_kafka(value)
        _say(f"Kafka (external) reachable at {value}")
        return value
    return _start_local_kafka()


def start_kafka() -> str:
    """Start the local broker (after stop_kafka); InfraError when Kafka is external."""
    if not kafka_is_local():
        raise InfraError(f"Kafka is external ({kafka_bootstrap()}); infra.py does not manage it")
    return _start_local_kafka()


def stop_kafka() -> None:
    """Stop the local broker: SIGTERM, up to 30 s, then SIGKILL its process group.

    InfraError when Kafka is external (KAFKA_BOOTSTRAP_SERVERS points elsewhere).
    """
    if not kafka_is_local():
        raise InfraError(f"Kafka is external ({kafka_bootstrap()}); infra.py does not stop it")
    _stop_local_kafka()


def _stop_local_kafka() -> None:
    """Stop the broker infra.py started, if any (whatever KAFKA_BOOTSTRAP_SERVERS says)."""
    with _lock("kafka"):
        pid = _kafka_pid()
        if pid is not None:
            _say(f"stopping Kafka (pid {pid})")
            _stop_pid("kafka", pid)
        KAFKA_PID.unlink(missing_ok=True)
    if pid is not None:
        deadline = time.monotonic() + 10
        while _port_open(KAFKA_HOST, KAFKA_PORT, timeout=0.3) and time.monotonic() < deadline:
            time.sleep(0.2)


# --------------------------------------------------------------------------------------
# Migrations and services
# --------------------------------------------------------------------------------------


def venv_python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    if venv.exists():
        return str(venv)
    _say("no .venv found (run `make install`); using the current Python")
    return sys.executable


def child_env() -> dict[str, str]:
    """The environment for migrate and the services: os.environ plus where the servers are."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url()
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap()
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def migrate() -> None:
    _say("running migrations (python -m shared.migrate)")
    proc = subprocess.run(  # noqa: S603 - fixed argv
        [venv_python(), "-m", "shared.migrate"], cwd=ROOT, env=child_env(), check=False
    )
    if proc.returncode != 0:
        raise InfraError(f"migrations failed (shared.migrate exit {proc.returncode})")


def _pidfile(p: Proc) -> Path:
    return RUN_DIR / f"{p.name}.pid"


def _logfile(name: str) -> Path:
    return LOG_DIR / f"{name}.log"


def _argv(p: Proc, python: str) -> list[str]:
    return [a.format(python=python, port=p.port) for a in p.argv]


def _proc_pid(p: Proc) -> int | None:
    # Match everything after the interpreter, e.g. "-m uvicorn services.claims.main:app ...".
    return _read_pid(_pidfile(p), _argv(p, "")[1:])


def _proc_url(p: Proc, path: str = "") -> str:
    return f"http://127.0.0.1:{p.port}{path}"


def _proc(name: str) -> Proc:
    for p in PROCESSES:
        if p.name == name:
            return p
    raise InfraError(f"unknown service {name!r}; known: {', '.join(p.name for p in PROCESSES)}")


def services_up(names: Sequence[str] | None = None) -> None:
    """Start the services (idempotent) and wait until each /health/ready answers 200."""
    procs = [_proc(n) for n in names] if names else list(PROCESSES)
    _dirs()
    python = venv_python()
    env = child_env()
    started: dict[str, int] = {}
    with _lock("services"):
        for p in procs:
            pid = _proc_pid(p)
            if pid is not None:
                started[p.name] = pid
                continue
            _pidfile(p).unlink(missing_ok=True)
            if _port_open("127.0.0.1", p.port):
                if _http_status(_proc_url(p, p.health)) == 200:
                    _say(
                        f"{p.name}: port {p.port} already served by a process infra.py did not "
                        "start; leaving it alone"
                    )
                    continue
                raise InfraError(f"{p.name}: port {p.port} is in use by another process")
            _say(f"starting {p.name} on port {p.port}")
            started[p.name] = _spawn(p.name, _argv(p, python), _logfile(p.name), _pidfile(p), env).pid
    deadline = time.monotonic() + START_TIMEOUT
    waiting = {p.name: p for p in procs if p.name in started}
    while waiting:
        for name, p in list(waiting.items()):
            if not _pid_alive(started[name]):
                _pidfile(p).unlink(missing_ok=True)
                raise InfraError(
                    f"{name} exited during startup; {_rel(_logfile(name))} (tail):\n"
                    + _tail(_logfile(name), this_run=True)
                )
            if _http_status(_proc_url(p, p.health)) == 200:
                _say(f"{name} ready at {_proc_url(p)} (pid {started[name]})")
                del waiting[name]
        if not waiting:
            break
        if time.monotonic() > deadline:
            name = next(iter(waiting))
            raise InfraError(
                f"{', '.join(waiting)} not ready within {START_TIMEOUT:.0f}s "
                f"({_proc_url(waiting[name], waiting[name].health)}); "
                f"{_rel(_logfile(name))} (tail):\n" + _tail(_logfile(name), this_run=True)
            )
        time.sleep(0.5)


def services_down() -> None:
    for p in reversed(PROCESSES):
        pid = _proc_pid(p)
        if pid is not None:
            _say(f"stopping {p.name} (pid {pid})")
            _stop_pid(p.name, pid)
        _pidfile(p).unlink(missing_ok=True)


def stop_all() -> None:
    """Stop the services, the local broker and the private PostgreSQL (only what we started)."""
    errors = []
    for step in (services_down, _stop_local_kafka, stop_postgres):
        try:
            step()
        except InfraError as exc:
            errors.append(str(exc))
    if errors:
        raise InfraError("; ".join(errors))


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def _local_row(name: str, pid: int | None, host: str, port: int) -> tuple[str, str, str, str, str]:
    """A status row for a server this script runs: ready means alive and accepting TCP."""
    ready = pid is not None and _port_open(host, port)
    return (
        name,
        "running" if pid else "stopped",
        str(pid or "-"),
        f"{host}:{port}",
        "ready" if ready else "not ready",
    )


def _status_lines() -> list[str]:
    rows: list[tuple[str, str, str, str, str]] = []
    if postgres_is_local():
        rows.append(_local_row("postgres", _pg_running_pid(), PG_HOST, PG_PORT))
    else:
        parts = urllib.parse.urlsplit(database_url())
        host, port = parts.hostname or "localhost", parts.port or 5432
        ready = _port_open(host, port)
        rows.append(("postgres", "external", "-", f"{host}:{port}", "ready" if ready else "not ready"))
    if kafka_is_local():
        rows.append(_local_row("kafka", _kafka_pid(), KAFKA_HOST, KAFKA_PORT))
    else:
        hosts = _bootstrap_hosts(kafka_bootstrap())
        ready = any(_port_open(h, p) for h, p in hosts)
        rows.append(("kafka", "external", "-", kafka_bootstrap(), "ready" if ready else "not ready"))
    for p in PROCESSES:
        pid = _proc_pid(p)
        code = _http_status(_proc_url(p, p.health), timeout=1.0)
        state = "running" if pid else ("foreign" if code is not None else "stopped")
        ready = "ready" if code == 200 else (f"not ready ({code})" if code else "not ready")
        rows.append((p.name, state, str(pid or "-"), f"127.0.0.1:{p.port}", ready))
    return [f"{n:<14} {s:<9} pid {pid:<8} {addr:<22} {r}" for n, s, pid, addr, r in rows]


def _summary() -> str:
    pg = "local" if postgres_is_local() else "external"
    kf = "local" if kafka_is_local() else "external"
    lines = [
        "",
        "revcycle is up",
        f"  {'PostgreSQL':<14} {redact_url(database_url())}  ({pg})",
        f"  {'Kafka':<14} {kafka_bootstrap()}  ({kf})",
        f"  {'Logs':<14} {_rel(LOG_DIR)}/  (python3 deploy/infra.py logs [name] [-f])",
        "",
        f"  {'service':<14} {'URL':<23} {'docs':<6} {'ready':<14} {'metrics':<9} asyncapi",
    ]
    for p in PROCESSES:
        if p.name in SERVICES:
            extras = f"{'/metrics':<9} /asyncapi"
        else:  # development partners and sinks: no metrics or event contract of their own
            extras = f"{'-':<9} -"
        lines.append(f"  {p.name:<14} {_proc_url(p):<23} {'/docs':<6} {p.health:<14} {extras}")
    lines.append("")
    lines.append("Stop everything with `make down` (python3 deploy/infra.py down).")
    return "\n".join(lines)


def _log_names() -> list[str]:
    return ["postgres", "kafka", *(p.name for p in PROCESSES)]


def _cmd_logs(name: str | None, follow: bool, lines: int) -> int:
    names = [name] if name else _log_names()
    if name and name not in _log_names() and not _logfile(name).exists():
        raise InfraError(f"unknown log {name!r}; known: {', '.join(_log_names())}")
    files = [_logfile(n) for n in names if _logfile(n).exists()]
    if not files:
        raise InfraError(f"no logs yet in {_rel(LOG_DIR)}")
    if follow:
        tail = shutil.which("tail")
        if not tail:
            raise InfraError("`tail` is needed for -f")
        with contextlib.suppress(KeyboardInterrupt):
            subprocess.run([tail, "-n", str(lines), "-F", *map(str, files)], check=False)  # noqa: S603
        return 0
    for f in files:
        if len(files) > 1:
            print(f"==> {_rel(f)} <==")
        print(_tail(f, lines))
        if len(files) > 1:
            print()
    return 0


def _cmd_env() -> int:
    print(f"export DATABASE_URL={shlex.quote(database_url())}")
    print(f"export KAFKA_BOOTSTRAP_SERVERS={shlex.quote(kafka_bootstrap())}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="infra.py", description="Local PostgreSQL, Kafka and services for revcycle."
    )
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="command")
    sub.add_parser("up", help="pg-up, kafka-up, migrate, services-up, then print where things are")
    sub.add_parser("down", help="stop everything infra.py started")
    sub.add_parser("status", help="one line per component")
    sub.add_parser("pg-up", help="start the private PostgreSQL (or wait for DATABASE_URL)")
    sub.add_parser("kafka-up", help="start the local Kafka broker (or wait for an external one)")
    sub.add_parser("kafka-stop", help="stop the local Kafka broker")
    sub.add_parser("kafka-start", help="start the local Kafka broker again")
    sub.add_parser("migrate", help="run python -m shared.migrate")
    sp = sub.add_parser("services-up", help="start the services and wait until ready")
    sp.add_argument("names", nargs="*", help="only these services")
    sub.add_parser("services-down", help="stop the services only")
    lp = sub.add_parser("logs", help="tail the logs (all or one)")
    lp.add_argument("name", nargs="?")
    lp.add_argument("-f", "--follow", action="store_true")
    lp.add_argument("-n", "--lines", type=int, default=40)
    sub.add_parser("env", help="print export lines for DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS")
    sub.add_parser("deps", help="install missing system packages (postgresql, java, maven)")
    args = parser.parse_args(argv)

    try:
        match args.cmd:
            case "up":
                ensure_postgres()
                ensure_kafka()
                migrate()
                services_up()
                print(_summary())
            case "down":
                stop_all()
                _say("everything infra.py started is stopped")
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
            case "logs":
                return _cmd_logs(args.name, args.follow, args.lines)
            case "env":
                return _cmd_env()
            case "deps":
                install_system_deps()
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
