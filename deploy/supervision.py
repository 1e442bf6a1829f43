"""supervisord runs the processes `make up` starts: Kafka, the four services, the payer sandbox
and the mail sink. This module writes its configuration and talks to it through supervisorctl.

supervisord (the `supervisor` package) replaces the pid-file supervisor deploy/infra.py used to
carry: it restarts a program that dies (autorestart), rotates each program's log, stops a
program's whole process group (stopasgroup/killasgroup: SIGTERM, SIGKILL after stopwaitsecs),
starts and stops a group of programs in one call, and answers on a control socket.

Files, all under .state (git-ignored):
  supervisord.conf          the daemon: unix socket .state/run/supervisor.sock (no TCP port),
                            pid file and log in .state/logs, [include] of the groups' files
  supervisor/<group>.conf   one file per group ("kafka", "platform"), written by the code that
                            owns the group, so `supervisorctl update <group>` touches only it
  logs/<program>.log        each program's stdout and stderr, rotated

supervisord itself runs with a small fixed environment (_BASE_ENV). A program gets the
environment it needs in its own `environment=` line: the platform's programs the whole
environment of the command that started them (`make up`), Kafka none. So a broker started by
the test suite never hands the suite's variables to services `make up` starts later, and a
changed environment restarts the platform (update) but never the broker.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import signal
import socket
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deploy.system import (
    LOG_DIR,
    ROOT,
    RUN_DIR,
    STATE,
    InfraError,
    dirs,
    lock,
    mark_log,
    pid_alive,
    rel,
    run,
    say,
    tail,
    wait_reaped,
)

CONF = STATE / "supervisord.conf"
GROUPS_DIR = STATE / "supervisor"
PIDFILE = LOG_DIR / "supervisord.pid"
LOG = LOG_DIR / "supervisord.log"
SHUTDOWN_TIMEOUT = 90.0  # seconds: supervisord stops what still runs (30 s each at most), then exits

# What supervisord itself gets from the environment of whoever starts it; nothing project-specific.
_BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME", "TMPDIR")
# Variables that differ between two `make up` from the same shell: never written, or every
# `make up` would look like a changed configuration and restart the platform.
_VOLATILE = {"_", "OLDPWD", "PWD", "SHLVL", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"}
_VOLATILE_PREFIXES = ("MAKE_TERM", "SUPERVISOR_", "PYTEST_")
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _socket_path() -> Path:
    sock = RUN_DIR / "supervisor.sock"
    if len(str(sock)) >= 100:  # a unix socket path must fit in sun_path (108 bytes)
        digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]  # noqa: S324 - not security
        sock = Path("/tmp") / f"revcycle-supervisor-{digest}.sock"  # noqa: S108 - path too long otherwise
    return sock


SOCKET = _socket_path()


@dataclass(frozen=True)
class Program:
    """One [program:x] section: what runs, where it logs, when it starts relative to others."""

    name: str
    argv: Sequence[str]
    priority: int  # lower starts first and stops last
    startsecs: int = 5  # must stay up this long to count as started (else: retried, then FATAL)
    stopwaitsecs: int = 30  # SIGTERM, then SIGKILL to the process group after this long
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def log(self) -> Path:
        return LOG_DIR / f"{self.name}.log"


@dataclass(frozen=True)
class ProgramStatus:
    """One line of `supervisorctl status`: name (group:program), state, pid when running."""

    name: str
    state: str
    description: str
    pid: int | None

    @property
    def program(self) -> str:
        return self.name.rpartition(":")[2]


# --------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------


def _conf_value(text: str) -> str:
    """supervisor expands %(name)s in its values: a literal % is written %%."""
    return text.replace("%", "%%")


def _env_representable(value: str) -> bool:
    """Whether supervisor reads value back unchanged from KEY="value": its ini parser cuts a
    value at ' ;' or ' #' (inline comments), its shlex-based parser has no escape for '"', and
    strips quote characters from both ends."""
    return not (
        any(c in value for c in '"\n\r')
        or value[:1] == "'"
        or value[-1:] == "'"
        or re.search(r"\s[;#]", value)
    )


def environment_line(env: Mapping[str, str]) -> tuple[str, list[str]]:
    """The `environment=` value for env, and the names left out because supervisor could not
    read their values back unchanged (volatile shell variables are left out silently)."""
    pairs, skipped = [], []
    for key in sorted(env):
        if key in _VOLATILE or key.startswith(_VOLATILE_PREFIXES):
            continue
        value = env[key]
        if not _ENV_KEY.match(key) or not _env_representable(value):
            skipped.append(key)
            continue
        pairs.append(f'{key}="{_conf_value(value)}"')
    return ",".join(pairs), skipped


def render_program(p: Program) -> str:
    env, skipped = environment_line(p.environment)
    if skipped:
        say(f"{p.name}: not passed to supervisord (values it cannot quote): {', '.join(skipped)}")
    lines = [
        f"[program:{p.name}]",
        f"command={_conf_value(shlex.join(p.argv))}",
        f"directory={_conf_value(str(ROOT))}",
        f"priority={p.priority}",
        "autostart=false",  # infra.py starts programs in order: Kafka, migrations, services
        "autorestart=true",
        f"startsecs={p.startsecs}",
        "startretries=3",
        "stopsignal=TERM",
        f"stopwaitsecs={p.stopwaitsecs}",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={_conf_value(str(p.log))}",
        "stdout_logfile_maxbytes=20MB",
        "stdout_logfile_backups=3",
    ]
    if env:
        lines.append(f"environment={env}")
    return "\n".join(lines) + "\n"


def render_group(group: str, programs: Sequence[Program]) -> str:
    """A group file: its programs, and a [group:x] section when there is more than one."""
    head = "; Written by deploy/infra.py (deploy/supervision.py); edits here are overwritten.\n"
    parts = [head]
    if len(programs) > 1 or programs[0].name != group:
        names = ",".join(p.name for p in programs)
        priority = min(p.priority for p in programs)
        parts.append(f"[group:{group}]\nprograms={names}\npriority={priority}\n")
    parts += [render_program(p) for p in programs]
    return "\n".join(parts)


def render_main() -> str:
    sock, groups = _conf_value(str(SOCKET)), _conf_value(str(GROUPS_DIR / "*.conf"))
    return f"""\
