"""A partner's secrets stay secret and its server is pinned: a server with another host key is
refused before any credential is sent; the password, the private key and its passphrase never
appear in logs, errors or GET /v1/partners; a wrong partners file refuses the start naming the
field, never its value."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from services.gateway.mailbox.usecases import poll
from services.gateway.partners.usecases import credentials, partners as configured
from shared import sftp
from shared.app import create_app
from shared.secret_checks import RefusedToStart
from tests.conftest import eventually, service_definition, token
from tests.gateway.conftest import MAILBOX_PASSWORD
from tests.gateway.helpers import GATEWAY_ALL, partner_config, write_partners


def other_host_key() -> str:
    key = asyncssh.generate_private_key("ssh-ed25519")
    return " ".join(key.export_public_key().decode().split()[:2])


async def test_a_server_with_another_host_key_is_refused(gateway_db, mailbox, tmp_path: Path) -> None:
    (partner,) = write_partners(tmp_path / "p.json", partner_config(mailbox, host_key=other_host_key()))
    (mailbox.from_dir / "a.835").write_text("ISA*not for an impostor~")
    with pytest.raises(sftp.SftpError) as refused:
        async with sftp.connect(partner, credentials(partner)):
            pass
    assert refused.value.kind == "host_key"
    result = await poll(gateway_db, partner, max_file_bytes=1 << 20)
    assert (result.taken, result.error) == (0, "host_key")
    assert (mailbox.from_dir / "a.835").exists()
    # The right pin, through a known_hosts file instead of host_key, is accepted.
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{mailbox.port} {mailbox.host_key}\n")
    config = partner_config(mailbox, known_hosts_file=str(known))
    del config["host_key"]
    (pinned,) = write_partners(tmp_path / "q.json", config)
    async with sftp.connect(pinned, credentials(pinned)) as box:
        assert [e.name for e in await box.list(pinned.from_folder)] == ["a.835"]


async def test_secrets_never_in_logs_errors_or_the_partners_route(
    service, mailbox, partners_file: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TEST_CH_PASSWORD", MAILBOX_PASSWORD)
    monkeypatch.setenv("TEST_CH_WRONG", "wrong-" + MAILBOX_PASSWORD)
    right = partner_config(mailbox, username=f"{mailbox.user}-pw", password_env="TEST_CH_PASSWORD")
    wrong = partner_config(mailbox, username=f"{mailbox.user}-pw", password_env="TEST_CH_WRONG")
    for config in (right, wrong):
        del config["key_file"]
    keyed = partner_config(mailbox)
    write_partners(partners_file, right, wrong, keyed)
    key_text = Path(keyed["key_file"]).read_text()  # noqa: ASYNC240 (a test's own small file)
    private_body = "".join(key_text.splitlines()[1:-1])
    (mailbox.root / f"{mailbox.user}-pw" / "from" / "b.999").write_text("ISA*ack~")
    async with service("gateway") as (app, client):
        partners = {p.id: p for p in configured(app)}

        async def polled() -> Any:  # the service's poller, every partner once
            answer = await client.get("/v1/partners", headers=GATEWAY_ALL)
            shown = answer.json()
            return answer if all(p["mailbox"].get("last_poll_at") for p in shown) else None

        listed = await eventually(polled, timeout=60, what="every partner polled")
        assert (await client.get("/v1/partners")).status_code == 401
        assert (await client.get("/v1/partners", headers=token("claims:read"))).status_code == 403
        with pytest.raises(sftp.SftpError) as failed:
            async with sftp.connect(partners[wrong["id"]], credentials(partners[wrong["id"]])):
                pass
    assert not (mailbox.root / f"{mailbox.user}-pw" / "from" / "b.999").exists()  # taken, with the password
    assert failed.value.kind == "auth"
    assert listed.status_code == 200
    shown = {p["id"]: p for p in listed.json()}
    assert shown[wrong["id"]]["mailbox"]["last_poll_error"] == "auth"
    assert shown[right["id"]]["auth"] == "password" and shown[keyed["id"]]["auth"] == "key"
    everything = "\n".join([caplog.text, listed.text, str(failed.value), repr(failed.value)])
    for secret in (MAILBOX_PASSWORD, private_body, "TEST_CH_PASSWORD", keyed["key_file"]):
        assert secret not in everything


def test_a_wrong_partners_file_refuses_the_start_naming_the_field(
    settings, mailbox, partners_file: Path
) -> None:
    config = partner_config(mailbox)
    del config["host_key"]
    write_partners_raw(partners_file, [config])
    with pytest.raises(RefusedToStart) as refused:
        create_app(service_definition("gateway"), settings)
    assert any("host_key" in p and "partners[0]" in p for p in refused.value.problems)

    leaked = partner_config(mailbox, password="s3cret-in-the-file")
    write_partners_raw(partners_file, [leaked])
    with pytest.raises(RefusedToStart) as refused_again:
        create_app(service_definition("gateway"), settings)
    message = "\n".join(refused_again.value.problems) + str(refused_again.value.code)
    assert "partners[0.password]" in message and "s3cret-in-the-file" not in message


def write_partners_raw(path: Path, configs: list[dict]) -> None:
    path.write_text(json.dumps(configs))


async def test_a_missing_secret_is_named_by_its_source_and_nothing_is_taken(
    gateway_db, mailbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.gateway.mailbox import store as mailbox_store

    monkeypatch.delenv("TEST_CH_NOWHERE", raising=False)
    config = partner_config(mailbox, password_env="TEST_CH_NOWHERE")
    del config["key_file"]
    (partner,) = write_partners(tmp_path / "p.json", config)
    (mailbox.from_dir / "c.835").write_text("ISA*kept there~")
    result = await poll(gateway_db, partner, max_file_bytes=1 << 20)
    assert (result.taken, result.error) == (0, "secret_missing")
    async with gateway_db.session() as session:
        state = (await mailbox_store.states(session))[partner.id]
        count, oldest = await mailbox_store.unreachable_age(session)
    assert state.last_poll_error == "secret_missing" and count >= 1 and oldest is not None
