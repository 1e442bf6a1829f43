"""The mailbox poller: every partner at its own pace (poll_seconds), every replica trying,
the partner's advisory lock letting one at a time in; and the mailbox stuck-work probe."""

from __future__ import annotations

import time

from fastapi import FastAPI

from services.gateway.mailbox import store
from services.gateway.mailbox.usecases import poll
from services.gateway.partners.usecases import partners
from services.gateway.settings import gateway_settings
from shared.stuckwork import Probe


async def poll_due(app: FastAPI) -> None:
    """Poll each partner whose poll_seconds passed since this replica last polled it."""
    settings = gateway_settings(app)
    next_at: dict[str, float] | None = getattr(app.state, "gateway_next_poll", None)
    if next_at is None:
        next_at = app.state.gateway_next_poll = {}
    for partner in partners(app):
        now = time.monotonic()
        if next_at.get(partner.id, 0.0) > now:
            continue
        next_at[partner.id] = now + partner.poll_seconds
        await poll(
            app.state.db,
            partner,
            max_file_bytes=settings.max_file_bytes,
            timeout_seconds=settings.sftp_timeout_seconds,
        )


# mailbox-unreachable: a partner whose polls fail (host key, login, network) for 15 minutes;
# one failed poll is a blip, a quarter of an hour is an outage to look at.
PROBES = [
    Probe(
        "gateway:mailbox-unreachable",
        store.unreachable_age,
        warn_count=None,
        warn_age_seconds=900.0,
        unit="partners",
    ),
]
