"""Tests start their own sink on ephemeral ports: `async with running_sink() as sink: ...`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from deploy.serving import serving
from deploy.smtp_sink.sink import SmtpServer, Store, http_app


@dataclass
class SinkHandle:
    smtp: SmtpServer
    base_url: str
    store: Store

    @property
    def smtp_port(self) -> int:
        return self.smtp.port

    @property
    def sms_url(self) -> str:
        return f"{self.base_url}/sms"

    async def stop_smtp(self) -> None:
        """Play an outage: the port refuses connections until `start_smtp`."""
        await self.smtp.stop()

    async def start_smtp(self) -> None:
        await self.smtp.start()

    @contextlib.asynccontextmanager
    async def holding_answers(self) -> AsyncIterator[None]:
        """Inside the block the sink keeps what arrives but holds its answers (the sender waits
        for its SMTP 250 or HTTP 201); they go out when the block ends."""
        self.store.hold = asyncio.Event()
        try:
            yield
        finally:
            self.store.hold.set()
            self.store.hold = None

    async def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        """What the HTTP API lists (the same view a developer gets on :8025)."""
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            resp = await client.get("/messages", params={"to": to} if to else None)
            resp.raise_for_status()
            return resp.json()

    async def sms(self, to: str | None = None) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            resp = await client.get("/sms", params={"to": to} if to else None)
            resp.raise_for_status()
            return resp.json()


@contextlib.asynccontextmanager
async def running_sink(host: str = "127.0.0.1") -> AsyncIterator[SinkHandle]:
    """SMTP and HTTP on ephemeral ports of `host`, on the caller's loop."""
    store = Store()
    smtp = SmtpServer(store, host, 0)
    await smtp.start()
    try:
        async with serving(http_app(store), host=host, lifespan="off") as base_url:
            yield SinkHandle(smtp, base_url, store)
    finally:
        await smtp.stop()
