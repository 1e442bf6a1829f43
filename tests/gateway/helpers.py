"""Plain helpers of the gateway tests (outbound and mailbox): claims as the claims service
writes them, partners files, and reading back what the gateway wrote."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from services.claims.claims.schemas import ClaimData
from services.claims.settings import ClaimsSettings
from services.claims.submission.x12 import generate
from services.gateway.partners.domain import TradingPartner
from shared.events import Event, new_event
from shared.events.catalogue import ClaimSubmitted
from tests.claims.helpers import make_claim
from tests.conftest import token

GATEWAY_ALL = token("gateway:read", "gateway:write", "ops:read")


def make_837(receiver_id: str, pcn: str, *, control_number: int = 7001) -> str:
    """A one-claim 837P addressed (ISA08) to `receiver_id`, as the claims service writes it."""
    data = ClaimData.model_validate(make_claim())
    return generate(
        data, pcn, control_number=control_number, settings=ClaimsSettings(receiver_id=receiver_id)
    )


def claim_event(receiver_id: str, pcn: str | None = None) -> Event:
    """A claim.submitted event whose 837 is addressed to `receiver_id`."""
    pcn = pcn or f"G{uuid.uuid4().hex[:15].upper()}"
    return new_event(
        ClaimSubmitted(
            claim_id=uuid.uuid4(),
            patient_control_number=pcn,
            patient_id=f"pat-{uuid.uuid4().hex[:8]}",
            payer_id="SBXPAYER",
            total_charge=Decimal("150.00"),
            x12_837=make_837(receiver_id, pcn),
            submitted_at=datetime.now(UTC),
        ),
        source="/tests/claims",
    )


def partner_config(mailbox: Any, **overrides: Any) -> dict[str, Any]:
    """A partners.json entry for the test mailbox `mailbox` (conftest's handle, or a running
    sandbox's with `mailbox=True`), logging in with its client key and pinning its host key."""
    pid = f"p{uuid.uuid4().hex[:10]}"
    config: dict[str, Any] = {
        "id": pid,
        "name": "Test clearinghouse",
        "host": "127.0.0.1",
        "port": getattr(mailbox, "sftp_port", None) or mailbox.port,
        "username": mailbox.user,
        "key_file": str(mailbox.client_key_path),
        "host_key": mailbox.host_key,
        "isa_sender_id": "REVCYCLE",
        "isa_receiver_id": "TESTCH",
        "gs_sender_id": "REVCYCLE",
        "gs_receiver_id": "TESTCHGS",
        "usage_indicator": "T",
        "receiver_ids": [f"R{uuid.uuid4().hex[:10].upper()}"],
        "poll_seconds": 3600,
        "batch_max_claims": 3,
        "batch_max_seconds": 3600,
    }
    config.update(overrides)
    return config


def write_partners(path: Path, *configs: dict[str, Any]) -> list[TradingPartner]:
    path.write_text(json.dumps(list(configs)))
    return [TradingPartner.model_validate(c) for c in configs]
