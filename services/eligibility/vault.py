"""Encryption at rest for what holds PHI in clear: the raw 270/271 and queued check requests.

Fernet (AES-128-CBC + HMAC-SHA256, from the `cryptography` package) with keys from
ELIGIBILITY_X12_KEYS, newest first: MultiFernet encrypts with the first and decrypts with
any, so a key can be rotated without losing what was written with the previous one.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, MultiFernet

from services.eligibility.settings import EligibilitySettings


class Vault:
    def __init__(self, settings: EligibilitySettings) -> None:
        keys = [k.strip() for k in settings.x12_keys.split(",") if k.strip()]
        if not keys:
            raise ValueError("ELIGIBILITY_X12_KEYS must hold at least one Fernet key")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def seal(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode())

    def open(self, token: bytes) -> str:
        return self._fernet.decrypt(bytes(token)).decode()

    def seal_json(self, value: Any) -> bytes:
        return self.seal(json.dumps(value, default=str))

    def open_json(self, token: bytes) -> Any:
        return json.loads(self.open(token))
