"""Signed partner events (issue 17 item 1, as issue 18 leaves the partners): a forged encounter
makes no claim, and no partner can forge a remittance at all.

Since issue 18 the EHR is the only partner that publishes events (`encounter.completed`, which
claims and payments consume). The clearinghouse speaks X12 files to the gateway service through
its SFTP mailbox, trusted by the pinned SSH host key and the mailbox credentials
(docs/clearinghouse.md); the gateway, one of the platform's services, publishes acknowledgments,
rejections and remittances unsigned, and the broker's ACLs are what protect them.

The must-show test runs the claims service's real consumer on the real broker and database: an
encounter signed with an impostor key naming the EHR's key id, one tampered with after signing,
one unsigned and one signed with another partner's key are parked on `encounter.completed.dlq`
with the reason, before any handler ran, and make no claim; the genuine encounter after them, on
the same partition, becomes the claim. The canonical form's own tests show that changing any
signed attribute breaks the signature. The last tests show that no partner principal may write
`remittance.received` (nor the acknowledgments): the pure ACL policy, and the running broker
refusing the EHR and the collections agency."""

from __future__ import annotations

import base64
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import TopicAuthorizationFailedError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.claims.service import SERVICE as CLAIMS
from shared.consumer import dlq_headers
from shared.events import new_event
from shared.events.catalogue import (
    COLLECTIONS,
    EHR,
    GATEWAY,
    PARTNERS,
    EncounterCompleted,
    EncounterLine,
    PaymentPosted,
    RemittanceReceived,
)
from shared.events.envelope import (
    H_ID,
    H_SOURCE,
    H_TIME,
    H_TYPE,
    Encoded,
    Event,
    InvalidEvent,
    decode,
    encode,
    payload_bytes,
    text_headers,
)
from shared.events.signing import (
    H_SIGNATURE,
    H_SIGNATURE_KEY_ID,
    SIGNING_PARTNERS,
    BadSignature,
    PartnerKeyError,
    PartnerKeys,
    PartnerSigner,
    SigningKey,
    canonical,
    new_key,
    partners_consumed,
    required_keys,
)
from shared.kafka_acl import DEADLETTERS, TOPIC, WRITE, bindings
from tests.claims.helpers import make_npi
from tests.conftest import (
    PARTNER_KEYS,
    PARTNER_SIGNER,
    encode_signed,
    end_offsets,
    eventually,
    read_from,
    running_service,
    start_group_at_end,
    unique,
)
from tests.payments.helpers import make_835, make_clp
from tests.security.test_broker import _producer
from tests.shared.helpers import claims_take_encounters_from, make_encounter

PUBLIC = PARTNER_KEYS / "public"
# What the gateway publishes from the clearinghouse's files: no partner may write these.
ANSWERS = ("claim.acknowledged", "claim.rejected", "remittance.received")


def encounter(encounter_id: str, npi: str, charge: str) -> EncounterCompleted:
    """A visit as the EHR sends it (PHI and all), one line charging `charge`."""
    return make_encounter(npi).model_copy(
        update={"encounter_id": encounter_id, "lines": [EncounterLine(code="99213", charge=Decimal(charge))]}
    )


def forged(event: Any, signing_key: SigningKey | None) -> Encoded:
    """The record of `event` signed with `signing_key` (None: unsigned)."""
    topic, key, value, headers = encode(event)
    return topic, key, value, signing_key.sign(key, value, headers) if signing_key else headers


def tampered(genuine: EncounterCompleted, swapped: EncounterCompleted, source: str) -> tuple[Event, Encoded]:
    """`genuine` as the EHR signed it, whose payload was swapped in transit for `swapped` (same
    id, key, headers and signature)."""
    event = new_event(genuine, source=source)
    topic, key, _, headers = encode_signed(event)
    forgery = replace(event, data=swapped)
    return forgery, (topic, key, payload_bytes(forgery), headers)


async def charges_of(admin: Any, encounter_id: str) -> list[str]:
    """The total charge of each claim made from an encounter (one at most: claims makes one)."""
    rows = await admin.fetch("SELECT total_charge FROM claims.claims WHERE encounter_id = $1", encounter_id)
    return [str(r["total_charge"]) for r in rows]


