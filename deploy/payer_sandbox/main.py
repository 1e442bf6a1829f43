"""`uvicorn deploy.payer_sandbox.main:app` (what `make up` runs on 127.0.0.1:8010)."""

from __future__ import annotations

import logging

from deploy.payer_sandbox.app import create_app
from deploy.payer_sandbox.config import SandboxConfig
from shared.config import Settings
from shared.secret_checks import RefusedToStart

if not Settings().dev_mode:
    # It impersonates payers and the clearinghouse with no credentials of its own: a partner
    # simulator for development and demos, never part of a production deployment.
    raise RefusedToStart("payer-sandbox", ["the payer sandbox runs in development mode only"])

_config = SandboxConfig.from_env()
logging.basicConfig(level=_config.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
app = create_app(_config)
