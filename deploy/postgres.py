"""The private PostgreSQL cluster in .state/pg on 127.0.0.1:55432, or an external server.

PostgreSQL is not run under supervisord: pg_ctl is its own supervisor (the postmaster restarts
failed backends, postmaster.pid guards the data directory, `pg_ctl stop -m fast` is the clean
way down), and as root it must run as the `postgres` OS user, which pg_ctl under runuser does.
When DATABASE_URL points at another server, that server is only waited for, never started or
stopped.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import os
import pwd
import re
import shutil
import signal
import time
import urllib.parse
from pathlib import Path

from deploy.system import (
    EXTERNAL_WAIT_TIMEOUT,
    LOG_DIR,
    ROOT,
    STATE,
    InfraError,
    apt_install,
    dirs,
    lock,
    pid_alive,
    port_open,
    rel,
    run,
    say,
    tail,
    wait_reaped,
)

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
PG_CREATECLUSTER_CONF = Path("/etc/postgresql-common/createcluster.conf")


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


def server_address() -> tuple[str, int]:
    """(host, port) of the database server DATABASE_URL names."""
    parts = urllib.parse.urlsplit(database_url())
    return parts.hostname or "localhost", parts.port or 5432


# --------------------------------------------------------------------------------------
# Binaries
# --------------------------------------------------------------------------------------


def install_postgresql() -> None:
    """The Debian server package, without the "main" cluster it would create and start on
    5432: only the binaries are needed, our cluster lives in .state/pg."""
    if os.geteuid() != 0:
        apt_install(["postgresql"], "PostgreSQL")  # raises with the command to run
    if not PG_CREATECLUSTER_CONF.exists():
        apt_install(["postgresql-common"], "PostgreSQL")
    with contextlib.suppress(OSError):
        text = PG_CREATECLUSTER_CONF.read_text()
        if not re.search(r"^\s*create_main_cluster\s*=", text, re.M):
            PG_CREATECLUSTER_CONF.write_text(text.rstrip("\n") + "\ncreate_main_cluster = false\n")
    apt_install(["postgresql"], "PostgreSQL")


def _version_key(path: Path) -> tuple[int, ...]:
    nums = re.findall(r"\d+", path.parent.name)
    return tuple(int(n) for n in nums) or (0,)


def bindir_candidates() -> list[Path]:
    """Directories holding initdb and pg_ctl, newest major version first."""
    found: list[Path] = []

    def add(d: Path) -> None:
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file() and d not in found:
            found.append(d)

    if os.environ.get("PG_BINDIR"):
        add(Path(os.environ["PG_BINDIR"]))
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True):
        add(d)
    if shutil.which("pg_config"):
        with contextlib.suppress(InfraError):
            add(Path(run(["pg_config", "--bindir"], timeout=30).stdout.strip()))
    if shutil.which("pg_ctl"):
        add(Path(shutil.which("pg_ctl") or "").resolve().parent)
    return found


def _bindir(install: bool = True) -> Path:
    """PostgreSQL server binaries; matches an existing cluster's major version when possible."""
    cands = bindir_candidates()
    if not cands and not install:
        raise InfraError("PostgreSQL binaries (pg_ctl) not found")
    if not cands:
        install_postgresql()
        cands = bindir_candidates()
        if not cands:
            raise InfraError("PostgreSQL was installed but initdb/pg_ctl were not found")
    version_file = PG_DATA / "PG_VERSION"
    if version_file.exists():
        want = version_file.read_text().strip()
        for d in cands:
            out = run([str(d / "pg_ctl"), "--version"], check=False, timeout=30).stdout
            m = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
            if m and m.group(1) == want:
                return d
        raise InfraError(
            f"the cluster in {rel(PG_DATA)} was created by PostgreSQL {want}, which is not "
            "installed; run `make clean-state` to recreate it"
        )
    return cands[0]


# --------------------------------------------------------------------------------------
# The cluster's files and OS user
# --------------------------------------------------------------------------------------


def _socket_dir() -> Path:
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


def _pg_run(argv: list[str], *, timeout: float = 300, what: str | None = None) -> None:
    """A PostgreSQL tool as the postgres OS user (when root), in the cluster's directory."""
    run(argv, user=PG_OS_USER, cwd=PG_DIR, env=_pg_env(), timeout=timeout, what=what)


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


def _ensure_os_user() -> tuple[int, int]:
    try:
        pw = pwd.getpwnam(PG_OS_USER)
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        pass
    say(f"creating system user {PG_OS_USER!r} (PostgreSQL refuses to run as root)")
    argv = ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent"]
    argv += ["--shell", "/usr/sbin/nologin"]
    try:
        grp.getgrnam(PG_OS_USER)
        argv += ["--gid", PG_OS_USER]
    except KeyError:
        argv += ["--user-group"]
    run([*argv, PG_OS_USER], what=f"useradd {PG_OS_USER}")
    pw = pwd.getpwnam(PG_OS_USER)
    return pw.pw_uid, pw.pw_gid