# --- must show: a bad signature is parked with the reason and makes no claim -----------------------


async def test_forged_encounters_are_parked_with_the_reason_and_make_no_claim(
    settings, producer, servers, admin, tmp_path: Path
):
    ours = settings.model_copy(update={"consumer_group_prefix": unique("sig") + "-"})
    group = ours.consumer_group_prefix + "claims"
    source, npi = f"/partners/sig-test-{uuid.uuid4().hex[:8]}", make_npi()
    # Every record is about one encounter: one Kafka key, so one partition, so the consumer meets
    # the forgeries before the genuine encounter; and a forgery taken would have made the one
    # claim an encounter gets, with its own charge.
    encounter_id = unique("enc")
    # Someone with broker access but not the EHR's private key, naming its key id; and a key of
    # another partner (the collections agency's, made here) signing as itself.
    impostor = SigningKey(EHR, PARTNER_SIGNER.keys[EHR].key_id, Ed25519PrivateKey.generate())
    other = new_key(tmp_path, COLLECTIONS)
    does_not_verify = "signature does not verify for partner ehr"
    bad: dict[str, tuple[Encoded, str]] = {}  # event id -> (record, the reason it is parked for)
    for signer, charge, reason in (
        (impostor, "1.00", does_not_verify),
        (None, "2.00", "partner event without a signature (ce_signature) for partner ehr"),
        (other, "3.00", f"key {other.key_id} is not a key of partner ehr"),
    ):
        event = new_event(encounter(encounter_id, npi, charge), source=source)
        bad[str(event.id)] = (forged(event, signer), reason)
    forgery, record = tampered(
        encounter(encounter_id, npi, "125.00"), encounter(encounter_id, npi, "4.00"), source
    )
    bad[str(forgery.id)] = (record, does_not_verify)
    good = new_event(encounter(encounter_id, npi, "125.00"), source=source)

    def ours_parked(records: list[Any]) -> dict[str, dict[str, str]]:
        """Dead-letter headers by event id, of what this test's claims consumer parked (any
        other consumer of encounter.completed on the shared broker parks them too)."""
        mine = [r for r in records if dlq_headers(r).get("dlq_consumer_group") == group]
        return {dict(r.headers).get(H_ID, b"").decode(): dlq_headers(r) for r in mine}

    await start_group_at_end(servers.kafka_bootstrap, group, list(CLAIMS.handlers))
    dlq_start = await end_offsets(servers.kafka_bootstrap, "encounter.completed.dlq")
    with claims_take_encounters_from(source):
        async with running_service("claims", ours):
            for (topic, key, value, headers), _ in bad.values():
                await producer.send_and_wait(topic, value=value, key=key, headers=headers)
            records = await read_from(
                servers.kafka_bootstrap,
                "encounter.completed.dlq",
                dlq_start,
                until=lambda rs: set(bad) <= set(ours_parked(rs)),
                timeout=60,
            )
            assert await charges_of(admin, encounter_id) == []
            # And the genuine one, after them on the same partition, is taken: the consumer went on.
            topic, key, value, headers = encode_signed(good)
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
            await eventually(lambda: charges_of(admin, encounter_id), timeout=60, what="a claim")
    parked = ours_parked(records)
    for event_id, (_, reason) in bad.items():
        h = parked[event_id]
        assert (h["dlq_reason"], h["dlq_error"]) == ("schema", f"schema: {reason}"), event_id
        phi = ("Leeworth", "SBX10001", "E11.9", npi)
        assert not [x for x in phi if x in h["dlq_error"]]  # never the data
    assert await charges_of(admin, encounter_id) == ["125.00"]
    assert str(good.id) not in parked
    # No handler saw them: nothing in the inbox under any consumer group; the genuine one once.
    inbox = "SELECT count(*) FROM claims.inbox WHERE event_id = ANY($1::uuid[])"
    assert await admin.fetchval(inbox, [uuid.UUID(i) for i in bad]) == 0
    assert await admin.fetchval(inbox, [good.id]) == 1


