"""The local Kafka broker (single node, KRaft) on 127.0.0.1:9092 (SASL) and 9094 (SASL over
TLS, the partners' listener), or an external one.

Provisioning is done here: the broker's class path resolved from Maven Central into
.state/kafka/lib (deploy/kafka/pom.xml pins the version), the local CA and the broker's
certificate (deploy/tls.py, the CA PostgreSQL uses too), every principal's password (deploy/kafka_auth.py),
server.properties written from deploy/kafka/server.properties.in, the storage formatted once
with the principals as SCRAM users. The broker then runs as the
supervisord program `kafka` (deploy/supervision.py): supervisord restarts it if it dies,
rotates .state/logs/kafka.log, and stops it the way this module used to by hand (SIGTERM to its
process group, SIGKILL after 30 s). It has a group of its own, so the test suite can stop and
start it (tests/conftest.py) without touching the platform's programs. When
KAFKA_BOOTSTRAP_SERVERS points elsewhere, that broker is only waited for.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from pathlib import Path

from deploy import kafka_auth, kafka_config, supervision
from deploy.system import (
    EXTERNAL_WAIT_TIMEOUT,
    LOG_DIR,
    ROOT,
    START_TIMEOUT,
    InfraError,
    apt_install,
    dirs,
    lock,
    mark_log,
    port_open,
    rel,
    run,
    say,
    tail,
)

KAFKA_DIR = kafka_auth.KAFKA_DIR
KAFKA_LIB = KAFKA_DIR / "lib"
KAFKA_DATA = KAFKA_DIR / "data"
KAFKA_PROPS = KAFKA_DIR / "server.properties"
KAFKA_CLUSTER_ID = KAFKA_DIR / "cluster.id"
KAFKA_POM = ROOT / "deploy" / "kafka" / "pom.xml"
KAFKA_LOG4J = ROOT / "deploy" / "kafka" / "log4j.properties"
KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9093
KAFKA_TLS_PORT = 9094  # the partners' listener: SASL_SSL
KAFKA_HOST = "127.0.0.1"
LOCAL_KAFKA_BOOTSTRAP = f"{KAFKA_HOST}:{KAFKA_PORT}"
LOCAL_KAFKA_TLS_BOOTSTRAP = f"{KAFKA_HOST}:{KAFKA_TLS_PORT}"
# Written into a data directory formatted with SASL users: an older, PLAINTEXT-era storage has
# none, and is set aside and formatted anew.
SASL_MARKER = "revcycle-sasl"
KAFKA_HEAP = ("-Xms256m", "-Xmx768m")
KAFKA_LOG = LOG_DIR / "kafka.log"
KAFKA_STARTED_MARKERS = ("Kafka Server started", "[KafkaServer id=1] started")
PROGRAM = "kafka"  # the supervisord program (and group) name


def kafka_bootstrap() -> str:
    """KAFKA_BOOTSTRAP_SERVERS from the environment, else the local broker's address."""
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip() or LOCAL_KAFKA_BOOTSTRAP


def partner_bootstrap() -> tuple[str, bool]:
    """Where partners connect, and whether over TLS: KAFKA_PARTNER_BOOTSTRAP_SERVERS (TLS), else
    the local broker's TLS listener, else (an external broker) KAFKA_BOOTSTRAP_SERVERS."""
    env = os.environ.get("KAFKA_PARTNER_BOOTSTRAP_SERVERS", "").strip()
    if env:
        return env, True
    if kafka_is_local():
        return LOCAL_KAFKA_TLS_BOOTSTRAP, True
    return kafka_bootstrap(), False


def bootstrap_hosts(value: str) -> list[tuple[str, int]]:
    """(host, port) of each entry of a bootstrap servers list."""
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


def kafka_pid() -> int | None:
    """The broker's pid while supervisord runs it."""
    found = supervision.state(PROGRAM)
    return found.pid if found is not None and found.state == "RUNNING" else None


