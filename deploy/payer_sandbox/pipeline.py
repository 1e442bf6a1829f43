"""The claim pipeline (claim.submitted -> acknowledgment -> 835); filled in next."""

from __future__ import annotations

import logging
from typing import Any

from deploy.payer_sandbox.config import SandboxConfig
from deploy.payer_sandbox.data import Tables

log = logging.getLogger("payer_sandbox.pipeline")


class ClaimPipeline:
    def __init__(self, config: SandboxConfig, tables: Tables) -> None:
        self.config = config
        self.tables = tables
        self.remittances: list[Any] = []

    async def start(self) -> None:
        log.warning("claim pipeline not implemented yet: claims are not answered")

    async def stop(self) -> None:
        return None

    def counters(self) -> dict[str, Any]:
        return {}
