"""Static checks of docker-compose.yml and the Dockerfile (no Docker engine needed).

The compose file is validated against the Compose specification with compose-spec, whose
Rust parser rejects unknown keys (anything not starting with ``x-``), wrong types, unknown
enum values (restart, depends_on conditions), malformed durations and port strings. It does
NOT check cross references (depends_on targets, named volumes) nor YAML merge keys (``<<:``,
rejected unless PyOptions(apply_merge=True)), so those references are checked here by hand
and the compose file uses whole-anchor aliases only.

These tests use no fixtures on purpose: they must not depend on tests/conftest.py.
"""

from __future__ import annotations

import copy
import importlib.util
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from compose_spec import PyCompose

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
INFRA_FILE = ROOT / "deploy" / "infra.py"
KAFKA_POM = ROOT / "deploy" / "kafka" / "pom.xml"

INFRA_SERVICES = ("postgres", "kafka")
APP_SERVICES = ("eligibility", "claims", "payments", "notifications", "gateway", "frontoffice")
KAFKA_HOST_PORT = 9092


def _compose_text() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(_compose_text())
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def _services() -> dict[str, dict[str, Any]]:
    return _compose()["services"]


def _validate(text: str) -> Any:
    """Parse with compose-spec's strict parser and return the validated pydantic model."""
    compose = PyCompose.from_yaml(text)
    compose.validate()
    compose.validate_volumes()
    compose.validate_networks()
    return compose.to_spec()


def _load_infra_port_map() -> dict[str, int]:
    """SERVICES from deploy/infra.py, imported by path. No fallback: a failure fails the test."""
    assert INFRA_FILE.is_file(), f"{INFRA_FILE} (the SERVICES port map) does not exist"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    name = "_revcycle_deploy_infra_for_compose_test"
    spec = importlib.util.spec_from_file_location(name, INFRA_FILE)
    assert spec is not None and spec.loader is not None, f"cannot load {INFRA_FILE}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and friends look the module up while executing
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    services = module.SERVICES
    return {str(k): int(v) for k, v in dict(services).items()}


def _kafka_version_from_pom() -> str:
    root = ET.parse(KAFKA_POM).getroot()
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = root.find("m:properties/m:kafka.version", ns)
    if node is None:  # a pom without the default namespace
        node = root.find("properties/kafka.version")
    assert node is not None and node.text, "<kafka.version> not found in deploy/kafka/pom.xml"
    return node.text.strip()


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        out: dict[str, str] = {}
        for item in env:
            key, _, value = str(item).partition("=")
            out[key] = value
        return out
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _published_ports(service: dict[str, Any]) -> set[tuple[int, int]]:
    """(host port, container port) pairs of a service's ports, short or long syntax."""
    pairs: set[tuple[int, int]] = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                pairs.add((int(entry["published"]), int(entry["target"])))
            continue
        text = str(entry).split("/", 1)[0]  # drop /tcp
        parts = text.rsplit(":", 2)
        if len(parts) >= 2:
            pairs.add((int(parts[-2]), int(parts[-1])))
    return pairs


def _healthcheck_test(service: dict[str, Any]) -> list[str]:
    test = (service.get("healthcheck") or {}).get("test")
    assert isinstance(test, list), "healthcheck.test should use the exec (list) form"
    return [str(part) for part in test]


# ---------------------------------------------------------------------------------------------
# Compose specification
# ---------------------------------------------------------------------------------------------


def test_compose_file_validates_against_compose_spec() -> None:
    spec = _validate(_compose_text())
    assert spec.services is not None
    assert set(INFRA_SERVICES + APP_SERVICES + ("migrate",)) <= set(spec.services)


def _break_ports(data: dict[str, Any]) -> None:
    data["services"]["claims"]["ports"] = "not-a-list"


def _break_top_level_key(data: dict[str, Any]) -> None:
    data["servcies"] = {}


def _break_service_key(data: dict[str, Any]) -> None:
    data["services"]["payments"]["healthckeck"] = data["services"]["payments"].pop("healthcheck")


def _break_depends_on_condition(data: dict[str, Any]) -> None:
    data["services"]["eligibility"]["depends_on"] = {"migrate": {"condition": "service_finished"}}


def _break_healthcheck_interval(data: dict[str, Any]) -> None:
    data["services"]["postgres"]["healthcheck"]["interval"] = "often"