; Written by deploy/infra.py (deploy/supervision.py) when supervisord starts; edits here are overwritten.
[unix_http_server]
file={sock}
chmod=0700

[supervisord]
logfile={_conf_value(str(LOG))}
logfile_maxbytes=5MB
logfile_backups=2
loglevel=info
pidfile={_conf_value(str(PIDFILE))}
childlogdir={_conf_value(str(LOG_DIR))}
directory={_conf_value(str(ROOT))}
identifier=revcycle
nodaemon=false

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{sock}

[include]
files={groups}
"""


def _write_private(path: Path, text: str) -> None:
    """Written 0600: a group's environment may hold secrets (JWT_SECRET, database passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    tmp.replace(path)


# --------------------------------------------------------------------------------------
# The daemon
# --------------------------------------------------------------------------------------


def executable(name: str) -> str:
    """supervisord / supervisorctl: from the project's .venv (make install), else next to this
    Python, else PATH."""
    for d in (ROOT / ".venv" / "bin", Path(sys.executable).parent):
        if (d / name).is_file():
            return str(d / name)
    found = shutil.which(name)
    if not found:
        raise InfraError(f"{name} not found: run `make install` (the supervisor package)")
    return found


def _base_env() -> dict[str, str]:
    return {k: os.environ[k] for k in _BASE_ENV if k in os.environ}


