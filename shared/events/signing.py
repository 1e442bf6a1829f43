"""Signed partner events: a partner's event counts only when its partner's key signed it.

Broker credentials say who may write a topic; a leaked partner credential (or a misconfigured
ACL) would still let someone outside write an event the services act on. So every event whose
catalogue publisher is a partner (encounter.completed from the EHR; since issue 18 the
clearinghouse speaks X12 files to the gateway service instead) carries an Ed25519 signature,
in two CloudEvents extension headers:

    ce_signature       base64 of the 64-byte Ed25519 signature
    ce_signaturekeyid  the id of the partner's key that made it

over the canonical form (`canonical`): these lines, UTF-8, joined by "\\n", no final newline:

    revcycle-event-signature-v1
    <key id>
    <ce_id>
    <ce_type>
    <ce_source>
    <ce_time>            exactly as sent in the header
    <Kafka key>          as UTF-8 text ("" when the record has none)
    <sha256 of the Kafka value, lowercase hex>

A consumer checks the signature against the public keys of the *catalogue publisher of the
event's type*, never of whatever the event says about itself, so the EHR's key cannot sign a
remittance. Each partner has one or two keys (two while rotating: docs/partners.md). Services'
own events are not signed: the broker's ACLs protect them.

Keys are files: a directory with one folder per partner, `<dir>/<partner>/<key id>.pub`
(public, PEM) for the services (PARTNER_KEYS_DIR) and `<key id>.key` (private, PKCS#8 PEM) for
the partner (the payer sandbox, the demo and the benchmarks: PARTNER_SIGNING_KEYS_DIR).
`python -m shared.events.signing dev-keys .state/partner-keys` makes development keys once
(`make up` and the test suite do); `... new-key DIR PARTNER` adds a key for a rotation.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.events.catalogue import CATALOGUE, PARTNERS, is_partner
from shared.events.envelope import (
    H_ID,
    H_SOURCE,
    H_TIME,
    H_TYPE,
    Encoded,
    Event,
    InvalidEvent,
    encode,
    text_headers,
)

H_SIGNATURE = "ce_signature"
H_SIGNATURE_KEY_ID = "ce_signaturekeyid"
CANONICAL_VERSION = "revcycle-event-signature-v1"
# One current key, plus the one being retired while a rotation is under way.
MAX_KEYS_PER_PARTNER = 2
# Key ids go into dead-letter reasons and logs, so they are short and plain.
KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# The partners whose events are signed: those that publish at least one catalogue type.
SIGNING_PARTNERS: tuple[str, ...] = tuple(
    sorted({s.publisher for s in CATALOGUE.values() if is_partner(s.publisher)})
)

# Partners that no longer sign anything: their key folders, left by an earlier `make up` (the
# clearinghouse signed its answers before it spoke files, issue 18), are ignored, not refused.
RETIRED_PARTNERS: tuple[str, ...] = ("clearinghouse",)


class BadSignature(InvalidEvent):
    """A partner event whose signature is missing, malformed, made with a key that is not its
    publisher's, or does not verify. It is parked on the dead-letter topic like any event that
    breaks its contract; the message names the partner and the rule, never the data."""


class PartnerKeyError(ValueError):
    """The key configuration is unusable (a service refuses to start on it, saying why)."""


def canonical(
    *, key_id: str, event_id: str, event_type: str, source: str, time: str, key: bytes | None, value: bytes
) -> bytes:
    """The bytes a partner signs (see the module docstring). Every field is one line, so a
    field holding a line break could make two events read alike: such an event is refused."""
    try:
        key_text = (key or b"").decode()
    except UnicodeDecodeError as exc:
        raise BadSignature("the Kafka key of a partner event must be UTF-8") from exc
    fields = [CANONICAL_VERSION, key_id, event_id, event_type, source, time, key_text]
    if any("\n" in f or "\r" in f for f in fields):
        raise BadSignature("a signed attribute of a partner event contains a line break")
    return "\n".join([*fields, hashlib.sha256(value).hexdigest()]).encode()


def _canonical_of(key_id: str, key: bytes | None, value: bytes, h: Mapping[str, str]) -> bytes:
    return canonical(
        key_id=key_id,
        event_id=h.get(H_ID, ""),
        event_type=h.get(H_TYPE, ""),
        source=h.get(H_SOURCE, ""),
        time=h.get(H_TIME, ""),
        key=key,
        value=value,
    )


@dataclass(frozen=True)
class SigningKey:
    """A partner's private key and its id (what the partner itself holds)."""

    partner: str
    key_id: str
    private_key: Ed25519PrivateKey

    def sign(
        self, key: bytes | None, value: bytes, headers: Iterable[tuple[str, bytes]]
    ) -> list[tuple[str, bytes]]:
        """`headers` with this key's signature of the record (any older signature replaced)."""
        kept = [(n, v) for n, v in headers if n not in (H_SIGNATURE, H_SIGNATURE_KEY_ID)]
        h = text_headers(kept)
        if not h.get(H_TIME):
            raise ValueError("a partner event must carry ce_time to be signed")
        signature = self.private_key.sign(_canonical_of(self.key_id, key, value, h))
        return [
            *kept,
            (H_SIGNATURE, base64.b64encode(signature)),
            (H_SIGNATURE_KEY_ID, self.key_id.encode()),
        ]