def kafka_running() -> bool:
    """True when the broker infra.py starts is up (supervisord runs it and its port is open)."""
    return kafka_pid() is not None and port_open(KAFKA_HOST, KAFKA_PORT)


def kafka_is_local() -> bool:
    """True when Kafka is (or will be) the broker infra.py runs, so it may be stopped/started."""
    env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if not env:
        return True
    hosts = bootstrap_hosts(env)
    if len(hosts) == 1 and hosts[0][0] in (KAFKA_HOST, "localhost") and hosts[0][1] == KAFKA_PORT:
        # Pointing at our address: ours if our broker runs or nothing else holds the port.
        return kafka_pid() is not None or not port_open(KAFKA_HOST, KAFKA_PORT)
    return False


def _wait_external(value: str) -> None:
    hosts = bootstrap_hosts(value)
    if not hosts:
        raise InfraError("KAFKA_BOOTSTRAP_SERVERS is empty")
    deadline = time.monotonic() + EXTERNAL_WAIT_TIMEOUT
    while not any(port_open(h, p) for h, p in hosts):
        if time.monotonic() > deadline:
            raise InfraError(
                f"Kafka at {value} did not accept connections within {EXTERNAL_WAIT_TIMEOUT:.0f}s"
            )
        time.sleep(1)


# --------------------------------------------------------------------------------------
# Provisioning: Java and Maven, the class path, server.properties, KRaft storage
# --------------------------------------------------------------------------------------


def install_java_maven() -> None:
    """Java and Maven from Debian packages when missing (the broker and its resolution)."""
    missing = []
    if not shutil.which("java"):
        missing.append("default-jre-headless")
    if not shutil.which("mvn"):
        missing.append("maven")
    if missing:
        apt_install(missing, "the Kafka broker (Java/Maven)")


def _resolve() -> None:
    """Resolve the broker's class path into .state/kafka/lib (once per pom.xml version)."""
    stamp_file = KAFKA_LIB / ".resolved"
    want = hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()
    if stamp_file.exists() and stamp_file.read_text().strip() == want:
        return
    install_java_maven()
    m = re.search(r"<kafka.version>([^<]+)</kafka.version>", KAFKA_POM.read_text())
    say(f"resolving Kafka {m.group(1) if m else ''} from Maven Central into {rel(KAFKA_LIB)}")
    tmp = KAFKA_DIR / "lib.new"
    if tmp.exists():
        shutil.rmtree(tmp)
    KAFKA_DIR.mkdir(parents=True, exist_ok=True)
    argv = ["mvn", "-q", "-B", "-f", str(KAFKA_POM), "dependency:copy-dependencies"]
    argv += [f"-DoutputDirectory={tmp}", "-DincludeScope=runtime"]
    run(argv, cwd=ROOT, timeout=1800, what="mvn dependency:copy-dependencies (Kafka)")
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


def _storage_tool(*args: str, what: str) -> str:
    argv = [_java(), "-cp", f"{KAFKA_LIB}/*", f"-Dlog4j.configuration=file:{KAFKA_LOG4J}"]
    return run([*argv, "kafka.tools.StorageTool", *args], timeout=120, what=what).stdout


def _tls() -> None:
    """The local CA and the broker's PEM keystore (made with the virtualenv's `cryptography`)."""
    from deploy.processes import venv_python

    # "kafka": the broker's name inside docker-compose's network (deploy/kafka_config.py).
    argv = [
        venv_python(),
        "-m",
        "deploy.tls",
        "--keystore",
        str(kafka_auth.TLS_DIR),
        "kafka",
        KAFKA_HOST,
        "localhost",
        "kafka",
    ]
    if run(argv, cwd=ROOT, timeout=60, what="deploy.tls (Kafka)").stdout.strip() == "made":
        say(f"made the local CA and the broker's certificate in {rel(kafka_auth.TLS_DIR)}")


def compose_config() -> Path:
    """The docker-compose broker's files (deploy/kafka_config.py), with this checkout's CA and
    passwords; returns their directory."""
    dirs()
    _tls()
    return kafka_config.write_compose_files()


