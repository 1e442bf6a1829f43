"""Pure outbound rules: which partner takes a claim, when a partner's queue is due for a
file, and what the file is called."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from services.gateway.partners.domain import TradingPartner

MAX_CONTROL_NUMBER = 999_999_999  # ISA13 is 9 digits: it never wraps silently


def route(receiver_id: str, partners: Sequence[TradingPartner]) -> TradingPartner | None:
    """The partner whose receiver_ids hold the 837's ISA08 (None: no partner, the claim is
    ignored, as `make up`'s gateway ignores the tests' SANDBOXTEST claims on a shared broker)."""
    wanted = receiver_id.strip()
    return next((p for p in partners if wanted in p.receiver_ids), None)


def batch_due(partner: TradingPartner, queued: int, oldest_age_seconds: float | None) -> bool:
    """A file is built when the queue reaches the partner's size threshold, or its oldest claim
    has waited the partner's batch window."""
    if queued <= 0:
        return False
    if queued >= partner.batch_max_claims:
        return True
    return oldest_age_seconds is not None and oldest_age_seconds >= partner.batch_max_seconds


def file_name(partner: TradingPartner, kind: str, icn: int, gcn: int, now: datetime) -> str:
    """The partner's naming convention; its variables carry no PHI (partners.domain)."""
    pattern = partner.file_names.get(kind) or "{partner}_{icn:09d}_{ts:%Y%m%d%H%M%S}." + kind
    return pattern.format(partner=partner.id, icn=icn, gcn=gcn, ts=now, kind=kind, uuid=uuid.uuid4().hex)