def _make_traversable(path: Path) -> None:
    """Make sure the postgres OS user can reach path: add o+x to ancestors that block it."""
    probe = ["runuser", "-u", PG_OS_USER, "--", "test", "-x", str(path)]
    if run(probe, check=False, timeout=30).returncode == 0:
        return
    changed = []
    for d in [path, *path.parents]:
        mode = d.stat().st_mode
        if not mode & 0o001:
            d.chmod(mode | 0o001)
            changed.append(str(d))
    if changed:
        say(f"made traversable for {PG_OS_USER} (o+x): {', '.join(changed)}")
    if run(probe, check=False, timeout=30).returncode != 0:
        raise InfraError(f"the {PG_OS_USER} user cannot access {path}; check its permissions")


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    for p in [path, *path.rglob("*")]:
        with contextlib.suppress(FileNotFoundError):
            os.lchown(p, uid, gid)


def _prepare_dirs() -> None:
    dirs()
    sock = _socket_dir()
    for d in (PG_DIR, sock):
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o700)
    PG_LOG.touch(exist_ok=True)
    if os.geteuid() == 0:
        uid, gid = _ensure_os_user()
        for d in (PG_DIR, sock):
            if d.stat().st_uid != uid:
                _chown_tree(d, uid, gid)
        os.chown(PG_LOG, uid, gid)
        _make_traversable(PG_DIR)
        _make_traversable(sock)


def _conf() -> str:
    return (
        "# Written by deploy/infra.py on every pg-up; edits here are overwritten.\n"
        f"listen_addresses = '{PG_HOST}'\n"
        f"port = {PG_PORT}\n"
        f"unix_socket_directories = '{_socket_dir()}'\n"
        "unix_socket_permissions = 0700\n"
        "max_connections = 200\n"
        "shared_buffers = 128MB\n"
        "password_encryption = 'scram-sha-256'\n"
        "logging_collector = off\n"
        "log_min_messages = warning\n"
        "log_connections = off\n"
    )


def _chown_to_pg(path: Path) -> None:
    if os.geteuid() == 0:
        pw = pwd.getpwnam(PG_OS_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _initdb(bindir: Path) -> None:
    tmp = PG_DIR / "data.init"
    pwfile = PG_DIR / "pwfile"
    if tmp.exists():
        shutil.rmtree(tmp)
    say(f"initializing PostgreSQL cluster in {rel(PG_DATA)}")
    pwfile.write_text(PG_PASSWORD + "\n")
    pwfile.chmod(0o600)
    _chown_to_pg(pwfile)
    argv = [str(bindir / "initdb"), "-D", str(tmp), "-U", PG_USER, f"--pwfile={pwfile}"]
    # Local (socket) connections trusted: the socket directory is private (0700).
    argv += ["--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C"]
    try:
        _pg_run(argv, what="initdb")
    finally:
        pwfile.unlink(missing_ok=True)
    with (tmp / "postgresql.conf").open("a") as f:
        f.write("\n# revcycle local settings (deploy/infra.py)\ninclude_if_exists = 'revcycle.conf'\n")
    tmp.rename(PG_DATA)


def _psql(bindir: Path, sql: str, db: str = "postgres") -> str:
    argv = [str(bindir / "psql"), "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1"]
    argv += ["-h", str(_socket_dir()), "-p", str(PG_PORT), "-U", PG_USER, "-d", db, "-c", sql]
    return run(argv, env=_pg_env(), cwd=PG_DIR, timeout=60, what="psql").stdout.strip()


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
        _pg_run(argv, timeout=120, what="pg_ctl start")
    except InfraError as exc:
        raise InfraError(f"{exc}\n--- {rel(PG_LOG)} (tail) ---\n{tail(PG_LOG)}") from exc


def _bootstrap(bindir: Path) -> None:
    """Idempotent: the admin role's password (repairs a changed one) and the admin database,
    then a connection over TCP with the password, the way clients connect."""
    _psql(bindir, f"ALTER ROLE {PG_USER} WITH LOGIN SUPERUSER PASSWORD '{PG_PASSWORD}'")
    if _psql(bindir, f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'") != "1":  # noqa: S608
        _psql(bindir, f'CREATE DATABASE "{PG_DB}"')
    run(
        [str(bindir / "psql"), "-X", "-tA", "-c", "SELECT 1", LOCAL_DATABASE_URL],
        env={**_pg_env(), "PGCONNECT_TIMEOUT": "10"},
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
        bindir = _bindir()
        _prepare_dirs()
        if not (PG_DATA / "PG_VERSION").exists():
            _initdb(bindir)
        conf = PG_DATA / "revcycle.conf"
        conf.write_text(_conf())
        _chown_to_pg(conf)
        pid = running_pid()
        if pid is None:
            _start(bindir)
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
        bindir = _bindir(install=False)
        try:
            _pg_run(
                [str(bindir / "pg_ctl"), "stop", "-D", *stop, "-m", "fast"], timeout=90, what="pg_ctl stop"
            )
        except InfraError as exc:
            say(f"{exc}; stopping it with -m immediate")
            _pg_run([str(bindir / "pg_ctl"), "stop", "-D", *stop, "-m", "immediate"], timeout=90)
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
