"""The private PostgreSQL cluster's provisioning: the server binaries (Debian packages), the
`postgres` OS user PostgreSQL needs when we are root, the cluster's files in .state/pg, initdb.
deploy/postgres.py starts and stops the cluster (pg_ctl) and waits for it.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import os
import pwd
import re
import shutil
from pathlib import Path

from deploy.system import LOG_DIR, ROOT, STATE, InfraError, apt_install, dirs, rel, run, say

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
# The local CA (ca.pem: what a client verifies the server with, e.g.
# DATABASE_URL=...?sslmode=verify-full&sslrootcert=.state/tls/ca.pem) and the server's certificate.
PG_TLS_DIR = STATE / "tls"


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


def server_bindir(install: bool = True) -> Path:
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


def socket_dir() -> Path:
    sock = PG_DIR / "run"
    # A unix socket path must fit in sun_path (108 bytes incl. NUL).
    if len(str(sock / f".s.PGSQL.{PG_PORT}.lock")) >= 100:
        digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]  # noqa: S324 - not security
        sock = Path("/tmp") / f"revcycle-pg-{digest}"  # noqa: S108 - path too long otherwise
    return sock


def pg_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env.pop("LANG", None)
    return env


def pg_run(argv: list[str], *, timeout: float = 300, what: str | None = None) -> None:
    """A PostgreSQL tool as the postgres OS user (when root), in the cluster's directory."""
    run(argv, user=PG_OS_USER, cwd=PG_DIR, env=pg_env(), timeout=timeout, what=what)


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


def prepare_dirs() -> None:
    dirs()
    sock = socket_dir()
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


def install_tls(data: Path, tls_dir: Path = PG_TLS_DIR) -> bool:
    """The local CA and the server's certificate (made when missing or expiring, by deploy/tls.py
    with the virtualenv's `cryptography`), copied into the data directory as server.crt and
    server.key for the postgres user. False when they could not be made: plain TCP then."""
    from deploy.processes import venv_python

    argv = [venv_python(), "-m", "deploy.tls", str(tls_dir), "postgres", PG_HOST, "localhost"]
    if run(argv, cwd=ROOT, check=False, timeout=60).returncode != 0:
        say("could not make the PostgreSQL TLS certificate (run `make install`); serving plain TCP")
        return False
    for suffix in ("crt", "key"):
        target = data / f"server.{suffix}"
        shutil.copyfile(tls_dir / f"postgres.{suffix}", target)
        target.chmod(0o600)
        chown_to_pg(target)
    return True


TLS_CONF = (
    "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
    "ssl_min_protocol_version = 'TLSv1.2'\n"
)


def conf_text(tls: bool = False) -> str:
    return (
        "# Written by deploy/infra.py on every pg-up; edits here are overwritten.\n"
        f"listen_addresses = '{PG_HOST}'\n"
        f"port = {PG_PORT}\n"
        f"unix_socket_directories = '{socket_dir()}'\n"
        "unix_socket_permissions = 0700\n"
        "max_connections = 200\n"
        "shared_buffers = 128MB\n"
        "password_encryption = 'scram-sha-256'\n"
        "logging_collector = off\n"
        "log_min_messages = warning\n"
        "log_connections = off\n" + (TLS_CONF if tls else "")
        # TLS when the certificate could be made: clients with asyncpg's default sslmode (prefer)
        # then encrypt, and sslmode=verify-full with .state/tls/ca.pem verifies the server too.
    )


def chown_to_pg(path: Path) -> None:
    if os.geteuid() == 0:
        pw = pwd.getpwnam(PG_OS_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def initdb(bindir: Path) -> None:
    tmp = PG_DIR / "data.init"
    pwfile = PG_DIR / "pwfile"
    if tmp.exists():
        shutil.rmtree(tmp)
    say(f"initializing PostgreSQL cluster in {rel(PG_DATA)}")
    pwfile.write_text(PG_PASSWORD + "\n")
    pwfile.chmod(0o600)
    chown_to_pg(pwfile)
    argv = [str(bindir / "initdb"), "-D", str(tmp), "-U", PG_USER, f"--pwfile={pwfile}"]
    # Local (socket) connections trusted: the socket directory is private (0700).
    argv += ["--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C"]
    try:
        pg_run(argv, what="initdb")
    finally:
        pwfile.unlink(missing_ok=True)
    with (tmp / "postgresql.conf").open("a") as f:
        f.write("\n# revcycle local settings (deploy/infra.py)\ninclude_if_exists = 'revcycle.conf'\n")
    tmp.rename(PG_DATA)


def psql(bindir: Path, sql: str, db: str = "postgres") -> str:
    argv = [str(bindir / "psql"), "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1"]
    argv += ["-h", str(socket_dir()), "-p", str(PG_PORT), "-U", PG_USER, "-d", db, "-c", sql]
    return run(argv, env=pg_env(), cwd=PG_DIR, timeout=60, what="psql").stdout.strip()
