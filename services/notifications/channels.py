"""Channel adapters: one small class per provider, all with `send(delivery) -> None`.

A send raises `SendError` (retryable) or `PermanentSendError` (retrying cannot help, e.g. the
provider refused the address). Error texts name the failure kind and status, never the
message or the address, because they end up in the delivery history and logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

import aiosmtplib
import httpx

from services.notifications.settings import NotificationSettings


class SendError(Exception):
    """The provider did not take the message; try again later."""


class PermanentSendError(SendError):
    """The provider refused the message for good."""


@dataclass(frozen=True)
class Outgoing:
    id: str
    channel: str
    address: str
    subject: str
    body: str


class Adapter(Protocol):
    async def send(self, message: Outgoing) -> None: ...


class EmailAdapter:
    """Plain-text email over SMTP with aiosmtplib (a real client: EHLO, STARTTLS, AUTH)."""

    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings

    def build(self, message: Outgoing) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.settings.email_from
        email["To"] = message.address
        email["Subject"] = message.subject
        # Stable per delivery, so a receiving system can drop a resend after a lost reply.
        email["Message-ID"] = make_msgid(idstring=message.id, domain="notifications.revcycle")
        email["X-Revcycle-Delivery"] = message.id
        email.set_content(message.body)
        return email

    async def send(self, message: Outgoing) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                self.build(message),
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
    """SMS through an HTTP provider: POST JSON {from, to, body, reference} with basic auth."""

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
                auth=auth,
                timeout=s.sms_timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise SendError(f"sms: {type(exc).__name__}") from exc
        if response.status_code in (400, 422):  # the provider refused this message itself
            raise PermanentSendError(f"sms: http {response.status_code}")
        if response.status_code >= 300:
            raise SendError(f"sms: http {response.status_code}")
