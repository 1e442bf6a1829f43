"""The channel adapters (email over SMTP, SMS over HTTP) and their lifetime."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiosmtplib
import httpx

from services.notifications.channels.domain import (
    Adapter,
    Outgoing,
    PermanentSendError,
    SendError,
    email_message,
)
from services.notifications.settings import NotificationSettings


class EmailAdapter:
    """Plain-text email over SMTP with aiosmtplib (a real client: EHLO, STARTTLS, AUTH)."""

    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings

    async def send(self, message: Outgoing) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                email_message(message, s.email_from),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password,
                start_tls=s.smtp_start_tls,
                timeout=s.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentSendError("smtp: recipient refused") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentSendError(f"smtp: {exc.code}") from exc
            raise SendError(f"smtp: {exc.code}") from exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            raise SendError(f"smtp: {type(exc).__name__}") from exc


class SmsAdapter:
    """SMS through an HTTP provider: POST JSON {from, to, body, reference} with basic auth and
    an `Idempotency-Key` header (the delivery id): a provider that already took a message with
    that key answers with the first one instead of sending a second (IETF
    draft-ietf-httpapi-idempotency-key-header)."""

    def __init__(self, settings: NotificationSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    async def send(self, message: Outgoing) -> None:
        s = self.settings
        auth = (s.sms_username, s.sms_password or "") if s.sms_username else None
        try:
            response = await self.client.post(
                s.sms_url,
                json={
                    "from": s.sms_sender,
                    "to": message.address,
                    "body": message.body,
                    "reference": message.id,
                },
                headers={"Idempotency-Key": message.id},
                auth=auth,
                timeout=s.sms_timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise SendError(f"sms: {type(exc).__name__}") from exc
        if response.status_code in (400, 422):  # the provider refused this message itself
            raise PermanentSendError(f"sms: http {response.status_code}")
        if response.status_code >= 300:
            raise SendError(f"sms: http {response.status_code}")


@contextlib.asynccontextmanager
async def open_channels(settings: NotificationSettings) -> AsyncIterator[dict[str, Adapter]]:
    """The adapters by channel, for as long as the service runs: the SMS provider's HTTP client
    (and its connection pool) is closed on exit, so no connection outlives the app. SMTP opens a
    connection per message (aiosmtplib.send), as providers expect of a low-volume sender."""
    async with httpx.AsyncClient() as http:
        yield {"email": EmailAdapter(settings), "sms": SmsAdapter(settings, http)}
