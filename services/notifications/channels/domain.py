"""What a send is and how it can fail, without I/O.

A send raises `SendError` (retryable) or `PermanentSendError` (retrying cannot help, e.g. the
provider refused the address). Error texts name the failure kind and status, never the
message or the address, because they end up in the delivery history and logs.

A message's identity at the provider is its delivery id: the email's Message-ID and the SMS's
Idempotency-Key are made from it alone, so every try of one delivery, by any replica, before or
after a restart, is the same message to the provider, which keeps one (a sender that dies after
the provider took a message cannot know it did, and sends it again).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol


class SendError(Exception):
    """The provider did not take the message; try again later."""


class PermanentSendError(SendError):
    """The provider refused the message for good."""


@dataclass(frozen=True)
class Outgoing:
    """One delivery as a provider sees it (`id` is the delivery id)."""

    id: str
    channel: str
    address: str
    subject: str
    body: str


class Adapter(Protocol):
    async def send(self, message: Outgoing) -> None: ...


def message_id(delivery_id: str) -> str:
    """The email's Message-ID (RFC 5322 msg-id): the delivery id and nothing else (no time, no
    host, no random part), so a resend is recognisably the same message."""
    return f"<{delivery_id}@notifications.revcycle>"


def email_message(message: Outgoing, sender: str) -> EmailMessage:
    """A plain-text email for `message`, from `sender`."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.address
    email["Subject"] = message.subject
    # Stable per delivery, so a receiving system drops a resend after a lost reply.
    email["Message-ID"] = message_id(message.id)
    email["X-Revcycle-Delivery"] = message.id
    email.set_content(message.body)
    return email
