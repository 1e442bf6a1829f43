"""Signed partner events (issue 17 item 1): a forged remittance moves no money.

The must-show test runs the payments service's real consumer on the real broker and database:
a $1.00 `remittance.received` signed with a wrong key, one tampered with after signing, one
unsigned and one signed with the EHR's key are parked on the dead-letter topic with the reason,
before any handler ran; the same remittance signed with the clearinghouse's key posts. The
canonical form's own tests show that changing any signed attribute breaks the signature."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.payments.service import SERVICE as PAYMENTS
from shared.consumer import dlq_headers
from shared.events import new_event
from shared.events.catalogue import CLEARINGHOUSE, EHR, PaymentPosted, RemittanceReceived
from shared.events.envelope import H_ID, H_SOURCE, H_TIME, H_TYPE, Encoded, encode, payload_bytes
from shared.events.signing import (
    H_SIGNATURE,
    H_SIGNATURE_KEY_ID,
    BadSignature,
    PartnerKeyError,
    PartnerKeys,
    PartnerSigner,
    SigningKey,
    canonical,
    new_key,
    required_keys,
)
from tests.conftest import (
    PARTNER_KEYS,
    PARTNER_SIGNER,
    encode_signed,
    end_offsets,
    read_from,
    running_service,
    start_group_at_end,
    unique,
)
from tests.payments.helpers import make_835, make_clp, submit_claim, wait_for_charge

PUBLIC = PARTNER_KEYS / "public"


def remittance(trace: str, pcn: str, paid: str) -> RemittanceReceived:
    """An 835 paying `paid` of a $100.00 claim (the rest a contractual write-off)."""
    writeoff = f"{100 - float(paid):.2f}"
    text = make_835(trace, [make_clp(pcn, "1", "100", paid, "", [("CO", "45", writeoff)])])
    return RemittanceReceived(
        trace_number=trace, payer_id="SBX001", x12_835=text, received_at="2026-01-10T00:00:00Z"
    )


def forged(event: Any, signing_key: SigningKey | None) -> Encoded:
    """The record of `event` signed with `signing_key` (None: unsigned)."""
    topic, key, value, headers = encode(event)
    return topic, key, value, signing_key.sign(key, value, headers) if signing_key else headers


def tampered(trace: str, pcn: str) -> tuple[Any, Encoded]:
    """An $80.00 remittance the clearinghouse signed, whose payload was swapped in transit for
    the same remittance paying $1.00 (same id, headers and signature)."""
    genuine = new_event(remittance(trace, pcn, "80.00"), source="/partners/clearinghouse")
    topic, key, _, headers = encode_signed(genuine)
    forgery = replace(genuine, data=remittance(trace, pcn, "1.00"))
    return forgery, (topic, key, payload_bytes(forgery), headers)


# --- must show: a bad signature is parked with the reason and moves no money -----------------------


async def test_forged_remittances_are_parked_with_the_reason_and_move_no_money(
    settings, producer, servers, admin
):
    ours = settings.model_copy(update={"consumer_group_prefix": unique("sig") + "-"})
    account, pcn = unique("acct"), unique("P")[:17]
    clearinghouse_id, ehr_key = PARTNER_SIGNER.keys[CLEARINGHOUSE].key_id, PARTNER_SIGNER.keys[EHR]
    # Someone with broker access but not the clearinghouse's private key, naming its key id.
    impostor = SigningKey(CLEARINGHOUSE, clearinghouse_id, Ed25519PrivateKey.generate())
    does_not_verify = "signature does not verify for partner clearinghouse"
    bad: dict[str, tuple[Encoded, str]] = {}  # event id -> (record, the reason it is parked for)
    for signer, reason in (
        (impostor, does_not_verify),
        (None, "partner event without a signature (ce_signature) for partner clearinghouse"),
        (ehr_key, f"key {ehr_key.key_id} is not a key of partner clearinghouse"),
    ):
        event = new_event(remittance(unique("TRN"), pcn, "1.00"), source="/partners/clearinghouse")
        bad[str(event.id)] = (forged(event, signer), reason)
    forgery, record = tampered(unique("TRN"), pcn)
    bad[str(forgery.id)] = (record, does_not_verify)
    good = new_event(remittance(unique("TRN"), pcn, "80.00"), source="/partners/clearinghouse")
    group = ours.consumer_group_prefix + "payments"
    await start_group_at_end(servers.kafka_bootstrap, group, list(PAYMENTS.handlers))
    dlq_start = await end_offsets(servers.kafka_bootstrap, "remittance.received.dlq")
    posted_start = await end_offsets(servers.kafka_bootstrap, "payment.posted")
    async with running_service("payments", ours) as (_, client):
        claim_id = await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge="100.00")
        await wait_for_charge(client, account, "100.00")
        for (topic, key, value, headers), _ in bad.values():
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
        parked = await read_from(
            servers.kafka_bootstrap,
            "remittance.received.dlq",
            dlq_start,
            until=lambda rs: set(bad) <= {dict(r.headers).get(H_ID, b"").decode() for r in rs},
            timeout=30,
        )
        # And the genuine one, after them, posts: the consumer went on.
        topic, key, value, headers = encode_signed(good)
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
        posted = await read_from(
            servers.kafka_bootstrap,
            "payment.posted",
            posted_start,
            until=lambda rs: any(r.key == str(claim_id).encode() for r in rs),
            timeout=30,
        )
    for record in parked:
        event_id = dict(record.headers).get(H_ID, b"").decode()
        if event_id in bad:
            h = dlq_headers(record)
            assert (h["dlq_reason"], h["dlq_error"]) == ("schema", f"schema: {bad[event_id][1]}"), event_id
            assert pcn not in h["dlq_error"] and "SBX001" not in h["dlq_error"]  # never the data
    mine = [PaymentPosted.model_validate_json(r.value) for r in posted if r.key == str(claim_id).encode()]
    assert [(p.trace_number, str(p.amount)) for p in mine] == [(good.data.trace_number, "80.00")]
    bad_traces = [json.loads(value)["trace_number"] for (_, _, value, _), _ in bad.values()]
    assert (
        await admin.fetchval(
            "SELECT count(*) FROM payments.remittances WHERE trace_number = ANY($1::text[])", bad_traces
        )
        == 0
    )
    # No handler saw them: nothing in the inbox, not even a refused file kept.
    ids = [uuid.UUID(i) for i in bad]
    for table in ("payments.inbox", "payments.received_files"):
        assert (
            await admin.fetchval(f"SELECT count(*) FROM {table} WHERE event_id = ANY($1::uuid[])", ids) == 0
        )
    postings = await admin.fetch(
        "SELECT r.trace_number, p.paid FROM payments.claim_postings p "
        "JOIN payments.remittances r ON r.id = p.remittance_id WHERE p.claim_id = $1",
        claim_id,
    )
    assert [(row["trace_number"], str(row["paid"])) for row in postings] == [
        (good.data.trace_number, "80.00")
    ]


async def test_a_service_without_a_partners_public_key_refuses_to_start(settings, tmp_path: Path) -> None:
    """No unsigned mode: payments hears from the EHR and the clearinghouse, so without their keys
    it does not start (and says why), rather than refusing every partner event silently."""
    only_ehr = tmp_path / "public" / EHR
    only_ehr.mkdir(parents=True)
    (only_ehr / "x.pub").write_bytes(next((PUBLIC / EHR).glob("*.pub")).read_bytes())
    for directory, missing in ((None, "clearinghouse, ehr"), (tmp_path / "public", "clearinghouse")):
        with pytest.raises(PartnerKeyError, match=f"no public signing key for partner\\(s\\) {missing}"):
            async with running_service(
                "payments", settings.model_copy(update={"partner_keys_dir": directory})
            ):
                pass


# --- the canonical form and the keys ---------------------------------------------------------------


def _signed(partner: str = CLEARINGHOUSE) -> Encoded:
    event = new_event(remittance("TRN1", "PCN1", "80.00"), source="/partners/clearinghouse")
    return (
        PARTNER_SIGNER.encode(event)
        if partner == CLEARINGHOUSE
        else forged(event, PARTNER_SIGNER.keys[partner])
    )


def _with(headers: list[tuple[str, bytes]], name: str, value: bytes) -> list[tuple[str, bytes]]:
    return [(n, value if n == name else v) for n, v in headers]


def test_a_signed_event_verifies_and_each_signed_attribute_breaks_it() -> None:
    keys = PartnerKeys.from_dir(PUBLIC)
    topic, key, value, headers = _signed()
    keys.verify(topic, key, value, headers)  # the genuine record passes
    changes = {
        "id": (key, value, _with(headers, H_ID, b"5b0c0a3e-2f7d-4d8e-9a51-3f0d2c1b4a69")),
        "type (to another partner type)": (key, value, _with(headers, H_TYPE, b"claim.acknowledged.v1")),
        "source": (key, value, _with(headers, H_SOURCE, b"/partners/someone-else")),
        "time": (key, value, _with(headers, H_TIME, b"2020-01-01T00:00:00Z")),
        "key": (b"TRN2", value, headers),
        "payload": (key, value.replace(b"80", b"81"), headers),
    }
    for what, (k, v, h) in changes.items():
        topic_of = "claim.acknowledged" if "type" in what else topic
        with pytest.raises(BadSignature, match="does not verify for partner clearinghouse"):
            keys.verify(topic_of, k, v, h)
            pytest.fail(f"changing the {what} kept the signature valid")


def test_the_canonical_form_is_the_documented_lines() -> None:
    got = canonical(
        key_id="ch-1",
        event_id="i",
        event_type="t",
        source="s",
        time="2026-01-01T00:00:00Z",
        key=b"k",
        value=b"{}",
    )
    sha = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    assert got == f"revcycle-event-signature-v1\nch-1\ni\nt\ns\n2026-01-01T00:00:00Z\nk\n{sha}".encode()
    with pytest.raises(BadSignature, match="line break"):
        canonical(key_id="k", event_id="i\nx", event_type="t", source="s", time="", key=None, value=b"")


def test_the_partner_is_the_catalogue_publisher_not_what_the_event_says() -> None:
    keys = PartnerKeys.from_dir(PUBLIC)
    topic, key, value, headers = _signed(EHR)  # a remittance the EHR signed with its own key
    with pytest.raises(BadSignature, match=r"key ehr-\S+ is not a key of partner clearinghouse"):
        keys.verify(topic, key, value, headers)
    # Claiming the clearinghouse's key id does not help: the EHR's signature does not verify with it.
    relabelled = _with(headers, H_SIGNATURE_KEY_ID, PARTNER_SIGNER.keys[CLEARINGHOUSE].key_id.encode())
    with pytest.raises(BadSignature, match="does not verify for partner clearinghouse"):
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
        with pytest.raises(BadSignature, match=reason):
            keys.verify(topic, key, value, h)
            pytest.fail(what)
    with pytest.raises(BadSignature, match="no public key configured for partner clearinghouse"):
        PartnerKeys.from_dir(None).verify(topic, key, value, headers)


def test_rotation_two_keys_verify_a_third_is_refused(tmp_path: Path) -> None:
    old, new = new_key(tmp_path, CLEARINGHOUSE), new_key(tmp_path, CLEARINGHOUSE)
    keys = PartnerKeys.from_dir(tmp_path / "public")
    event = new_event(remittance("TRN1", "PCN1", "80.00"), source="/partners/clearinghouse")
    for signing_key in (old, new):
        keys.verify(*forged(event, signing_key))
    # The signer uses the newest key (ids sort by age).
    assert PartnerSigner.from_dir(tmp_path / "private").keys[CLEARINGHOUSE].key_id == new.key_id
    new_key(tmp_path, CLEARINGHOUSE)
    with pytest.raises(PartnerKeyError, match="at most 2"):
        PartnerKeys.from_dir(tmp_path / "public")


def test_one_key_cannot_serve_two_partners(tmp_path: Path) -> None:
    ch = new_key(tmp_path, CLEARINGHOUSE)
    (tmp_path / "public" / EHR).mkdir()
    pem = (tmp_path / "public" / CLEARINGHOUSE / f"{ch.key_id}.pub").read_bytes()
    (tmp_path / "public" / EHR / "ehr-1.pub").write_bytes(pem)
    with pytest.raises(PartnerKeyError, match="one public key serves partners"):
        PartnerKeys.from_dir(tmp_path / "public")
    (tmp_path / "public" / EHR / "ehr-1.pub").unlink()
    new_key(tmp_path, EHR)
    other = next((tmp_path / "public" / EHR).glob("*.pub"))
    other.rename(other.with_name(f"{ch.key_id}.pub"))
    with pytest.raises(PartnerKeyError, match="is used by"):
        PartnerKeys.from_dir(tmp_path / "public")


def test_a_partner_event_is_never_encoded_unsigned() -> None:
    with pytest.raises(PartnerKeyError, match="no signing key for partner clearinghouse"):
        PartnerSigner().encode(new_event(remittance("TRN1", "PCN1", "80.00"), source="/x"))
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


def test_make_up_gives_the_private_keys_to_the_sandbox_only() -> None:
    from deploy import processes

    programs = {p.name: p.environment for p in processes._programs()}
    for name, env in programs.items():
        assert env["PARTNER_KEYS_DIR"] == str(processes.PARTNER_KEYS / "public"), name
        signs = env.get("PARTNER_SIGNING_KEYS_DIR")
        assert signs == (str(processes.PARTNER_KEYS / "private") if name == "payer-sandbox" else None), name
