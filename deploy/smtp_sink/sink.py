"""The sink itself: an in-memory store, its SMTP handler, and its HTTP API.

Everything runs on one asyncio loop, so the store needs no locks. The SMTP server can be
stopped and started again on the same port (tests use that to play a provider outage).

Like the real thing, it keeps one message per identity: a second email with a Message-ID it
already holds is accepted (250) and dropped, as a mailbox drops a resend it already has; a
second SMS with an `Idempotency-Key` it already took is answered with the first message (200,
`Idempotent-Replayed: true`) and not stored again, as SMS APIs do. Each kept message counts the
copies that arrived (`times_received`), so a test can see that a resend came and was one.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Annotated, Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, Header, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

# A long `make up` session must not grow without bound: the oldest are forgotten first.
KEEP = 50_000


def _remember(index: dict[str, dict[str, Any]], key: str, record: dict[str, Any]) -> None:
    """Index `record` by `key`, forgetting the oldest beyond KEEP (as the lists do)."""
    index[key] = record
    if len(index) > KEEP:
        del index[next(iter(index))]


@dataclass
class Store:
    messages: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=KEEP))
    sms: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=KEEP))
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    # The kept message per identity: email by Message-ID, SMS by Idempotency-Key.
    _mail_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    _sms_by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    # While set and not yet released, a message is kept as it arrives but its answer (SMTP 250,
    # HTTP 201) waits: the window in which a provider has a message and the sender does not
    # know it yet (tests play a sender that dies in it).
    hold: asyncio.Event | None = None

    def next_id(self) -> int:
        return next(self._ids)

    def keep_mail(self, record: dict[str, Any]) -> dict[str, Any]:
        """Keep an email unless one with its Message-ID is already kept; returns the kept one."""
        first = self._mail_by_id.get(record["message_id"]) if record["message_id"] else None
        if first is not None:
            first["times_received"] += 1
            return first
        record["times_received"] = 1
        self.messages.append(record)
        if record["message_id"]:
            _remember(self._mail_by_id, record["message_id"], record)
        return record

    def kept_sms(self, key: str | None) -> dict[str, Any] | None:
        """The SMS taken earlier with this Idempotency-Key, if any."""
        return self._sms_by_key.get(key) if key else None

    def keep_sms(self, record: dict[str, Any]) -> None:
        record["times_received"] = 1
        self.sms.append(record)
        if record["idempotency_key"]:
            _remember(self._sms_by_key, record["idempotency_key"], record)

    def clear_messages(self) -> None:
        self.messages.clear()
        self._mail_by_id.clear()

    def clear_sms(self) -> None:
        self.sms.clear()
        self._sms_by_key.clear()

    async def answer_when_released(self) -> None:
        if self.hold is not None:
            await self.hold.wait()


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


class MailHandler:
    """aiosmtpd handler: parse and keep every message (one per Message-ID)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.store.keep_mail(
            {
                "id": self.store.next_id(),
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "subject": str(parsed.get("Subject", "")),
                "message_id": str(parsed.get("Message-ID", "")),
                "headers": {k: str(v) for k, v in parsed.items()},
                "text": _text_of(parsed),
                "received_at": datetime.now(UTC).isoformat(),
            },
        )
        await self.store.answer_when_released()
        return "250 Message accepted for delivery"


class SmsIn(BaseModel):
    to: str = Field(min_length=1, max_length=32)
    body: str = Field(min_length=1, max_length=1600)
    reference: str | None = Field(default=None, max_length=100)
    from_: str | None = Field(default=None, alias="from", max_length=32)


def http_app(store: Store) -> FastAPI:
    app = FastAPI(title="Local SMTP and SMS sink", description="Development only: keeps what it receives.")

    @app.get("/health/ready")
    @app.get("/health/live")
    async def health() -> dict[str, str]:
        return {"status": "pass"}

    @app.get("/messages")
    async def list_messages(to: Annotated[str | None, Query()] = None) -> list[dict[str, Any]]:
        return [m for m in store.messages if to is None or to in m["rcpt_tos"]]

    @app.delete("/messages", status_code=204)
    async def clear_messages() -> None:
        store.clear_messages()

    @app.post("/sms", status_code=201)
    async def receive_sms(
        body: SmsIn,
        response: Response,
        idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    ) -> Any:
        first = store.kept_sms(idempotency_key)
        if first is not None:
            if (first["to"], first["body"]) != (body.to, body.body):
                return JSONResponse(
                    {"title": "Idempotency-Key reused for a different message", "status": 422},
                    status_code=422,
                    media_type="application/problem+json",
                )
            first["times_received"] += 1
            await store.answer_when_released()
            response.status_code = 200
            response.headers["Idempotent-Replayed"] = "true"
            return first
        record = {
            "id": store.next_id(),
            "from": body.from_,
            "to": body.to,
            "body": body.body,
            "reference": body.reference,
            "idempotency_key": idempotency_key,
            "received_at": datetime.now(UTC).isoformat(),
        }
        store.keep_sms(record)
        await store.answer_when_released()
        return record

    @app.get("/sms")
    async def list_sms(to: Annotated[str | None, Query()] = None) -> list[dict[str, Any]]:
        return [m for m in store.sms if to is None or m["to"] == to]

    @app.delete("/sms", status_code=204)
    async def clear_sms() -> None:
        store.clear_sms()

    return app


class SmtpServer:
    """aiosmtpd's SMTP protocol on the running loop; stoppable and restartable on one port."""

    def __init__(self, store: Store, host: str = "127.0.0.1", port: int = 1025) -> None:
        self.handler = MailHandler(store)
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self.handler, hostname="smtp-sink.local", enable_SMTPUTF8=True),
            host=self.host,
            port=self.port,
            reuse_address=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            await server.wait_closed()