@pytest.mark.parametrize(
    "breaker",
    [
        _break_ports,
        _break_top_level_key,
        _break_service_key,
        _break_depends_on_condition,
        _break_healthcheck_interval,
    ],
    ids=lambda f: f.__name__.removeprefix("_break_"),
)
def test_validator_rejects_a_broken_copy(breaker: Any) -> None:
    """The validator is strict: each single deliberate violation is rejected."""
    original = _compose()
    # The unmodified document re-serialized the same way validates, so a rejection below is
    # caused by the violation and not by the round trip through PyYAML.
    _validate(yaml.safe_dump(original, sort_keys=False))
    broken = copy.deepcopy(original)
    breaker(broken)
    with pytest.raises(ValueError):  # pydantic's ValidationError is a ValueError too
        _validate(yaml.safe_dump(broken, sort_keys=False))


def test_no_yaml_merge_keys() -> None:
    """compose-spec rejects `<<:` without apply_merge; the file uses whole aliases instead."""
    assert not re.search(r"^\s*<<\s*:", _compose_text(), flags=re.MULTILINE)


def test_depends_on_targets_and_named_volumes_exist() -> None:
    """Cross references compose-spec does not check."""
    data = _compose()
    services = data["services"]
    declared_volumes = set((data.get("volumes") or {}).keys())
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        for target in depends if isinstance(depends, list) else depends.keys():
            assert target in services, f"{name} depends on unknown service {target}"
        for volume in service.get("volumes") or []:
            source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":")[0]
            if source and not source.startswith((".", "/", "~")):
                assert source in declared_volumes, f"{name} uses undeclared volume {source}"


# ---------------------------------------------------------------------------------------------
# Services, ports, health checks, environment
# ---------------------------------------------------------------------------------------------


def test_service_names() -> None:
    assert set(INFRA_SERVICES + APP_SERVICES) <= set(_services())


def test_app_services_match_the_local_port_map() -> None:
    port_map = _load_infra_port_map()
    assert set(port_map) == set(APP_SERVICES)
    services = _services()
    for name, port in port_map.items():
        assert (port, port) in _published_ports(services[name]), f"{name} must publish {port}:{port}"


def test_app_services_run_their_own_module_on_their_port() -> None:
    port_map = _load_infra_port_map()
    services = _services()
    for name, port in port_map.items():
        command = services[name].get("command")
        assert isinstance(command, list), f"{name}: command should use the exec (list) form"
        assert command[:3] == ["python", "-m", "uvicorn"], command
        assert f"services.{name}.main:app" in command
        assert command[command.index("--port") + 1] == str(port)
        assert command[command.index("--host") + 1] == "0.0.0.0"


def test_kafka_publishes_9092() -> None:
    assert (KAFKA_HOST_PORT, KAFKA_HOST_PORT) in _published_ports(_services()["kafka"])


def test_postgres_matches_the_local_setup() -> None:
    postgres = _services()["postgres"]
    assert str(postgres["image"]).split(":")[0] == "postgres"
    assert (55432, 5432) in _published_ports(postgres)
    env = _environment(postgres)
    assert env["POSTGRES_USER"] == env["POSTGRES_PASSWORD"] == env["POSTGRES_DB"] == "revcycle"
    assert "pg_isready" in _healthcheck_test(postgres)


def test_each_app_service_checks_its_own_ready_endpoint() -> None:
    port_map = _load_infra_port_map()
    services = _services()
    for name, port in port_map.items():
        test = _healthcheck_test(services[name])
        assert test[0] == "CMD" and test[1] == "python" and test[2] == "-c", test
        code = test[3]
        compile(code, f"<{name} healthcheck>", "exec")  # the snippet is valid Python
        urls = re.findall(r"http://[^'\"\s]+", code)
        assert urls == [f"http://127.0.0.1:{port}/health/ready"], (name, urls)
        assert "timeout=" in code


def test_app_services_environment() -> None:
    services = _services()
    for name in (*APP_SERVICES, "migrate"):
        env = _environment(services[name])
        for key in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "REVCYCLE_ENV", "LOG_LEVEL"):
            assert env.get(key), f"{name} lacks {key}"
        database = urlsplit(env["DATABASE_URL"])
        assert database.scheme == "postgresql"
        assert (database.hostname, database.port) == ("postgres", 5432)