async def test_a_service_without_the_ehrs_public_key_refuses_to_start(settings, tmp_path: Path) -> None:
    """No unsigned mode: claims and payments hear from the EHR, so without its key they do not
    start (and say why), rather than refusing every encounter silently. Another partner's key,
    or the EHR's folder without a key, does not stand in for it."""
    new_key(tmp_path, COLLECTIONS)
    (tmp_path / "public" / EHR).mkdir()
    for service in ("claims", "payments"):
        for directory in (None, tmp_path / "public"):
            with pytest.raises(PartnerKeyError, match=r"no public signing key for partner\(s\) ehr "):
                async with running_service(
                    service, settings.model_copy(update={"partner_keys_dir": directory})
                ):
                    pass


# --- the canonical form and the keys ---------------------------------------------------------------


def _signed() -> Encoded:
    """An encounter as the EHR sends it, signed with its development key."""
    return PARTNER_SIGNER.encode(new_event(encounter("enc-1", make_npi(), "125.00"), source="/partners/ehr"))


def _with(headers: list[tuple[str, bytes]], name: str, value: bytes) -> list[tuple[str, bytes]]:
    return [(n, value if n == name else v) for n, v in headers]


def _ehr_and_collections(tmp_path: Path) -> tuple[PartnerKeys, SigningKey]:
    """Public keys of the EHR (its development key) and of the collections agency (made here,
    returned with its private key): a service holding both partners' keys."""
    (tmp_path / "public" / EHR).mkdir(parents=True)
    for pem in (PUBLIC / EHR).glob("*.pub"):
        (tmp_path / "public" / EHR / pem.name).write_bytes(pem.read_bytes())
    collections = new_key(tmp_path, COLLECTIONS)
    return PartnerKeys.from_dir(tmp_path / "public"), collections


def test_a_signed_event_verifies_and_each_signed_attribute_breaks_it() -> None:
    keys = PartnerKeys.from_dir(PUBLIC)
    topic, key, value, headers = _signed()
    keys.verify(topic, key, value, headers)  # the genuine record passes
    changes = {
        "id": (key, value, _with(headers, H_ID, b"5b0c0a3e-2f7d-4d8e-9a51-3f0d2c1b4a69")),
        "source": (key, value, _with(headers, H_SOURCE, b"/partners/someone-else")),
        "time": (key, value, _with(headers, H_TIME, b"2020-01-01T00:00:00Z")),
        "key": (b"enc-2", value, headers),
        "payload": (key, value.replace(b"Leeworth", b"Leeworthy"), headers),
    }
    for what, (k, v, h) in changes.items():
        with pytest.raises(BadSignature, match="does not verify for partner ehr"):
            keys.verify(topic, k, v, h)
            pytest.fail(f"changing the {what} kept the signature valid")
    # The type is a signed line too. The EHR publishes no other type to move the event to, so
    # check its signature against the canonical form with another type directly; and a record
    # retyped to a service's type on the EHR's topic is refused by the envelope.
    h = text_headers(headers)
    signature, key_id = base64.b64decode(h[H_SIGNATURE]), h[H_SIGNATURE_KEY_ID]
    signed = {"key_id": key_id, "event_id": h[H_ID], "source": h[H_SOURCE], "time": h[H_TIME], "key": key}
    public = keys.keys[EHR][key_id]
    public.verify(signature, canonical(**signed, event_type=h[H_TYPE], value=value))
    with pytest.raises(InvalidSignature):
        public.verify(signature, canonical(**signed, event_type="claim.acknowledged.v1", value=value))
    retyped = _with(headers, H_TYPE, b"claim.acknowledged.v1")
    with pytest.raises(InvalidEvent, match=r"does not belong on topic encounter\.completed"):
        keys.verify(topic, key, value, retyped)
        decode(topic, key, value, retyped)