@dataclass(frozen=True)
class PartnerSigner:
    """The private keys a partner-side tool holds (the sandbox plays the EHR): encodes an event
    as its publisher sends it, signed when a partner's."""

    keys: Mapping[str, SigningKey] = field(default_factory=dict)

    def encode(self, event: Event) -> Encoded:
        """(topic, key, value, headers) for a producer. A partner event without its partner's
        key here is an error, never sent unsigned."""
        topic, key, value, headers = encode(event)
        publisher = event.spec.publisher
        if not is_partner(publisher):
            return topic, key, value, headers
        signing_key = self.keys.get(publisher)
        if signing_key is None:
            raise PartnerKeyError(f"no signing key for partner {publisher}")
        return topic, key, value, signing_key.sign(key, value, headers)

    @classmethod
    def from_dir(cls, directory: str | Path) -> PartnerSigner:
        """Each partner's newest private key under `directory` (key ids sort by age: the dev
        and rotation commands name them `<partner>-<UTC timestamp>`)."""
        keys = {}
        for partner, files in _key_files(Path(directory), ".key").items():
            path = files[-1]
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(private, Ed25519PrivateKey):
                raise PartnerKeyError(f"{path} is not an Ed25519 private key")
            keys[partner] = SigningKey(partner, path.stem, private)
        return cls(keys)


@dataclass(frozen=True)
class PartnerKeys:
    """The partners' public keys, as a service holds them: partner -> key id -> key."""

    keys: Mapping[str, Mapping[str, Ed25519PublicKey]] = field(default_factory=dict)

    @classmethod
    def from_dir(cls, directory: str | Path | None) -> PartnerKeys:
        """Every `<partner>/<key id>.pub` under `directory` (None: no keys, so every partner
        event is refused). A key id may belong to one partner only, and one key may not serve
        two partners (either would let one partner sign as another)."""
        if directory is None:
            return cls({})
        keys: dict[str, dict[str, Ed25519PublicKey]] = {}
        owner_of: dict[bytes, str] = {}
        ids: dict[str, str] = {}
        for partner, files in _key_files(Path(directory), ".pub").items():
            if len(files) > MAX_KEYS_PER_PARTNER:
                raise PartnerKeyError(
                    f"partner {partner} has {len(files)} public keys; at most {MAX_KEYS_PER_PARTNER} "
                    "(retire the old key once a rotation is done)"
                )
            for path in files:
                public = serialization.load_pem_public_key(path.read_bytes())
                if not isinstance(public, Ed25519PublicKey):
                    raise PartnerKeyError(f"{path} is not an Ed25519 public key")
                raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
                if owner_of.setdefault(raw, partner) != partner:
                    raise PartnerKeyError(f"one public key serves partners {owner_of[raw]} and {partner}")
                if ids.setdefault(path.stem, partner) != partner:
                    raise PartnerKeyError(f"key id {path.stem} is used by {ids[path.stem]} and {partner}")
                keys.setdefault(partner, {})[path.stem] = public
        return cls(keys)

    def missing(self, partners: Iterable[str]) -> list[str]:
        """The partners among `partners` without any public key here."""
        return sorted(p for p in set(partners) if not self.keys.get(p))

    def verify(self, topic: str, key: bytes | None, value: bytes | None, headers: Any) -> None:
        """Raise BadSignature unless a partner event on `topic` is signed by a key of its type's
        catalogue publisher. Other records pass untouched (the envelope's decode judges them)."""
        h = text_headers(headers)
        spec = CATALOGUE.get(h.get(H_TYPE, ""))
        if spec is None or spec.topic != topic or not is_partner(spec.publisher):
            return
        partner = spec.publisher
        signature, key_id = h.get(H_SIGNATURE), h.get(H_SIGNATURE_KEY_ID)
        if not signature or not key_id:
            raise BadSignature(f"partner event without a signature ({H_SIGNATURE}) for partner {partner}")
        if not KEY_ID.fullmatch(key_id):
            raise BadSignature(f"malformed {H_SIGNATURE_KEY_ID} for partner {partner}")
        known = self.keys.get(partner)
        if not known:
            raise BadSignature(f"no public key configured for partner {partner}")
        public = known.get(key_id)
        if public is None:
            raise BadSignature(f"key {key_id} is not a key of partner {partner}")
        if not h.get(H_TIME):
            raise BadSignature(f"signed partner event without {H_TIME} for partner {partner}")
        try:
            raw = base64.b64decode(signature, validate=True)
            public.verify(raw, _canonical_of(key_id, key, value or b"", h))
        except (InvalidSignature, ValueError) as exc:
            raise BadSignature(f"signature does not verify for partner {partner}") from exc