def _compose_broker() -> dict[str, str]:
    """The compose broker's server.properties, as `infra.py compose-config` renders it."""
    from deploy.kafka_config import COMPOSE, render

    text = render("/var/lib/kafka/data", "x", listeners=COMPOSE, keystore="/etc/revcycle/kafka/broker.pem")
    lines = [line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")]
    return {key: value for key, value in lines}


def test_compose_names_development_mode_and_writes_no_secret_for_tokens() -> None:
    """Issue 17 item 2: compose never runs with a known key silently. It says it is the
    development platform (REVCYCLE_ENV=development), and its services verify the local
    issuer's keys, made on first use on one shared volume, never a secret written here."""
    assert "JWT_SECRET" not in _compose_text()
    services = _services()
    for name in (*APP_SERVICES, "ops"):
        env = _environment(services[name])
        assert env["REVCYCLE_ENV"] == "development", name
        assert f"dev-issuer:{env['DEV_ISSUER_DIR']}" in services[name]["volumes"], name
    assert _environment(services["payer-sandbox"])["REVCYCLE_ENV"] == "development"
    assert "dev-issuer" in _compose()["volumes"]


def test_app_services_reach_kafka_on_its_internal_listener() -> None:
    services = _services()
    props = _compose_broker()
    advertised = dict(item.split("://", 1) for item in props["advertised.listeners"].split(","))
    protocols = dict(item.split(":", 1) for item in props["listener.security.protocol.map"].split(","))
    assert f"127.0.0.1:{KAFKA_HOST_PORT}" in advertised.values()  # what the host's clients are told
    assert not [k for k in _environment(services["payer-sandbox"]) if k.startswith("KAFKA_")]  # files only
    for name in (*APP_SERVICES, "migrate"):
        env = _environment(services[name])
        for server in env["KAFKA_BOOTSTRAP_SERVERS"].split(","):
            assert server.startswith("kafka:"), server
            listener = next((n for n, address in advertised.items() if address == server), None)
            assert listener is not None, f"{name}: {server} is not an advertised listener"
            assert protocols[listener] == "SASL_PLAINTEXT", (name, listener)  # services: SASL inside
        assert env["KAFKA_USERNAME"] == name.replace("migrate", "admin")
        assert env["KAFKA_PASSWORD"].startswith("${KAFKA_") and ":?" in env["KAFKA_PASSWORD"], "no default"


def test_start_order() -> None:
    services = _services()
    migrate = services["migrate"]
    assert migrate["command"] == ["python", "-m", "shared.migrate"]
    for dependency in ("postgres", "kafka"):
        assert migrate["depends_on"][dependency]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["migrate"]["condition"] == ("service_completed_successfully")
    for name in (*APP_SERVICES, "migrate"):
        assert services[name]["image"] == migrate["image"], "one image for all app containers"
        assert services[name]["build"]["dockerfile"] == "Dockerfile"


# ---------------------------------------------------------------------------------------------
# Kafka
# ---------------------------------------------------------------------------------------------


def test_kafka_image_matches_pom_version() -> None:
    image = str(_services()["kafka"]["image"])
    repository, _, tag = image.partition(":")
    assert repository == "apache/kafka"
    assert tag == _kafka_version_from_pom()


def test_kafka_runs_single_node_kraft_with_sasl_everywhere() -> None:
    """The broker's configuration is deploy/kafka/server.properties.in, as for `make up`, with
    the compose listeners: SASL on every one, TLS on the partners', ACLs, no auto-creation."""
    kafka = _services()["kafka"]
    props = _compose_broker()
    assert props["process.roles"] == "broker,controller"
    listeners = dict(item.split("://", 1) for item in props["listeners"].split(","))
    protocols = dict(item.split(":", 1) for item in props["listener.security.protocol.map"].split(","))
    assert set(listeners) == set(protocols), "every listener needs a security protocol"
    assert set(protocols.values()) <= {"SASL_PLAINTEXT", "SASL_SSL"}, "SASL on every listener"
    controller = props["controller.listener.names"]
    voters = props["controller.quorum.voters"].split(",")
    assert len(voters) == 1 and voters[0].startswith(f"{props['node.id']}@")
    assert voters[0].rsplit(":", 1)[1] == listeners[controller].rsplit(":", 1)[1]
    assert props[f"listener.name.{controller.lower()}.sasl.enabled.mechanisms"] == "PLAIN"
    advertised = dict(item.split("://", 1) for item in props["advertised.listeners"].split(","))
    assert controller not in advertised
    assert advertised[props["inter.broker.listener.name"]].startswith("kafka:")
    for name, address in advertised.items():
        assert listeners[name].rsplit(":", 1)[1] == address.rsplit(":", 1)[1], name
        assert props[f"listener.name.{name.lower()}.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert {p for n, p in protocols.items() if n in advertised} == {"SASL_PLAINTEXT", "SASL_SSL"}
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["auto.create.topics.enable"] == "false"
    assert props["super.users"] == "User:admin"
    assert props["group.initial.rebalance.delay.ms"] == "0" and props["num.partitions"] == "3"
    command = " ".join(kafka["command"])
    assert "kafka-storage.sh format --ignore-formatted" in command and "scram-args" in command
    assert "kafka-server-start.sh /etc/revcycle/kafka/server.properties" in command
    assert {(9092, 9092), (9094, 9094)} <= set(_published_ports(kafka))

    test = _healthcheck_test(kafka)
    assert test[1].startswith("/opt/kafka/bin/kafka-broker-api-versions.sh")
    internal_port = listeners[props["inter.broker.listener.name"]].rsplit(":", 1)[1]
    assert test[test.index("--bootstrap-server") + 1] == f"localhost:{internal_port}"
    assert "--command-config" in test


# ---------------------------------------------------------------------------------------------
# Dockerfile
# ---------------------------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuations joined."""
    logical: list[str] = []
    buffer = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        logical.append(buffer + line)
        buffer = ""
    if buffer:
        logical.append(buffer)
    out = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        out.append((instruction.upper(), args.strip()))
    return out


def test_dockerfile_exists_and_uses_python_311() -> None:
    assert DOCKERFILE.is_file()
    froms = [args for instruction, args in _dockerfile_instructions() if instruction == "FROM"]
    assert froms, "no FROM"
    image = froms[-1].split()[0]  # the final stage is what runs
    assert re.fullmatch(r"python:3\.11([.-].*)?", image), image


def test_dockerfile_runs_as_non_root() -> None:
    users = [args for instruction, args in _dockerfile_instructions() if instruction == "USER"]
    assert users, "the image must switch to a non-root USER"
    user = users[-1].split(":")[0].strip()
    assert user not in ("root", "0", ""), user


def test_dockerfile_installs_the_project_after_its_metadata() -> None:
    instructions = _dockerfile_instructions()
    assert not any(instruction == "HEALTHCHECK" for instruction, _ in instructions)
    copies = [args for instruction, args in instructions if instruction == "COPY"]
    assert copies[0].split()[0] == "pyproject.toml", "copy pyproject.toml first (layer caching)"
    copied = " ".join(copies)
    for source in ("shared/", "services/"):
        assert source in copied
    runs = " ".join(args for instruction, args in instructions if instruction == "RUN")
    assert "pip install --no-cache-dir ." in runs


def test_the_gateway_polls_the_sandbox_mailbox_with_keys_made_once() -> None:
    """Issue 18: the sandbox's SFTP mailbox is published on 2222; one job makes its host key,
    the gateway's client key and the gateway's partners.json (host key pinned) on one volume
    that both mount, and both wait for it."""
    services = _services()
    job = services["mailbox-keys"]
    assert job["command"][:3] == ["python", "-m", "deploy.mailbox"] and "--host" in job["command"]
    assert job["command"][job["command"].index("--host") + 1] == "payer-sandbox"
    sandbox, gateway = services["payer-sandbox"], services["gateway"]
    assert (2222, 2222) in _published_ports(sandbox)
    env = _environment(sandbox)
    assert (env["SANDBOX_MAILBOX"], env["SANDBOX_SFTP_PORT"], env["SANDBOX_MAILBOX_DIR"]) == (
        "1",
        "2222",
        "/var/lib/mailbox",
    )
    assert _environment(gateway)["GATEWAY_PARTNERS_FILE"] == "/var/lib/mailbox/partners.json"
    for name in ("payer-sandbox", "gateway"):
        assert any(str(v).startswith("mailbox-keys:/var/lib/mailbox") for v in services[name]["volumes"]), (
            name
        )
        assert services[name]["depends_on"]["mailbox-keys"]["condition"] == "service_completed_successfully"
    assert "mailbox-keys" in _compose()["volumes"]
    assert _environment(services["ops"])["OPS_GATEWAY_URL"] == "http://gateway:8006"


def test_the_ops_page_watches_every_app_service_at_its_compose_address() -> None:
    """A service added to the platform (issue 19: the front office) is on the ops page in
    compose too: OPS_<NAME>_URL names its container and port, and the page starts with it."""
    services = _services()
    ops = services["ops"]
    env = _environment(ops)
    for name, port in _load_infra_port_map().items():
        assert env[f"OPS_{name.upper()}_URL"] == f"http://{name}:{port}", name
        assert ops["depends_on"][name]["condition"] == "service_started", name
