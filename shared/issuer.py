"""The local development token issuer: an RSA key pair under .state and its JWKS file.

Why: the services verify tokens the way they would with an external identity provider (RS256,
keys fetched from a JWKS URL by `kid`), so development and production run one code path and no
secret is shared between the issuer and the services. Nothing here is committed: `make up`, the
tests and `make token` make the key pair on first use (`ensure`), 0600, under
`.state/dev-issuer/` (DEV_ISSUER_DIR overrides; docker compose puts it on a volume).

    python -m shared.issuer [init|rotate|show]

`rotate` adds a key and signs with it from then on; the JWKS keeps the older public keys, so
tokens signed before stay valid until they expire (docs/security.md, "Key rotation").
Every key's `kid` starts with DEV_KID_PREFIX: a service outside development mode refuses a JWKS
file that holds one (shared.secrets).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

# The `iss` of development tokens; refused as JWT_ISSUER outside development mode.
DEV_ISSUER = "revcycle-dev"
DEV_KID_PREFIX = "revcycle-dev-"
DEFAULT_DIR = Path(__file__).resolve().parents[1] / ".state" / "dev-issuer"
KEEP_KEYS = 3  # public keys a rotation keeps in the JWKS (the current one and two before it)


class DevIssuer:
    """The key pair(s) in one directory: `current.pem` (the private key that signs, named by its
    kid in `current.kid`) and `jwks.json` (every public key still accepted)."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory else DEFAULT_DIR

    @property
    def jwks_path(self) -> Path:
        return self.directory / "jwks.json"

    @property
    def jwks_url(self) -> str:
        """A file:// URL: PyJWKClient reads it through urllib like an https:// one."""
        return self.jwks_path.resolve().as_uri()

    def exists(self) -> bool:
        return all((self.directory / name).is_file() for name in ("current.pem", "current.kid", "jwks.json"))

    def ensure(self) -> DevIssuer:
        """Make the first key pair unless there is one. Safe when several processes start at
        once (a file lock), so the services and `make token` never end up with two keys."""
        if not self.exists():
            with self._locked():
                if not self.exists():
                    self._add_key()
        return self

    def rotate(self) -> str:
        """A new signing key; the JWKS keeps the last KEEP_KEYS public keys. Returns its kid."""
        with self._locked():
            return self._add_key()

    @property
    def kid(self) -> str:
        return (self.directory / "current.kid").read_text().strip()

    def kids(self) -> list[str]:
        return [str(k["kid"]) for k in json.loads(self.jwks_path.read_text())["keys"]]

    def sign(self, claims: dict[str, Any]) -> str:
        """An RS256 token with the current key, its kid in the header (how verifiers pick it)."""
        self.ensure()
        pem = (self.directory / "current.pem").read_bytes()
        return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": self.kid})

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.directory / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _add_key(self) -> str:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = f"{DEV_KID_PREFIX}{time.strftime('%Y%m%d')}-{secrets.token_hex(4)}"
        public = {
            **json.loads(RSAAlgorithm.to_jwk(key.public_key())),
            "kid": kid,
            "use": "sig",
            "alg": "RS256",
        }
        older = json.loads(self.jwks_path.read_text())["keys"] if self.jwks_path.is_file() else []
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # The JWKS first (verifiers know the key before any token uses it), the private key last.
        _write(self.jwks_path, json.dumps({"keys": [public, *older][:KEEP_KEYS]}, indent=2).encode(), 0o644)
        _write(self.directory / "current.pem", pem, 0o600)
        _write(self.directory / "current.kid", kid.encode(), 0o600)
        return kid


def _write(path: Path, data: bytes, mode: int) -> None:
    """Atomically, with its mode set before the content appears under its name."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.issuer", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=("init", "rotate", "show"), default="init")
    parser.add_argument(
        "--dir", default=os.environ.get("DEV_ISSUER_DIR") or None, help="default .state/dev-issuer"
    )
    args = parser.parse_args(argv)
    issuer = DevIssuer(args.dir)
    if args.command == "rotate":
        issuer.ensure()
        print(f"signing with {issuer.rotate()}; the JWKS holds {', '.join(issuer.kids())}")
    else:
        issuer.ensure()
        print(f"development issuer {DEV_ISSUER!r}: JWKS {issuer.jwks_url}, signing kid {issuer.kid}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