def running() -> bool:
    """True when supervisord answers on its control socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            s.connect(str(SOCKET))
            return True
    except OSError:
        return False


def ensure_running() -> None:
    """Start supervisord unless it runs; a fresh one starts with no group files but its own."""
    with lock("supervisord"):
        if running():
            return
        dirs()
        for stale in GROUPS_DIR.glob("*.conf"):
            stale.unlink()
        GROUPS_DIR.mkdir(parents=True, exist_ok=True)
        _write_private(CONF, render_main())
        say(f"starting supervisord (socket {rel(SOCKET)}, config {rel(CONF)})")
        mark_log(LOG)
        # It daemonizes once its socket listens; the parent's exit status says whether it did.
        proc = run(
            [executable("supervisord"), "-c", str(CONF)], env=_base_env(), cwd=ROOT, check=False, timeout=60
        )
        deadline = time.monotonic() + 15
        while not running():
            if proc.returncode != 0 or time.monotonic() > deadline:
                raise InfraError(
                    f"supervisord did not start (exit {proc.returncode}): {proc.stdout.strip()}\n"
                    + tail(LOG, 15, this_run=True)
                )
            time.sleep(0.1)


def ctl(*args: str, check: bool = True, timeout: float = 300) -> str:
    """Run `supervisorctl -c .state/supervisord.conf <args>` and return its output."""
    out = run(
        [executable("supervisorctl"), "-c", str(CONF), *args],
        env=_base_env(),
        cwd=ROOT,
        check=False,
        timeout=timeout,
        what=f"supervisorctl {' '.join(args)}",
    )
    if check and out.returncode != 0:
        raise InfraError(f"supervisorctl {' '.join(args)}: {out.stdout.strip()}")
    return out.stdout


def install_group(group: str, programs: Sequence[Program]) -> None:
    """Write the group's file and apply it: added when new, restarted only when it changed."""
    ensure_running()
    with lock("supervisord"):
        _write_private(GROUPS_DIR / f"{group}.conf", render_group(group, programs))
        for line in ctl("update", group).splitlines():
            if line.strip():
                say(f"supervisord: {line.strip()}")


def remove_group(group: str) -> None:
    """Forget a group: its file goes, `update` stops and removes what still runs of it."""
    with lock("supervisord"):
        (GROUPS_DIR / f"{group}.conf").unlink(missing_ok=True)
        if running():
            ctl("update", check=False)


def status() -> list[ProgramStatus]:
    """`supervisorctl status`, parsed; empty when supervisord does not run."""
    if not running():
        return []
    found = []
    for line in ctl("status", check=False).splitlines():
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[1].isupper():
            continue
        desc = parts[2].strip() if len(parts) > 2 else ""
        m = re.match(r"pid (\d+),", desc)
        found.append(ProgramStatus(parts[0], parts[1], desc, int(m.group(1)) if m else None))
    return found


def pids() -> dict[str, int]:
    """program name -> pid of every running program (for CPU accounting and messages)."""
    return {s.program: s.pid for s in status() if s.state == "RUNNING" and s.pid}


def state(program: str) -> ProgramStatus | None:
    for s in status():
        if s.program == program:
            return s
    return None


def start(names: Iterable[str]) -> dict[str, str]:
    """Start programs (group:name or name) and wait until each counts as started (startsecs).
    Returns {name: error} for those that could not start; "already started" is no error."""
    out = ctl("start", *names, check=False)
    failed = {}
    for line in out.splitlines():
        name, _, result = line.partition(": ")
        if "ERROR" in result and "already started" not in result:
            failed[name.strip().rpartition(":")[2]] = result.strip()
    return failed


def stop(names: Iterable[str]) -> None:
    """Stop programs (SIGTERM to the group, SIGKILL after stopwaitsecs); waits for each."""
    if running():
        for line in ctl("stop", *names, check=False).splitlines():
            if "ERROR" in line and "not running" not in line and "no such" not in line:
                say(f"supervisorctl stop: {line.strip()}")


def shutdown() -> None:
    """Stop supervisord (and whatever it still runs) and wait until its process is gone."""
    if not running():
        return
    try:
        pid: int | None = int(PIDFILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pid = None
    say(f"shutting supervisord down (pid {pid or '?'})")
    ctl("shutdown", check=False)
    deadline = time.monotonic() + SHUTDOWN_TIMEOUT
    while (pid is not None and pid_alive(pid)) or running():
        if time.monotonic() > deadline:
            if pid is not None:
                say(f"supervisord (pid {pid}) did not exit within {SHUTDOWN_TIMEOUT:.0f}s; killing it")
                os.kill(pid, signal.SIGKILL)
            raise InfraError(f"supervisord did not shut down; see {rel(LOG)}:\n{tail(LOG, 15)}")
        time.sleep(0.2)
    if pid is not None:
        wait_reaped(pid)


def shutdown_if_idle() -> None:
    """Shut supervisord down when none of its programs runs any more (nothing left to watch)."""
    busy = {"RUNNING", "STARTING", "BACKOFF", "STOPPING"}
    if running() and not any(s.state in busy for s in status()):
        shutdown()
