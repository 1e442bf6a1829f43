"""What a send is and how it can fail, without I/O.

A send raises `SendError` (retryable) or `PermanentSendError` (retrying cannot help, e.g. the
provider refused the address). Error texts name the failure kind and status, never the
message or the address, because they end up in the delivery history and logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
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


def email_message(message: Outgoing, sender: str) -> EmailMessage:
    """A plain-text email for `message`, from `sender`."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.address
    email["Subject"] = message.subject
    # Stable per delivery, so a receiving system can drop a resend after a lost reply.
    email["Message-ID"] = make_msgid(idstring=message.id, domain="notifications.revcycle")
    email["X-Revcycle-Delivery"] = message.id
    email.set_content(message.body)
    return email