def test_the_canonical_form_is_the_documented_lines() -> None:
    got = canonical(
        key_id="ehr-1",
        event_id="i",
        event_type="t",
        source="s",
        time="2026-01-01T00:00:00Z",
        key=b"k",
        value=b"{}",
    )
    sha = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    assert got == f"revcycle-event-signature-v1\nehr-1\ni\nt\ns\n2026-01-01T00:00:00Z\nk\n{sha}".encode()
    with pytest.raises(BadSignature, match="line break"):
        canonical(key_id="k", event_id="i\nx", event_type="t", source="s", time="", key=None, value=b"")


def test_the_partner_is_the_catalogue_publisher_not_what_the_event_says(tmp_path: Path) -> None:
    keys, collections = _ehr_and_collections(tmp_path)
    # An encounter the collections agency signed with its own (known) key, saying it is its own.
    event = new_event(encounter("enc-1", make_npi(), "125.00"), source="/partners/collections")
    topic, key, value, headers = forged(event, collections)
    with pytest.raises(BadSignature, match=r"key collections-\S+ is not a key of partner ehr"):
        keys.verify(topic, key, value, headers)
    # Claiming the EHR's key id does not help: its signature does not verify with the EHR's key.
    relabelled = _with(headers, H_SIGNATURE_KEY_ID, PARTNER_SIGNER.keys[EHR].key_id.encode())
    with pytest.raises(BadSignature, match="does not verify for partner ehr"):
        keys.verify(topic, key, value, relabelled)
    # Services' own events carry no signature and pass (the broker's ACLs protect them).
    topic, key, value, headers = encode(new_event(_payment()))
    keys.verify(topic, key, value, headers)


def test_malformed_signatures_are_refused_with_a_reason() -> None:
    keys = PartnerKeys.from_dir(PUBLIC)
    topic, key, value, headers = _signed()
    cases = {
        "not base64": (_with(headers, H_SIGNATURE, b"%%%"), "does not verify"),
        "short": (_with(headers, H_SIGNATURE, base64.b64encode(b"x" * 10)), "does not verify"),
        "bad key id": (
            _with(headers, H_SIGNATURE_KEY_ID, b"../../etc/passwd"),
            "malformed ce_signaturekeyid",
        ),
        "no time": ([(n, v) for n, v in headers if n != H_TIME], "without ce_time"),
    }
    for what, (h, reason) in cases.items():
        with pytest.raises(BadSignature, match=f"{reason} for partner ehr"):
            keys.verify(topic, key, value, h)
            pytest.fail(what)
    with pytest.raises(BadSignature, match="no public key configured for partner ehr"):
        PartnerKeys.from_dir(None).verify(topic, key, value, headers)


def test_rotation_two_keys_verify_a_third_is_refused(tmp_path: Path) -> None:
    old, new = new_key(tmp_path, EHR), new_key(tmp_path, EHR)
    keys = PartnerKeys.from_dir(tmp_path / "public")
    event = new_event(encounter("enc-1", make_npi(), "125.00"), source="/partners/ehr")
    for signing_key in (old, new):
        keys.verify(*forged(event, signing_key))
    # The signer uses the newest key (ids sort by age).
    assert PartnerSigner.from_dir(tmp_path / "private").keys[EHR].key_id == new.key_id
    new_key(tmp_path, EHR)
    with pytest.raises(PartnerKeyError, match="partner ehr has 3 public keys; at most 2"):
        PartnerKeys.from_dir(tmp_path / "public")


def test_one_key_cannot_serve_two_partners(tmp_path: Path) -> None:
    ehr = new_key(tmp_path, EHR)
    (tmp_path / "public" / COLLECTIONS).mkdir()
    pem = (tmp_path / "public" / EHR / f"{ehr.key_id}.pub").read_bytes()
    (tmp_path / "public" / COLLECTIONS / "collections-1.pub").write_bytes(pem)
    with pytest.raises(PartnerKeyError, match="one public key serves partners collections and ehr"):
        PartnerKeys.from_dir(tmp_path / "public")
    (tmp_path / "public" / COLLECTIONS / "collections-1.pub").unlink()
    new_key(tmp_path, COLLECTIONS)
    other = next((tmp_path / "public" / COLLECTIONS).glob("*.pub"))
    other.rename(other.with_name(f"{ehr.key_id}.pub"))
    with pytest.raises(PartnerKeyError, match=f"key id {ehr.key_id} is used by"):
        PartnerKeys.from_dir(tmp_path / "public")


