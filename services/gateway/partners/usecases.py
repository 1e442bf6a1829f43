"""Loading the trading partners once per app, and resolving a partner's secret when the
gateway connects (never earlier, never kept beyond the connection)."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from pydantic import SecretStr, TypeAdapter, ValidationError

from services.gateway.partners.domain import Credentials, TradingPartner
from services.gateway.settings import GatewaySettings, gateway_settings

_PARTNERS = TypeAdapter(list[TradingPartner])


class PartnersFileError(ValueError):
    """The partners file cannot be used: the message names the file's field and rule, never a
    value (a misplaced secret must not reach a log)."""


class SecretMissing(ValueError):
    """A partner's secret is not where its configuration says (names the source, not a value)."""

    def __init__(self, partner_id: str, source: str) -> None:
        super().__init__(f"partner {partner_id}: secret not found ({source})")
        self.partner_id = partner_id
        self.source = source


def load_partners(path: str | Path) -> list[TradingPartner]:
    """The partners of a GATEWAY_PARTNERS_FILE (a JSON list), checked; ids are unique."""
    try:
        raw = json.loads(Path(path).read_text())
    except OSError as error:
        raise PartnersFileError(f"GATEWAY_PARTNERS_FILE cannot be read ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise PartnersFileError(f"GATEWAY_PARTNERS_FILE is not JSON (line {error.lineno})") from None
    try:
        partners = _PARTNERS.validate_python(raw)
    except ValidationError as error:
        first = error.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PartnersFileError(f"GATEWAY_PARTNERS_FILE: partners[{where}]: {first['msg']}") from None
    ids = [p.id for p in partners]
    if len(set(ids)) != len(ids):
        raise PartnersFileError("GATEWAY_PARTNERS_FILE: partners[].id must be unique")
    return partners


def partners_problems() -> list[str]:
    """For the service's refusal to start: what is wrong with the configured partners file."""
    path = GatewaySettings().partners_file
    if not path:
        return []
    try:
        load_partners(path)
    except PartnersFileError as error:
        return [str(error)]
    return []


def partners(app: Any) -> list[TradingPartner]:
    """The app's partners, read once (an app without a partners file has none)."""
    loaded = getattr(app.state, "gateway_partners", None)
    if loaded is None:
        path = gateway_settings(app).partners_file
        loaded = _loaded(path) if path else []
        app.state.gateway_partners = loaded
    return loaded


def configured_partners() -> list[TradingPartner]:
    """The partners of the configured file, for event handlers (a Kafka handler gets no app,
    so it cannot see `partners(app)`): the same loader, read once per file path."""
    path = GatewaySettings().partners_file
    return _loaded(path) if path else []


@functools.lru_cache(maxsize=16)
def _loaded(path: str) -> list[TradingPartner]:
    return load_partners(path)


def partners_by_id(app: Any) -> dict[str, TradingPartner]:
    """The app's partners by id: what processing a file and asking about a claim look a
    partner up in."""
    return {p.id: p for p in partners(app)}


def credentials(partner: TradingPartner) -> Credentials:
    """The partner's secret, read now from the environment or a file."""
    if partner.key_file is not None:
        passphrase = None
        if partner.key_passphrase_env:
            value = os.environ.get(partner.key_passphrase_env)
            if value is None:
                raise SecretMissing(partner.id, f"environment variable {partner.key_passphrase_env}")
            passphrase = SecretStr(value)
        if not Path(partner.key_file).is_file():
            raise SecretMissing(partner.id, "key_file")
        return Credentials(key_file=partner.key_file, key_passphrase=passphrase)
    if partner.password_env:
        value = os.environ.get(partner.password_env)
        if value is None:
            raise SecretMissing(partner.id, f"environment variable {partner.password_env}")
        return Credentials(password=SecretStr(value))
    assert partner.password_file is not None
    try:
        return Credentials(password=SecretStr(Path(partner.password_file).read_text().strip()))
    except OSError:
        raise SecretMissing(partner.id, "password_file") from None


def view(partner: TradingPartner, state: Any) -> dict[str, Any]:
    """The partner as GET /v1/partners shows it: no secret, not even where it is kept."""
    shown = partner.model_dump(
        exclude={
            "password_env",
            "password_file",
            "key_file",
            "key_passphrase_env",
            "host_key",
            "known_hosts_file",
        }
    )
    shown["receiver_ids"] = sorted(partner.receiver_ids)
    shown["auth"] = "key" if partner.key_file else "password"
    shown["host_key_pinned"] = "host_key" if partner.host_key else "known_hosts_file"
    shown["claim_status_mode"] = partner.claim_status.mode
    fields = ("last_poll_at", "last_poll_ok_at", "last_poll_error", "last_error_at", "last_upload_at")
    shown["mailbox"] = {f: getattr(state, f) for f in fields} if state is not None else {}
    return shown
