"""Per-process resources of the eligibility service: payer client, vault, in-flight checks.

The shared app factory owns the database and Kafka; what only this service needs is made
on first use and released by the `runtime` worker when the app stops (its step holds the
resources for the life of the app).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import os
from dataclasses import dataclass, field

from fastapi import FastAPI

from services.eligibility.payers import PayerClient, load_payers
from services.eligibility.settings import EligibilitySettings, get_eligibility_settings
from services.eligibility.vault import Vault


@dataclass
class Runtime:
    settings: EligibilitySettings
    payers: PayerClient
    vault: Vault
    # Checks still running after their request stopped waiting (202), so a stop can hand
    # them back to the queue instead of dropping them.
    tasks: set[asyncio.Task] = field(default_factory=set)
    _control: itertools.count = field(default_factory=lambda: itertools.count(int.from_bytes(os.urandom(3))))

    def control_number(self) -> int:
        return next(self._control) % 1_000_000_000

    def cache_key(self, payer_id: str, member_id: str, service_types: list[str], date_of_service: str) -> str:
        """A keyed hash, so the cache can be looked up without storing the member id in clear."""
        material = "|".join([payer_id, member_id.upper(), ",".join(sorted(service_types)), date_of_service])
        key = self.settings.x12_keys.split(",")[0].encode()
        return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()


def runtime(app: FastAPI) -> Runtime:
    current = getattr(app.state, "eligibility", None)
    if current is None:
        settings = getattr(app.state, "eligibility_settings", None) or get_eligibility_settings()
        current = Runtime(settings, PayerClient(load_payers(settings)), Vault(settings))
        app.state.eligibility = current
    return current


async def hold(app: FastAPI) -> None:
    """Worker step: make the runtime now and release it when the app stops."""
    rt = runtime(app)
    try:
        await asyncio.Event().wait()
    finally:
        for task in list(rt.tasks):
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*rt.tasks, return_exceptions=True)
        await rt.payers.close()
        app.state.eligibility = None