def _prepare(data: Path) -> None:
    """Class path, TLS, passwords, server.properties for this data directory, storage formatted
    once with every principal as a SCRAM user."""
    dirs()
    _resolve()
    _tls()
    found = kafka_auth.passwords()
    data.mkdir(parents=True, exist_ok=True)
    KAFKA_PROPS.touch(mode=0o600)
    os.chmod(KAFKA_PROPS, 0o600)
    KAFKA_PROPS.write_text(kafka_config.render(str(data), found[kafka_auth.ADMIN]))
    if (data / "meta.properties").exists():
        if (data / SASL_MARKER).exists():
            return
        aside = data.with_name(f"{data.name}.plaintext-{int(time.time())}")
        say(f"the Kafka storage in {rel(data)} predates SASL; moved to {rel(aside)}, formatting anew")
        data.rename(aside)
        data.mkdir(parents=True)
    if KAFKA_CLUSTER_ID.exists() and KAFKA_CLUSTER_ID.read_text().strip():
        cluster_id = KAFKA_CLUSTER_ID.read_text().strip()
    else:
        out = _storage_tool("random-uuid", what="StorageTool random-uuid")
        cluster_id = out.strip().splitlines()[-1].strip()
        KAFKA_CLUSTER_ID.write_text(cluster_id + "\n")
    say(f"formatting Kafka storage in {rel(data)} (cluster id {cluster_id})")
    scram = kafka_auth.scram_arguments(found)
    _storage_tool("format", "-t", cluster_id, "-c", str(KAFKA_PROPS), *scram, what="StorageTool format")
    (data / SASL_MARKER).write_text(", ".join(kafka_auth.PRINCIPALS) + "\n")


def program() -> supervision.Program:
    """The broker as a supervisord program. No environment of the caller's: whoever starts it
    (`make up`, the test suite), its section stays the same, so `update` never restarts it."""
    argv = [_java(), *KAFKA_HEAP, "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true"]
    argv += [f"-Dlog4j.configuration=file:{KAFKA_LOG4J}", "-cp", f"{KAFKA_LIB}/*"]
    argv += ["kafka.Kafka", str(KAFKA_PROPS)]
    return supervision.Program(PROGRAM, argv, priority=10, startsecs=5, stopwaitsecs=30)


# --------------------------------------------------------------------------------------
# Start, wait, stop
# --------------------------------------------------------------------------------------


def _log_started(offset: int) -> bool:
    try:
        with KAFKA_LOG.open("rb") as f:
            if f.seek(0, os.SEEK_END) < offset:
                offset = 0  # rotated since
            f.seek(offset)
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return False
    return any(m in data for m in KAFKA_STARTED_MARKERS)


def _launch(data: Path) -> int:
    """Provision and start the program; returns where this run's log begins."""
    for port in (KAFKA_PORT, KAFKA_CONTROLLER_PORT, KAFKA_TLS_PORT):
        if port_open(KAFKA_HOST, port):
            raise InfraError(
                f"port {port} is in use by another process; stop it, or set "
                "KAFKA_BOOTSTRAP_SERVERS to use an existing broker"
            )
    _prepare(data)
    supervision.install_group(PROGRAM, [program()])
    offset = mark_log(KAFKA_LOG)
    say(f"starting Kafka broker on {LOCAL_KAFKA_BOOTSTRAP} (supervisord program {PROGRAM})")
    failed = supervision.start([PROGRAM])
    if failed:
        supervision.stop([PROGRAM])  # no retries in the background
        raise InfraError(
            f"the Kafka broker did not start ({failed[PROGRAM]}); {rel(KAFKA_LOG)} (tail):\n"
            + tail(KAFKA_LOG, this_run=True)
        )
    return offset


