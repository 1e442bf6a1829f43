"""RS256 tokens verified against an issuer's JWKS endpoint (served here on loopback)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.app import create_app
from tests.conftest import service_definition, token


async def test_rs256_tokens_from_a_jwks_issuer(settings):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "issuer-key-1", "use": "sig"}
    body = json.dumps({"keys": [public_jwk]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rs_settings = settings.model_copy(
            update={
                "jwt_jwks_url": f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json",
                "jwt_algorithms": "RS256",
                "jwt_issuer": "https://issuer.example",
                "jwt_audience": "revcycle",
            }
        )
        claims = {
            "sub": "svc-frontdesk",
            "iss": "https://issuer.example",
            "aud": "revcycle",
            "exp": int(time.time()) + 300,
            "scope": "ops:read",
        }
        good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "issuer-key-1"})
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "issuer-key-1"})

        app = create_app(service_definition("claims"), rs_settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://claims") as client:
                ok = await client.get("/v1/audit", headers={"Authorization": f"Bearer {good}"})
                assert ok.status_code == 200
                assert (
                    await client.get("/v1/audit", headers={"Authorization": f"Bearer {forged}"})
                ).status_code == 401
                # The HS256 development token is refused once an RS256 issuer is configured.
                assert (
                    await client.get("/v1/audit", headers=token("ops:read", settings=settings))
                ).status_code == 401
    finally:
        server.shutdown()
