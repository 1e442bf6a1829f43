"""The batcher and the uploader (every replica runs both: the row locks keep them apart), and
the outbound stuck-work probes."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from services.gateway.outbound import store
from services.gateway.outbound.usecases import build_file, upload_built
from services.gateway.partners.usecases import partners
from services.gateway.settings import gateway_settings
from shared.stuckwork import Probe

log = logging.getLogger(__name__)


async def batch(app: FastAPI) -> None:
    """Build every file that is due, partner by partner, one commit per file."""
    for partner in partners(app):
        while True:
            async with app.state.db.session() as session:
                built = await build_file(session, partner)
                await session.commit()
            if built is None:
                break
            log.info(
                "partner %s: built %s (ICN %09d, %d claims)",
                partner.id,
                built.file_name,
                built.icn,
                built.claim_count,
            )


async def upload(app: FastAPI) -> None:
    """Upload every partner's built files."""
    settings = gateway_settings(app)
    for partner in partners(app):
        await upload_built(app.state.db, partner, timeout_seconds=settings.sftp_timeout_seconds)


# - queued-claims: a claim waits at most its partner's batch window (default 5 minutes) and a
#   round of the batcher; one queued for 15 minutes means no batcher is building files.
# - files-not-uploaded: a built file is uploaded within a round; one still built after 10
#   minutes means the partner's server refuses us (see partner_state) or no uploader runs.
PROBES = [
    Probe("gateway:queued-claims", store.queued_age, warn_count=None, warn_age_seconds=900.0, unit="claims"),
    Probe(
        "gateway:files-not-uploaded", store.built_age, warn_count=None, warn_age_seconds=600.0, unit="files"
    ),
]
