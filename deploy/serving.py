"""Serve an ASGI app on an ephemeral port, in-process, on the caller's event loop (for tests and
benchmarks that need real HTTP without fixed ports)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn


@contextlib.asynccontextmanager
async def serving(app: Any, *, host: str = "127.0.0.1", lifespan: str = "on") -> AsyncIterator[str]:
    """Yield the base URL once the server accepts connections; stop it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this: without it small responses wait ~40 ms on delayed ACKs.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            # log_config=None: uvicorn keeps its hands off logging; the app's PHI-safe JSON
            # logging (shared.logging) is the only configuration.
            app,
            log_level="warning",
            lifespan=lifespan,
            access_log=False,
            log_config=None,
        )
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # the caller owns signals
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raise why it could not start
                raise RuntimeError("the server stopped during startup")
            await asyncio.sleep(0.02)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 30)
        sock.close()
