"""Payer sandbox, institutional files: one file holding an 837P group and an 837I group (GS08
tells them apart), the 999 on a broken 837I set (IK3/IK4 located as for 837P), the public 837I
sample (messy on purpose), and a restart over the store that pays no 837I twice.

Files go through the real SFTP mailbox; every 999, 277CA and 835 validates with pyx12.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from deploy.payer_sandbox.remit835 import check_balanced
from deploy.payer_sandbox.testing import TEST_RECEIVER_ID, running_sandbox
from services.claims.claims.schemas import ClaimData
from services.claims.settings import ClaimsSettings
from services.claims.submission.x12 import claim_segments
from tests.claims.helpers import make_claim
from tests.conftest import pyx12_errors
from tests.sandbox.helpers import VERSION_837I, VERSION_837P, Rev, make_837i, make_interchange
from tests.sandbox.test_files import Answers, claims_of_277ca, segments, set_acks, ta1_of, upload
from tests.sandbox.test_institutional import claims_of_835

SAMPLE = (
    Path(__file__).resolve().parents[3] / "shared" / "samples" / "x12" / "837I_005010X223A2" / "inpatient.837"
)
STAY = [Rev("0120", "9200.00", "4", basis="DA"), Rev("0300", "1200.00", "1", "80053")]


@pytest.fixture
def prefix() -> str:
    return "J" + uuid.uuid4().hex[:8].upper()


def professional_body(pcn: str) -> list[list[str]]:
    """An 837P set body as the platform's claims service writes it."""
    settings = ClaimsSettings(receiver_id=TEST_RECEIVER_ID, usage_indicator="T")
    data = ClaimData.model_validate(make_claim(payer_id="SBX001"))
    return claim_segments(data, pcn, "9001", datetime.now(), settings)


async def test_one_file_with_an_837p_group_and_an_837i_group(prefix: str) -> None:
    office, stay = f"{prefix}P", f"{prefix}I"
    text = make_interchange(
        [(VERSION_837P, [professional_body(office)]), (VERSION_837I, [make_837i(stay, STAY)])], 9101
    )
    async with running_sandbox(mailbox=True) as sandbox:
        assert sandbox.root is not None
        answers = Answers(sandbox.root)
        await upload(sandbox, [("mixed.x12", text)])
        await answers.wait(lambda a: {office, stay} <= {p for t in a.kind("835") for p in claims_of_835(t)})
    (ack,) = answers.kind("999")
    assert pyx12_errors(ack) == []
    ak1 = [s.elements for s in segments(ack) if s.id == "AK1"]
    assert ak1 == [("HC", "1", VERSION_837P), ("HC", "2", VERSION_837I)], "one 999 set per group, GS08 echoed"
    ak2 = [s.get(3) for s in segments(ack) if s.id == "AK2"]
    assert ak2 == [VERSION_837P, VERSION_837I], "AK203: each set's own guide"
    assert [s.get(1) for s in segments(ack) if s.id == "IK5"] == ["A", "A"]
    (ca,) = answers.kind("277CA")
    assert pyx12_errors(ca) == []
    assert {p: c["stc"] for p, c in claims_of_277ca(ca).items()} == {office: "A2:20", stay: "A2:20"}
    claims = {}
    for remit in answers.kind("835"):
        assert pyx12_errors(remit) == []
        check_balanced(remit)
        claims |= claims_of_835(remit)
    assert claims[office]["svc"] and all(line["svc"][0].startswith("HC:") for line in claims[office]["svc"])
    assert "mia" not in claims[office] and len(claims[office]["clp"]) <= 9, "837P: no MIA, no CLP11"
    assert claims[stay]["clp"][7:9] == ("11", "1") and claims[stay]["clp"][10] == "291"
    assert claims[stay]["mia"][0] == "4" and claims[stay]["svc"] == []


async def test_a_broken_837i_set_is_located_in_the_999(prefix: str) -> None:
    """SV203 (line charge) missing in the second set: IK3 SV2 at its position in loop 2400,
    IK4 element 3 (data element 782) missing; the first set is accepted and paid."""
    good, bad = f"{prefix}G", f"{prefix}B"
    broken = make_837i(bad, STAY)
    index = next(i for i, s in enumerate(broken) if s[0] == "SV2")
    broken[index] = [*broken[index][:3], "", *broken[index][4:]]
    text = make_interchange([(VERSION_837I, [make_837i(good, STAY), broken])], 9201)
    async with running_sandbox(mailbox=True) as sandbox:
        assert sandbox.root is not None
        answers = Answers(sandbox.root)
        await upload(sandbox, [("broken.x12", text)])
        await answers.wait(lambda a: bool(a.kind("999")) and bool(a.kind("835")))
    (ack,) = answers.kind("999")
    assert pyx12_errors(ack) == []
    by_set = set_acks(ack)
    assert by_set["0001"][-1].elements == ("A",)
    notes = {s.id: s for s in by_set["0002"]}
    assert notes["AK2"].elements == ("837", "0002", VERSION_837I)
    assert notes["IK3"].elements == ("SV2", str(index + 2), "2400", "8"), "2100 IK3: SV2, position, loop"
    assert notes["IK4"].elements == ("3", "782", "1"), "2110 IK4: SV203 (782) required element missing"
    assert notes["CTX"].get(1) == f"CLM01:{bad}"
    assert notes["IK5"].elements == ("R", "5")
    assert set(claims_of_835(answers.kind("835")[0])) == {good}