def test_a_partner_event_is_never_encoded_unsigned() -> None:
    assert SIGNING_PARTNERS == (EHR,)
    with pytest.raises(PartnerKeyError, match="no signing key for partner ehr"):
        PartnerSigner().encode(new_event(encounter("enc-1", make_npi(), "125.00"), source="/x"))
    assert H_SIGNATURE not in dict(PartnerSigner().encode(new_event(_payment()))[3])
    assert required_keys(None, ["payment.posted"]).keys == {}  # a service hearing no partner needs none


def _payment() -> PaymentPosted:
    """A service's own event (payments publishes it): never signed."""
    return PaymentPosted(
        payment_id=uuid.uuid4(),
        source="patient",
        account_id="acct-1",
        amount=Decimal("12.30"),
        method="card",
        posted_at=datetime.now(UTC),
    )


def test_make_up_gives_no_program_a_partners_private_key() -> None:
    """The sandbox's clearinghouse speaks files and signs nothing since issue 18; the EHR
    generator (`make ehr`, `make demo`) is not a make up program."""
    from deploy import processes

    programs = {p.name: p.environment for p in processes._programs()}
    for name, env in programs.items():
        assert env["PARTNER_KEYS_DIR"] == str(processes.PARTNER_KEYS / "public"), name
        signs = env.get("PARTNER_SIGNING_KEYS_DIR")
        assert signs is None, name


# --- a remittance is the gateway's: no partner may write one ----------------------------------------


def _remittance() -> Encoded:
    """A $1.00 payment of a $100.00 claim, as the gateway would publish it from an 835: a well-formed,
    unsigned service event that would pass every check a consumer makes if it were written."""
    text = make_835("TRN-FORGED", [make_clp("PCN1", "1", "100", "1.00", "", [("CO", "45", "99.00")])])
    payload = RemittanceReceived(
        trace_number="TRN-FORGED", payer_id="SBX001", x12_835=text, received_at="2026-01-10T00:00:00Z"
    )
    return encode(new_event(payload, source="/services/gateway"))


def test_no_partner_may_write_a_remittance_or_an_acknowledgment() -> None:
    """The gateway publishes what the clearinghouse's files say; the signature does not guard
    those events (no partner publishes them), the broker's ACLs do. Only the gateway (and the
    dead-letter replay, sending a parked record back) may write them."""
    record = _remittance()
    PartnerKeys.from_dir(None).verify(*record)  # no signature is asked of it
    decode(*record)  # and it is a valid remittance
    assert partners_consumed(list(ANSWERS)) == set()
    assert required_keys(None, list(ANSWERS)).keys == {}

    def writers(found: Any, topic: str) -> set[str]:
        return {
            b.principal
            for b in found
            if (b.resource_type, b.operation, b.resource_name) == (TOPIC, WRITE, topic)
        }

    for topic in ANSWERS:
        assert writers(bindings(), topic) == {GATEWAY, DEADLETTERS}, topic
        assert not writers(bindings(), topic) & set(PARTNERS), topic


async def test_the_broker_refuses_a_partners_remittance(servers: Any) -> None:
    """On the running broker the EHR's and the collections agency's principals (over TLS, as
    partners connect) cannot write a remittance, an acknowledgment or a rejection; nothing
    reaches those topics. (The suite's broker keeps the clearinghouse's transitional rights, so
    the clearinghouse is shown refused by the policy above, as make up's broker applies it.)"""
    _, key, value, headers = _remittance()
    before = {t: await end_offsets(servers.kafka, t) for t in ANSWERS}
    for partner in (EHR, COLLECTIONS):
        async with _producer(servers.partner(partner)) as forger:
            for answer in ANSWERS:
                with pytest.raises(TopicAuthorizationFailedError):
                    await forger.send_and_wait(answer, value, key=key, headers=headers)
                    pytest.fail(f"{partner} wrote {answer}")
    for answer, offsets in before.items():
        assert await end_offsets(servers.kafka, answer) == offsets, answer
