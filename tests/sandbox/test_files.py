"""Payer sandbox, files: 837 files uploaded over real SFTP (asyncssh's client) into the
sandbox's mailbox are answered with files in `from/`, and every TA1, 999 and 277CA it writes
validates with pyx12's maps (999.5010X231.A1, 277.5010.X214; a TA1-only interchange through
pyx12's control map plus our own envelope read), its 835s with pyx12's 835 map, x12sdk and
the balancing identities.

The 837s are the platform's own (services.claims.submission.x12: one claim per transaction
set, several sets per file, as a gateway batches them). Each test has its own sandbox and
mailbox user, so nothing here sees another suite's files.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from deploy.payer_sandbox.remit835 import check_balanced
from deploy.payer_sandbox.store import SandboxStore
from deploy.payer_sandbox.testing import TEST_RECEIVER_ID, SandboxHandle, running_sandbox, sample_270
from services.claims.claims.schemas import ClaimData
from services.claims.settings import ClaimsSettings
from services.claims.submission.x12 import VERSION, claim_segments
from shared import x12
from tests.claims.helpers import make_claim
from tests.conftest import pyx12_errors
from tests.sandbox.helpers import open_sftp
from tests.sandbox.test_claims import read_835

Body = list[list[str]]


def build_837(
    pcns: list[str],
    control_number: int,
    *,
    receiver_id: str = TEST_RECEIVER_ID,
    usage: str = "T",
    change: Callable[[list[Body]], None] | None = None,
    payers: dict[str, str] | None = None,
) -> str:
    """An interchange of one 837P set per claim, written by the claims service's generator
    (`payers`: another payer than SBX001 for some patient control numbers)."""
    settings = ClaimsSettings(receiver_id=receiver_id, usage_indicator=usage)
    now = datetime.now()
    bodies = [
        claim_segments(
            ClaimData.model_validate(make_claim(payer_id=(payers or {}).get(pcn, "SBX001"))),
            pcn,
            f"{control_number}{n}",
            now,
            settings,
        )
        for n, pcn in enumerate(pcns, start=1)
    ]
    if change is not None:
        change(bodies)
    return x12.build(
        bodies,
        transaction_code="837",
        functional_id="HC",
        version=VERSION,
        sender_id=settings.submitter_id,
        receiver_id=receiver_id,
        control_number=control_number,
        now=now,
        usage=usage,
    )


def drop_member_id(body: Body) -> int:
    """Remove NM109 of NM1*IL (2010BA) keeping NM108; the segment's position in its set."""
    index = next(i for i, s in enumerate(body) if s[:2] == ["NM1", "IL"])
    body[index] = body[index][:9]
    return index + 2  # ST is position 1, the body starts at 2


async def upload(sandbox: SandboxHandle, files: list[tuple[str, str]], *, careful: bool = True) -> None:
    """Put files into to/ over SFTP: as `.part` then posix-rename (careful), or straight."""
    async with open_sftp(sandbox) as sftp:
        for name, text in files:
            target = f"/to/{name}"
            async with sftp.open(target + ".part" if careful else target, "w") as f:
                await f.write(text)
            if careful:
                await sftp.posix_rename(target + ".part", target)