async def test_the_public_837i_sample(prefix: str) -> None:
    """The imsweb sample has a space after some segment terminators, 4010-era qualifiers (HI*BK),
    SE01 25 for a set of 48 segments, ISA08 RECEIVERS.ID and ISA14 1. The sandbox reads through
    the padding (counted) and the BK qualifier; as sent it is addressed to another receiver:
    TA1 R 008. Addressed to us, the TA1 A it asked for, and a 999 rejecting the set (IK5 R 4,
    SE01 wrong) with AK1/AK2 naming X223A2; nothing is adjudicated. With SE01 right, the set is
    accepted and its claim read (principal diagnosis from HI*BK); the 277CA rejects it: payer
    11122333 is not one of the sandbox's (A3:116)."""
    sample = SAMPLE.read_text()
    ours = sample.replace("RECEIVERS.ID   ", f"{TEST_RECEIVER_ID:<15}", 1).replace("000000905", "000000907")
    counted = ours.replace("000000907", "000000906").replace("SE*25*987654", "SE*48*987654")
    async with running_sandbox(mailbox=True) as sandbox:
        assert sandbox.root is not None
        answers = Answers(sandbox.root)
        await upload(
            sandbox, [("sample.837", sample), ("sample-ours.837", ours), ("sample-counted.837", counted)]
        )
        await answers.wait(
            lambda a: len(a.kind("TA1")) == 3 and len(a.kind("999")) == 2 and bool(a.kind("277CA"))
        )
        stats = (await sandbox.stats())["claims"]
    ta1s = {ta1.get(1): ta1.elements[3:5] for ta1 in map(ta1_of, answers.kind("TA1"))}
    assert ta1s == {"000000905": ("R", "008"), "000000907": ("A", "000"), "000000906": ("A", "000")}
    assert stats["files_padded"] == 3, "the padding after terminators is read through and counted"
    acks = answers.kind("999")
    for ack in acks:
        assert pyx12_errors(ack) == []
    (rejected,) = [a for a in acks if any(s.id == "IK5" and s.get(1) == "R" for s in segments(a))]
    assert next(s for s in segments(rejected) if s.id == "AK1").elements == ("HC", "1", VERSION_837I)
    (set_ack,) = set_acks(rejected).values()
    assert set_ack[0].elements == ("837", "987654", VERSION_837I)
    assert set_ack[-1].elements == ("R", "4"), "IK5 R 4: SE01 does not count the set"
    (ca,) = answers.kind("277CA")
    assert pyx12_errors(ca) == []
    assert claims_of_277ca(ca) == {"A37YH556": {"stc": "A3:116:PR"}}, "payer not known to the clearinghouse"
    assert not answers.kind("835")


async def test_a_restart_over_the_store_pays_no_837i_twice(prefix: str, tmp_path: Path) -> None:
    """Paid before the restart; after it, the same stay sent again is a duplicate (CO-18) and a
    replacement (type of bill 117) reverses the stored payment to the cent: CLP02 22 with its
    claim-level CAS and MIA04 negated, then pays the replacement."""
    pcn = f"{prefix}R"
    state = str(tmp_path / "sandbox.sqlite3")
    options = {"mailbox": True, "mailbox_dir": tmp_path, "state_path": state}
    async with running_sandbox(**options) as sandbox:
        assert sandbox.root is not None
        answers = Answers(sandbox.root)
        await upload(
            sandbox, [("stay.x12", make_interchange([(VERSION_837I, [make_837i(pcn, STAY)])], 9301))]
        )
        await answers.wait(lambda a: len(a.kind("835")) == 1)
    (first,) = answers.kind("835")
    original = claims_of_835(first)[pcn]
    again = make_837i(pcn, STAY)
    pccn = original["clp"][6]  # CLP07, the payer's claim control number
    replacement = make_837i(pcn, [*STAY, Rev("0250", "300.00", "3")], bill="117", original=pccn)
    async with running_sandbox(**options) as sandbox:  # a mailbox user of its own: its own from/
        assert sandbox.root is not None
        later = Answers(sandbox.root)
        await upload(sandbox, [("again.x12", make_interchange([(VERSION_837I, [again, replacement])], 9302))])
        await later.wait(lambda a: len(a.kind("835")) == 1)
    (second,) = later.kind("835")
    assert pyx12_errors(second) == []
    check_balanced(second)
    clps = [s for s in segments(second) if s.id == "CLP"]
    assert [s.get(2) for s in clps] == ["4", "22", "1"], (
        "duplicate denied, original reversed, replacement paid"
    )
    statuses = {}
    current = None
    for s in segments(second):
        if s.id == "CLP":
            current = s.get(2)
            statuses[current] = {"clp": s.elements, "cas": []}
        elif s.id == "CAS" and current:
            statuses[current]["cas"] += [
                (s.get(1), s.get(i), Decimal(s.get(i + 1))) for i in range(2, 20, 3) if s.get(i)
            ]
        elif s.id == "MIA" and current:
            statuses[current]["mia"] = s.elements
    assert statuses["4"]["cas"] == [("CO", "18", Decimal("10400.00"))], "CARC 18: exact duplicate"
    reversal = statuses["22"]
    assert Decimal(reversal["clp"][3]) == -Decimal(original["clp"][3]), "CLP04 negated"
    assert reversal["cas"] == [(g, r, -a) for g, r, a in original["cas"]], "claim CAS negated"
    assert Decimal(reversal["mia"][3]) == -Decimal(original["mia"][3]), "MIA04 negated"
    assert statuses["1"]["clp"][8] == "7", "CLP09 7: the replacement"
