"""The broker's server.properties, for `make up` and for docker-compose, from one template.

deploy/kafka/server.properties.in holds what every broker of ours has (KRaft, the authorizer,
no ACL no access, no auto-created topics, sizes); this module adds the listeners: each one
SASL (SCRAM-SHA-512 for clients, PLAIN for the KRaft controller, which cannot use SCRAM), the
partners' ones over TLS with the local CA's certificate. `make up` runs CLIENT (9092) and
PARTNER (9094, TLS) on 127.0.0.1; docker-compose runs the same two inside its network (kafka:19092,
kafka:19094) and for the host (127.0.0.1:9092, 127.0.0.1:9094). `python3 deploy/infra.py
compose-config` writes the compose broker's files under .state/kafka/compose (mounted by
docker-compose.yml), with the same passwords and CA as `make up`. Standard library only.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from deploy import kafka_auth
from deploy.system import ROOT

TEMPLATE = ROOT / "deploy" / "kafka" / "server.properties.in"
COMPOSE_DIR = kafka_auth.KAFKA_DIR / "compose"
COMPOSE_MOUNT = "/etc/revcycle/kafka"  # where docker-compose.yml mounts COMPOSE_DIR
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"


@dataclass(frozen=True)
class Listener:
    """One listener: its name, where it binds, what clients are told, and whether it is TLS."""

    name: str
    bind: str  # host:port
    advertised: str | None  # host:port; None for the controller
    tls: bool = False


LOCAL = (
    Listener("CLIENT", "127.0.0.1:9092", "127.0.0.1:9092"),
    Listener("PARTNER", "127.0.0.1:9094", "127.0.0.1:9094", tls=True),
    Listener("CONTROLLER", "127.0.0.1:9093", None),
)
COMPOSE = (
    Listener("INTERNAL", "0.0.0.0:19092", "kafka:19092"),
    Listener("EXTERNAL", "0.0.0.0:9092", "127.0.0.1:9092"),
    Listener("PARTNER", "0.0.0.0:19094", "kafka:19094", tls=True),
    Listener("PARTNERHOST", "0.0.0.0:9094", "127.0.0.1:9094", tls=True),
    Listener("CONTROLLER", "0.0.0.0:29093", None),
)


def _listener_lines(listeners: tuple[Listener, ...], admin_password: str, keystore: str) -> list[str]:
    """listeners, advertised.listeners, the protocol map and each listener's SASL (and TLS)."""
    controller = next(item for item in listeners if item.advertised is None)
    clients = [item for item in listeners if item.advertised is not None]
    admin = f'username="admin" password="{admin_password}"'
    lines = [
        "listeners=" + ",".join(f"{item.name}://{item.bind}" for item in listeners),
        "advertised.listeners=" + ",".join(f"{item.name}://{item.advertised}" for item in clients),
        "listener.security.protocol.map="
        + ",".join(f"{item.name}:{'SASL_SSL' if item.tls else 'SASL_PLAINTEXT'}" for item in listeners),
        f"controller.listener.names={controller.name}",
        f"controller.quorum.voters=1@{'127.0.0.1' if controller.bind.startswith('127.') else 'kafka'}:"
        + controller.bind.rsplit(":", 1)[1],
        f"inter.broker.listener.name={clients[0].name}",
        f"listener.name.{controller.name.lower()}.sasl.enabled.mechanisms=PLAIN",
        f"listener.name.{controller.name.lower()}.plain.sasl.jaas.config={PLAIN_MODULE} required "
        f'{admin} user_admin="{admin_password}";',
    ]
    for item in clients:
        prefix = f"listener.name.{item.name.lower()}"
        # The inter-broker listener also logs the broker in, as the admin.
        login = f" {admin}" if item is clients[0] else ""
        lines += [
            f"{prefix}.sasl.enabled.mechanisms=SCRAM-SHA-512",
            f"{prefix}.scram-sha-512.sasl.jaas.config={SCRAM_MODULE} required{login};",
        ]
        if item.tls:
            lines += [
                f"{prefix}.ssl.keystore.type=PEM",
                f"{prefix}.ssl.keystore.location={keystore}",
                f"{prefix}.ssl.client.auth=none",
            ]
    return lines


def render(
    data_dir: str,
    admin_password: str,
    *,
    listeners: tuple[Listener, ...] = LOCAL,
    keystore: str | None = None,
) -> str:
    """server.properties: the template's common settings, then the listeners'."""
    text = TEMPLATE.read_text().replace("@DATA_DIR@", data_dir)
    lines = _listener_lines(listeners, admin_password, keystore or str(kafka_auth.KEYSTORE))
    return text.rstrip("\n") + "\n# Listeners (deploy/kafka_config.py)\n" + "\n".join(lines) + "\n"


def write_compose_files() -> Path:
    """The compose broker's files in .state/kafka/compose: server.properties, the StorageTool
    --add-scram arguments (scram-args), the healthcheck's admin.properties, the PEM keystore
    and CA, and compose.env (each principal's password, for `docker compose --env-file`).
    Needs the TLS files made first."""
    found = kafka_auth.passwords()
    COMPOSE_DIR.mkdir(parents=True, exist_ok=True)
    COMPOSE_DIR.chmod(0o700)
    text = render(
        "/var/lib/kafka/data",
        found[kafka_auth.ADMIN],
        listeners=COMPOSE,
        keystore=f"{COMPOSE_MOUNT}/broker.pem",
    )
    files = {
        "server.properties": text,
        "scram-args": " ".join(kafka_auth.scram_arguments(found)) + "\n",
        # The healthcheck's client settings (kafka-broker-api-versions.sh --command-config).
        "admin.properties": (
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
            f"sasl.jaas.config={SCRAM_MODULE} required "
            f'username="admin" password="{found[kafka_auth.ADMIN]}";\n'
        ),
        "compose.env": "".join(f"KAFKA_{p.upper()}_PASSWORD={found[p]}\n" for p in kafka_auth.PRINCIPALS),
    }
    for name, content in files.items():
        path = COMPOSE_DIR / name
        path.touch(mode=0o600)
        path.write_text(content)
    shutil.copyfile(kafka_auth.KEYSTORE, COMPOSE_DIR / "broker.pem")
    shutil.copyfile(kafka_auth.CA_FILE, COMPOSE_DIR / "ca.pem")
    # The image's broker runs as a user of its own, which must read what is mounted (the
    # passwords for `docker compose` stay the owner's).
    for name in ("server.properties", "scram-args", "admin.properties", "broker.pem", "ca.pem"):
        (COMPOSE_DIR / name).chmod(0o644)
    COMPOSE_DIR.chmod(0o755)
    return COMPOSE_DIR
