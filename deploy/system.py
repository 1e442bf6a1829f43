"""What every part of the local infrastructure shares: where things live under .state, the one
error type, running commands, small network probes, locks and apt-get.

Standard library only (like the rest of deploy/infra.py's modules), so it runs with the system
``python3`` before any virtualenv exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".state"
RUN_DIR = STATE / "run"  # locks and the supervisord control socket
LOG_DIR = STATE / "logs"  # one log per process, supervisord's own log and pid file

START_TIMEOUT = 90.0  # seconds: Kafka broker, services
EXTERNAL_WAIT_TIMEOUT = 60.0  # seconds: external DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS


class InfraError(RuntimeError):
    """An expected failure: printed as one short message by the CLI, no stack trace."""


def say(msg: str) -> None:
    """Progress messages go to stderr so stdout stays clean for `env` and `status`."""
    print(f"infra: {msg}", file=sys.stderr, flush=True)


def rel(path: Path) -> str:
    """path relative to the repository root, for messages."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def dirs() -> None:
    for d in (STATE, RUN_DIR, LOG_DIR):
        d.mkdir(parents=True, exist_ok=True)


# Log size when a process was last started from here: failure reports show only that run.
_LOG_START: dict[Path, int] = {}


def mark_log(path: Path) -> int:
    """Remember where path ends now, so tail(this_run=True) shows only what comes after."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    _LOG_START[path] = size
    return size


def tail(path: Path, lines: int = 40, this_run: bool = False) -> str:
    """The last lines of a log (of this run only, when asked and the log was not rotated)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            start = _LOG_START.get(path, 0) if this_run else 0
            f.seek(max(start if start <= size else 0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return f"(no log at {rel(path)})"
    return "\n".join(data.splitlines()[-lines:])


def run(
    argv: Sequence[str],
    *,
    user: str | None = None,
    check: bool = True,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = 300,
    what: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing output; on failure raise InfraError with the output's tail.

    user: run it as that OS user (runuser) when we are root, e.g. PostgreSQL's tools."""
    cmd = list(argv)
    if user and os.geteuid() == 0:
        cmd = ["runuser", "-u", user, "--", *cmd]
    try:
        proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
            cmd,
            cwd=cwd,
            env=dict(env) if env is not None else None,
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


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """HTTP status of a GET (no proxies), or None when nothing answers."""
    try:
        with _NO_PROXY_OPENER.open(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """True while pid runs (a zombie does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def wait_reaped(pid: int, timeout: float = 5.0) -> None:
    """Wait (bounded) until an exited process we are not the parent of is gone from the process
    table: init reaps an orphan a moment after it exits, and until then `ps` lists it."""
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


@contextlib.contextmanager
def lock(name: str) -> Iterator[None]:
    """Inter-process lock so concurrent callers (e.g. test workers) don't race to start things."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with (RUN_DIR / f"{name}.lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


_APT_UPDATED: list[bool] = []  # `apt-get update` once per process


def apt_install(packages: Sequence[str], why: str) -> None:
    """Install Debian packages (root only; otherwise say which command to run)."""
    if os.geteuid() != 0:
        raise InfraError(
            f"{why} is not installed and installing it needs root. "
            f"Run: sudo apt-get install -y {' '.join(packages)}"
        )
    if not shutil.which("apt-get"):
        raise InfraError(f"{why} is not installed and apt-get is not available; install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    say(f"installing {' '.join(packages)} with apt-get (for {why}) ...")
    if not _APT_UPDATED:
        run(["apt-get", "update", "-q"], env=env, timeout=900, what="apt-get update")
        _APT_UPDATED.append(True)
    run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        env=env,
        timeout=1800,
        what=f"apt-get install {' '.join(packages)}",
    )