def partners_consumed(topics: Collection[str]) -> set[str]:
    """The partners that publish any of `topics` (whose keys a consumer of them needs)."""
    return {s.publisher for s in CATALOGUE.values() if s.topic in topics and is_partner(s.publisher)}


def required_keys(directory: str | Path | None, topics: Collection[str]) -> PartnerKeys:
    """The public keys a service consuming `topics` verifies with, refusing to start (raising
    PartnerKeyError, saying why) when a partner it hears from has none. There is no unsigned
    mode: `make up` and the test suite generate development keys instead."""
    keys = PartnerKeys.from_dir(directory)
    missing = keys.missing(partners_consumed(topics))
    if missing:
        where = f"under PARTNER_KEYS_DIR={directory}" if directory else "(PARTNER_KEYS_DIR is not set)"
        raise PartnerKeyError(
            f"no public signing key for partner(s) {', '.join(missing)} {where}: every event they "
            "send would be refused; see docs/partners.md"
        )
    return keys


def _key_files(directory: Path, suffix: str) -> dict[str, list[Path]]:
    if not directory.is_dir():
        raise PartnerKeyError(f"partner key directory {directory} does not exist")
    found: dict[str, list[Path]] = {}
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        if folder.name in RETIRED_PARTNERS:
            continue
        if folder.name not in PARTNERS:
            raise PartnerKeyError(f"{folder} names no partner of the catalogue ({', '.join(PARTNERS)})")
        files = sorted(p for p in folder.iterdir() if p.suffix == suffix)
        bad = [p.stem for p in files if not KEY_ID.fullmatch(p.stem)]
        if bad:
            raise PartnerKeyError(f"{folder}: key ids must match {KEY_ID.pattern}")
        if files:
            found[folder.name] = files
    return found


def new_key(directory: str | Path, partner: str) -> SigningKey:
    """A fresh key for `partner`: `<dir>/private/<partner>/<id>.key` (owner-only) and
    `<dir>/public/<partner>/<id>.pub`. The id is `<partner>-<UTC timestamp>`, so ids sort by age."""
    if partner not in PARTNERS:
        raise PartnerKeyError(f"unknown partner {partner}")
    key_id = f"{partner}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
    private = Ed25519PrivateKey.generate()
    root = Path(directory)
    for part, name, data in (
        (
            "private",
            f"{key_id}.key",
            private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        ),
        (
            "public",
            f"{key_id}.pub",
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        ),
    ):
        folder = root / part / partner
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / name
        path.touch(mode=0o600 if part == "private" else 0o644)
        path.write_bytes(data)
    return SigningKey(partner, key_id, private)


def dev_keys(directory: str | Path) -> list[str]:
    """Development keys once: a key for each signing partner that has none under `directory`.
    Returns the partners it made keys for."""
    made = []
    for partner in SIGNING_PARTNERS:
        folder = Path(directory) / "private" / partner
        if not (folder.is_dir() and any(folder.glob("*.key"))):
            new_key(directory, partner)
            made.append(partner)
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.events.signing", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    dev = sub.add_parser("dev-keys", help="make development keys for partners that have none")
    dev.add_argument("directory")
    rotate = sub.add_parser("new-key", help="add a key for a partner (a rotation's first step)")
    rotate.add_argument("directory")
    rotate.add_argument("partner", choices=SIGNING_PARTNERS)
    args = parser.parse_args(argv)
    if args.cmd == "dev-keys":
        made = dev_keys(args.directory)
        print(f"partner keys under {args.directory}: made {', '.join(made) or 'none (all present)'}")
    else:
        print(new_key(args.directory, args.partner).key_id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