class Answers:
    """The files in from/, read as interchanges."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "from"

    def all(self) -> dict[str, str]:
        return {p.name: p.read_text() for p in sorted(self.folder.iterdir()) if not p.name.startswith(".")}

    def kind(self, kind: str) -> list[str]:
        return [text for name, text in self.all().items() if name.endswith(f"_{kind}.x12")]

    async def wait(self, done: Callable[[Answers], bool], timeout: float = 30) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not done(self):
            assert asyncio.get_running_loop().time() < deadline, f"answers so far: {sorted(self.all())}"
            await asyncio.sleep(0.1)


def segments(text: str) -> list[x12.Segment]:
    return x12.tokenize(text)[1]


def ta1_of(text: str) -> x12.Segment:
    """The TA1 of a TA1-only interchange, after checking its envelope (IEA01 0, IEA02 = ISA13)."""
    segs = segments(text)
    assert [s.id for s in segs] == ["ISA", "TA1", "IEA"], "TA1 interchange: ISA TA1 IEA"
    assert segs[2].get(1) == "0" and segs[2].get(2) == segs[0].get(13), "IEA01 0 groups, IEA02 = ISA13"
    assert pyx12_errors(text) == [], "TA1 through pyx12's control segments"
    return segs[1]


def answering(texts: list[str], segment: str, element: int, value: str) -> list[str]:
    return [t for t in texts if any(s.id == segment and s.get(element) == value for s in segments(t))]


def set_acks(text: str) -> dict[str, list[x12.Segment]]:
    """A 999's segments per AK2 (by AK202, the 837 set's ST02): AK2..IK5."""
    out: dict[str, list[x12.Segment]] = {}
    current: list[x12.Segment] | None = None
    for s in segments(text):
        if s.id == "AK2":
            current = out.setdefault(s.get(2), [])
        if current is not None:
            current.append(s)
        if s.id == "IK5":
            current = None
    return out


def claims_of_277ca(text: str) -> dict[str, dict[str, Any]]:
    """Loop 2200D per patient control number (TRN02): its STC01 and REF*1K."""
    out: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for s in segments(text):
        if s.id == "HL":
            current = None
            if s.get(3) == "PT":
                current = {}
        elif current is not None and s.id == "TRN":
            out[s.get(2)] = current
        elif current is not None and s.id == "STC":
            current["stc"] = s.get(1)
        elif current is not None and s.id == "REF" and s.get(1) == "1K":
            current["pccn"] = s.get(2)
    return out


@pytest.fixture
def prefix() -> str:
    return "F" + uuid.uuid4().hex[:8].upper()


async def test_a_mixed_batch_gets_ta1_999_277ca_and_835_files(prefix: str) -> None:
    good = [f"{prefix}G{n}" for n in range(1, 4)]
    mixed = [f"{prefix}M{n}" for n in range(1, 4)]
    positions: list[int] = []
    files = [
        ("claims-good.x12", build_837(good, 1001)),
        (
            "claims-mixed.x12",
            build_837(mixed, 1002, change=lambda bodies: positions.append(drop_member_id(bodies[1]))),
        ),
        ("claims-elsewhere.x12", build_837([f"{prefix}W1"], 1003, receiver_id="NOTOURS")),
        ("claims-production.x12", build_837([f"{prefix}P1"], 1004, usage="P")),
    ]
    async with running_sandbox(mailbox=True, remittance_mode="batched", cycle_seconds=1) as sandbox:
        assert sandbox.root is not None
        answers = Answers(sandbox.root)
        await upload(sandbox, files[:2])
        await upload(sandbox, files[2:], careful=False)
        await answers.wait(lambda a: len(a.kind("999")) == 2 and len(a.kind("TA1")) == 2)
        # The same ISA13 as claims-good.x12 with other content, and claims-good.x12 once more.
        await upload(sandbox, [("claims-again.x12", build_837([f"{prefix}R1"], 1001))])
        await upload(sandbox, [files[0]])
        asking = build_837([f"{prefix}L1"], 1005).replace("*000001005*0*T*:", "*000001005*1*T*:", 1)
        await upload(sandbox, [("claims-last.x12", asking)])
        await answers.wait(lambda a: len(a.kind("999")) == 3 and len(a.kind("TA1")) == 4)
        await answers.wait(lambda a: any(f"CLP*{good[0]}*" in t for t in a.kind("835")))
        stats = (await sandbox.stats())["claims"]
        assert not list((sandbox.root / "to").iterdir()), "every file was taken from to/"

    acks999 = answers.kind("999")
    for text in acks999:
        assert pyx12_errors(text) == [], "999 validates against 005010X231A1"
    for text in answers.kind("277CA"):
        assert pyx12_errors(text) == [], "277CA validates against 005010X214"

    # The good file: one 999 (AK1 GS06 1001) accepting its three sets; a 277CA with A2:20 each.
    (good_999,) = answering(acks999, "AK1", 2, "1001")
    assert [s.get(1) for s in segments(good_999) if s.id == "IK5"] == ["A", "A", "A"], "2000 IK5 per set"
    ak9 = next(s for s in segments(good_999) if s.id == "AK9")
    assert ak9.elements[:4] == ("A", "3", "3", "3"), "AK9: accepted, 3 included, received, accepted"
    (good_277,) = answering(answers.kind("277CA"), "BHT", 3, "000001001")
    claims = claims_of_277ca(good_277)
    assert set(claims) == set(good), "2200D TRN02 = CLM01 per claim"
    assert all(c["stc"] == "A2:20" and c["pccn"] for c in claims.values()), "2200D STC A2:20 + REF*1K"

    # The mixed file: set 0002 rejected naming NM1 at its position, loop 2010(BA), NM109 (67).
    (mixed_999,) = answering(acks999, "AK1", 2, "1002")
    by_set = set_acks(mixed_999)
    assert [s.id for s in by_set["0001"]] == ["AK2", "IK5"] and by_set["0001"][-1].get(1) == "A"
    assert [s.id for s in by_set["0003"]] == ["AK2", "IK5"] and by_set["0003"][-1].get(1) == "A"
    bad = {s.id: s for s in by_set["0002"]}
    assert bad["IK3"].elements == ("NM1", str(positions[0]), "2010", "8"), "2100 IK3: segment has errors"
    assert bad["IK4"].elements == ("9", "67", "1"), "2110 IK4: NM109 (67) required element missing"
    assert bad["CTX"].get(1) == f"CLM01:{mixed[1]}", "2100 CTX business unit: the claim's CLM01"
    assert bad["IK5"].elements == ("R", "5"), "IK5 R 5: one or more segments in error"
    ak9 = next(s for s in segments(mixed_999) if s.id == "AK9")
    assert ak9.elements[:4] == ("P", "3", "3", "2"), "AK9 P: partially accepted"
    (mixed_277,) = answering(answers.kind("277CA"), "BHT", 3, "000001002")
    assert set(claims_of_277ca(mixed_277)) == {mixed[0], mixed[2]}, "no 277CA claim for the rejected set"

    # Envelope rejections: TA1 R with the note, and no 999 for those interchanges.
    ta1s = {ta1.get(1): ta1 for ta1 in map(ta1_of, answers.kind("TA1"))}
    assert ta1s["000001003"].elements[3:5] == ("R", "008"), "TA1 R 008: receiver id not ours"
    assert ta1s["000001004"].elements[3:5] == ("R", "020"), "TA1 R 020: ISA15 P from a test user"
    assert ta1s["000001001"].elements[3:5] == ("R", "025"), "TA1 R 025: ISA13 reused, other content"
    assert not answering(acks999, "AK1", 2, "1003") and not answering(acks999, "AK1", 2, "1004")
    # The identical re-upload was ignored: still one 999 for ISA13 1001.
    assert len(answering(acks999, "AK1", 2, "1001")) == 1 and stats["files_repeated"] == 1
    assert answering(acks999, "AK1", 2, "1005"), "the file after the repeat was answered"
    assert ta1s["000001005"].elements[3:5] == ("A", "000"), "TA1 A 000 when ISA14 asks for one"

    # 835s on the payer's cycle: accepted claims only, balanced, valid for pyx12 and x12sdk.
    remitted: set[str] = set()
    for text in answers.kind("835"):
        check_balanced(text)
        remitted |= set(read_835(text)["claims"])
    assert set(good) | {mixed[0], mixed[2]} <= remitted
    assert mixed[1] not in remitted and f"{prefix}W1" not in remitted


async def test_a_set_with_a_wrong_segment_count_is_rejected_alone(prefix: str) -> None:
    pcns = [f"{prefix}C{n}" for n in range(1, 3)]
    text = build_837(pcns, 2001)
    lines = text.split("\n")
    first_se = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    lines[first_se] = lines[first_se].replace("SE*", "SE*9", 1)  # SE01 no longer counts the set
    async with running_sandbox(mailbox=True) as sandbox:
        assert sandbox.root is not None
        answers = Answers(sandbox.root)
        await upload(sandbox, [("claims-count.x12", "\n".join(lines))])
        await answers.wait(lambda a: bool(a.kind("999")) and bool(a.kind("277CA")))
    (ack,) = answers.kind("999")
    assert pyx12_errors(ack) == [], "999 validates against 005010X231A1"
    by_set = set_acks(ack)
    assert by_set["0001"][-1].elements == ("R", "4"), "IK5 R 4: SE01 does not match the segment count"
    assert by_set["0002"][-1].elements == ("A",)
    (ca,) = answers.kind("277CA")
    assert pyx12_errors(ca) == [], "277CA validates against 005010X214"
    assert set(claims_of_277ca(ca)) == {pcns[1]}


async def test_rejected_claims_carry_status_and_entity_codes(prefix: str) -> None:
    pcns = [f"{prefix}E{n}" for n in range(1, 4)]

    def unknown_member(bodies: list[Body]) -> None:
        index = next(i for i, s in enumerate(bodies[0]) if s[:2] == ["NM1", "IL"])
        bodies[0][index][9] = "SBX50001"  # not on file: A3:33 subscriber not found

    async with running_sandbox(mailbox=True) as sandbox:
        assert sandbox.root is not None
        answers = Answers(sandbox.root)
        text = build_837(pcns, 3001, change=unknown_member, payers={pcns[2]: "SBX002"})
        await upload(sandbox, [("claims-edits.x12", text)])
        await answers.wait(lambda a: bool(a.kind("277CA")))
    (ca,) = answers.kind("277CA")
    assert pyx12_errors(ca) == [], "277CA validates against 005010X214"
    claims = claims_of_277ca(ca)
    assert claims[pcns[0]]["stc"] == "A3:33:IL" and "pccn" not in claims[pcns[0]], "2200D STC A3:33:IL"
    assert claims[pcns[1]]["stc"] == claims[pcns[2]]["stc"] == "A2:20"
    payers = [s.get(9) for s in segments(ca) if s.id == "NM1" and s.get(1) == "PR"]
    assert payers == ["SBX001", "SBX002"], "2000A/2100A: one information source per payer"
    totals = [(s.get(1), s.get(2)) for s in segments(ca) if s.id == "QTY"]
    assert totals == [("90", "1"), ("AA", "1"), ("QA", "1"), ("QC", "1"), ("90", "1"), ("QA", "1")], (
        "2200B/2200C accepted and rejected counts per payer and provider"
    )


async def test_a_restart_delivers_stored_answers_and_answers_recorded_files_once(
    prefix: str, tmp_path: Path
) -> None:
    """What a crash can leave: an answer stored but not yet in from/, and a file taken from
    to/ (its row committed) but not answered. The next start writes the first (same name,
    same bytes) and answers the second, and answers nothing twice."""
    state = str(tmp_path / "sandbox.sqlite3")
    first, second = [f"{prefix}A1", f"{prefix}A2"], [f"{prefix}B1"]
    async with running_sandbox(mailbox=True, mailbox_dir=tmp_path, state_path=state) as sandbox:
        assert sandbox.root is not None and sandbox.user is not None
        root, user = sandbox.root, sandbox.user
        answers = Answers(root)
        await upload(sandbox, [("claims-1.x12", build_837(first, 6001))])
        await answers.wait(lambda a: bool(a.kind("277CA")) and bool(a.kind("835")))
    before = answers.all()
    (lost,) = [name for name in before if name.endswith("_277CA.x12")]
    (root / "from" / lost).unlink()
    store = SandboxStore(state)
    with store.transaction():
        store._db.execute("UPDATE files_out SET written_at = NULL WHERE name = ?", (lost,))
        text = build_837(second, 6002)
        store.file_received(
            user, "claims-2.x12", hashlib.sha256(text.encode()).hexdigest(), "000006002", text
        )
    store.close()
    async with running_sandbox(mailbox=True, mailbox_dir=tmp_path, state_path=state):
        await answers.wait(lambda a: lost in a.all() and len(a.kind("277CA")) == 2)
    after = answers.all()
    assert after[lost] == before[lost], "the stored 277CA is written as it was decided"
    assert len(answering(answers.kind("999"), "AK1", 2, "6001")) == 1, "the first file answered once"
    assert len(answering(answers.kind("999"), "AK1", 2, "6002")) == 1, "the recorded file answered once"
    paid = [t for t in answers.kind("835") if f"CLP*{first[0]}*" in t]
    assert len(paid) == 1, "a claim is paid once across the restart"


async def test_a_transaction_set_it_does_not_take_is_rejected_in_the_999(prefix: str) -> None:
    """A 270 in the claims mailbox: its envelope is fine, so no TA1, but the 999 rejects the
    set as not supported (IK5 R 1) and nothing else is answered."""
    inquiry = sample_270("SBX10001", control_number=7001).replace(
        "SBX001         ", f"{TEST_RECEIVER_ID:<15}", 1
    )
    async with running_sandbox(mailbox=True, usage="P") as sandbox:
        assert sandbox.root is not None
        answers = Answers(sandbox.root)
        await upload(sandbox, [(f"{prefix}.x12", inquiry)])
        await answers.wait(lambda a: bool(a.kind("999")))
    (ack,) = answers.kind("999")
    assert pyx12_errors(ack) == [], "999 validates against 005010X231A1"
    (set_ack,) = set_acks(ack).values()
    assert set_ack[0].elements[:2] == ("270", "0001"), "AK2 names the set's own type"
    assert set_ack[-1].elements == ("R", "1"), "IK5 R 1: transaction set not supported"
    assert next(s for s in segments(ack) if s.id == "AK9").elements[:4] == ("R", "1", "1", "0")
    assert sorted(n.rsplit("_", 1)[-1] for n in answers.all()) == ["999.x12"]