def start_local(data: Path = KAFKA_DATA) -> str:
    """Start the local broker on data unless it runs, and wait until it serves."""
    with lock("kafka"):
        found = supervision.state(PROGRAM)
        if found is not None and found.state == "RUNNING" and port_open(KAFKA_HOST, KAFKA_PORT):
            say(f"Kafka already running (pid {found.pid}) at {LOCAL_KAFKA_BOOTSTRAP}")
            return LOCAL_KAFKA_BOOTSTRAP
        # Already starting or running (not serving yet): any start marker in the log will do.
        offset = 0 if found is not None and found.state in ("STARTING", "RUNNING") else _launch(data)
        deadline = time.monotonic() + START_TIMEOUT
        while not (port_open(KAFKA_HOST, KAFKA_PORT) and _log_started(offset)):
            found = supervision.state(PROGRAM)
            if found is None or found.state not in ("STARTING", "RUNNING", "BACKOFF"):
                raise InfraError(
                    f"the Kafka broker exited during startup ({found.state if found else 'gone'}); "
                    f"{rel(KAFKA_LOG)} (tail):\n" + tail(KAFKA_LOG, this_run=True)
                )
            if time.monotonic() > deadline:
                raise InfraError(
                    f"the Kafka broker did not become ready within {START_TIMEOUT:.0f}s; "
                    f"{rel(KAFKA_LOG)} (tail):\n" + tail(KAFKA_LOG, this_run=True)
                )
            time.sleep(0.5)
    _add_new_principals(data)
    say(f"Kafka ready at {LOCAL_KAFKA_BOOTSTRAP} (pid {kafka_pid()})")
    return LOCAL_KAFKA_BOOTSTRAP


def _add_new_principals(data: Path) -> None:
    """SCRAM users are made when the storage is formatted; a principal added since (a new
    service, such as the gateway) gets its user through the running broker, as the admin, so
    an existing broker keeps its data."""
    marker = data / SASL_MARKER
    known = {p.strip() for p in marker.read_text().split(",")} if marker.exists() else set()
    missing = [p for p in kafka_auth.PRINCIPALS if p not in known]
    if not missing or not marker.exists():
        return
    found = kafka_auth.passwords()
    admin = KAFKA_PROPS.with_name("admin-client.properties")
    admin.touch(mode=0o600)
    os.chmod(admin, 0o600)
    admin.write_text(
        "security.protocol=SASL_PLAINTEXT\n"
        f"sasl.mechanism={kafka_auth.MECHANISM}\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{kafka_auth.ADMIN}" password="{found[kafka_auth.ADMIN]}";\n'
    )
    argv = [_java(), "-cp", f"{KAFKA_LIB}/*", f"-Dlog4j.configuration=file:{KAFKA_LOG4J}"]
    for principal in missing:
        say(f"adding the Kafka principal {principal}")
        run(
            [
                *argv,
                "kafka.admin.ConfigCommand",
                "--bootstrap-server",
                LOCAL_KAFKA_BOOTSTRAP,
                "--command-config",
                str(admin),
                "--alter",
                "--add-config",
                f"{kafka_auth.MECHANISM}=[password={found[principal]}]",
                "--entity-type",
                "users",
                "--entity-name",
                principal,
            ],
            timeout=120,
            what=f"adding the Kafka principal {principal}",
        )
    marker.write_text(", ".join(kafka_auth.PRINCIPALS) + "\n")


def ensure_kafka(data: Path = KAFKA_DATA) -> str:
    """Make sure Kafka accepts connections; returns the bootstrap servers."""
    if not kafka_is_local():
        value = kafka_bootstrap()
        _wait_external(value)
        say(f"Kafka (external) reachable at {value}")
        return value
    return start_local(data)


def stop_local() -> None:
    """Stop the broker supervisord runs, if any (whatever KAFKA_BOOTSTRAP_SERVERS says), and
    supervisord too when nothing else runs under it."""
    with lock("kafka"):
        pid = kafka_pid()
        if pid is not None:
            say(f"stopping Kafka (pid {pid})")
            supervision.stop([PROGRAM])
            deadline = time.monotonic() + 10
            while port_open(KAFKA_HOST, KAFKA_PORT, timeout=0.3) and time.monotonic() < deadline:
                time.sleep(0.2)
        supervision.shutdown_if_idle()
