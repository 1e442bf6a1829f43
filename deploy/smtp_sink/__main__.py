"""`python -m deploy.smtp_sink [--host 127.0.0.1] [--smtp-port 1025] [--http-port 8025]`."""

from __future__ import annotations

import argparse
import asyncio

import uvicorn

from deploy.smtp_sink.sink import SmtpServer, Store, http_app


async def main(host: str, smtp_port: int, http_port: int) -> None:
    store = Store()
    smtp = SmtpServer(store, host, smtp_port)
    await smtp.start()
    server = uvicorn.Server(uvicorn.Config(http_app(store), host=host, port=http_port, log_level="info"))
    try:
        await server.serve()
    finally:
        await smtp.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Local SMTP and SMS sink (development only).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.smtp_port, args.http_port))
