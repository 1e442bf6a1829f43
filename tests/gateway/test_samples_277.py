"""277 claim status responses (005010X212): the public samples read to the statuses they
state, and every 277 the payer sandbox writes validates with the corrected pyx12 map
(tests/x12maps) and x12sdk; the corrected map still rejects a 277 claim without its STC.
The 276s we write are checked with x12sdk only (pyx12 has no 276 X212 map)."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import pyx12.params
import pyx12.x12n_document
from x12sdk.io import X12ModelReader

from deploy.payer_sandbox.adjudication import ClaimPayment, PaidLine
from deploy.payer_sandbox.claimstatus import parse_276, write_277
from deploy.payer_sandbox.store import SandboxStore
from deploy.payer_sandbox.testing import running_sandbox
from services.claims.claims.schemas import ClaimData
from services.claims.settings import ClaimsSettings
from services.claims.submission.x12 import generate
from services.gateway.claimstatus.x12 import read_277, write_276
from shared import x12
from tests.claims.helpers import make_claim

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "x12" / "277_005010X212"
if not SAMPLES.is_dir():
    SAMPLES = Path("/work/shared/samples/x12/277_005010X212")
MAPS = str(Path(__file__).resolve().parents[1] / "x12maps")
NOW = datetime(2026, 12, 5, 10, 0)


def pyx12_277_errors(text: str) -> list[str]:
    """pyx12's validator with the corrected 277 X212 map: its errors, empty when valid."""
    out = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(
        param=pyx12.params.params(),
        src_file=io.StringIO(text),
        fd_997=None,
        fd_html=None,
        fd_json=out,
        map_path=MAPS,
    )
    if ok:
        return []
    return [
        line.split('"err_str": ')[1].strip(' ",') for line in out.getvalue().splitlines() if "err_str" in line
    ]


def x12sdk_model(text: str) -> Any:
    with X12ModelReader(text) as reader:
        (model,) = list(reader.models())
    return model


def test_claim_level_status_sample_reads_to_its_three_claims():
    text = (SAMPLES / "claim-level-status.277").read_text()
    assert pyx12_277_errors(text) == []  # the corrected map accepts the public sample
    answers = {a.patient_control_number: a for a in read_277(x12.parse(text, strict=False))}
    first, second, third = answers["SM123456"], answers["J0234567"], answers["MA345678"]
    assert (first.trace_number, [c.compact for c in first.codes]) == ("ABCXYZ1", ["P3:317"])
    assert (first.effective_date, first.total_charge, first.paid_amount) == (
        date(2005, 9, 13),
        Decimal("8513.88"),
        None,
    )
    assert first.payer_claim_control_number == "05347006051"
    assert [c.compact for c in second.codes] == ["F0:3"]
    assert (second.effective_date, second.paid_amount) == (date(2005, 9, 15), Decimal("7599.00"))
    assert third.dependent and [c.compact for c in third.codes] == ["F2:88:QC"]
    assert (third.total_charge, third.paid_amount) == (Decimal("150.00"), Decimal("0.00"))
    (line,) = third.lines
    assert (line.procedure_code, line.charge, line.paid, [c.compact for c in line.codes]) == (
        "99203",
        Decimal("150.00"),
        Decimal("0.00"),
        ["F2:88:QC"],
    )


def test_imsweb_sample_reads_eight_a1_claims_across_2000a_loops_with_a_warning():
    text = (SAMPLES / "claim-status-imsweb.277").read_text()
    interchange = x12.parse(text, strict=False)
    assert [w.segment for w in interchange.warnings] == ["IEA"]  # IEA02 is not its ISA13
    answers = read_277(interchange)
    assert [a.patient_control_number for a in answers] == [
        "12345",
        "12346",
        "12347",
        "12348",
        "12349",
        "12340",
        "12341",
        "12342",
    ]
    assert all([c.compact for c in a.codes] == ["A1:704"] for a in answers)
    assert all(a.free_text == "PAYER ACKNOWLEDGED RECEIPT OF THE CLAIM" for a in answers)
    assert answers[0].effective_date == date(2020, 11, 16) and answers[0].total_charge == Decimal("600")
    # The sample sends STC03 and STC12, which the guide marks Not Used in 277 X212: exactly
    # those (and its IEA02) are what the corrected map complains about.
    errors = set(pyx12_277_errors(text))
    assert errors == {
        "IEA id=842928883 does not match ISA id=000000001",
        'Data element \\"Action Code\\" (STC03) is marked as Not Used',
        'Data element \\"Free-form Message Text\\" (STC12) is marked as Not Used',
    }, errors


def an_837(member_id: str, dependent: bool = False) -> tuple[str, str]:
    """(837, its PCN) of a claim as the claims service writes it."""
    body = make_claim()
    body["subscriber"]["member_id"] = member_id
    if dependent:
        body["relationship_code"] = "19"
        body["patient"] = {"first_name": "Tim", "last_name": "Doe", "birth_date": "2015-06-07", "gender": "M"}
    pcn = f"P{uuid.uuid4().hex[:12].upper()}"
    return generate(ClaimData.model_validate(body), pcn, control_number=7001, settings=ClaimsSettings()), pcn


def a_276(x12_837: str, trace: str = "TRACE1") -> str:
    text = write_276(
        x12_837, sender_id="REVCYCLE", receiver_id="SANDBOXCH", control_number=9, trace=trace, now=NOW
    )
    assert type(x12sdk_model(text)).__name__ == "HealthCareClaimsStatusRequest"
    return text


def remembered(store: SandboxStore, pcn: str, *, paid: str, status: str, trace: str | None) -> None:
    """The sandbox's store remembers a payment of this claim (as its adjudication writes it)."""
    line = PaidLine(
        1, "99213", (), Decimal("175.00"), Decimal("1"), Decimal(paid), None, (), date(2026, 12, 2)
    )
    payment = ClaimPayment(
        pcn,
        status,
        "SBX001",
        f"PC{pcn}",
        "CI",
        "11",
        "1",
        "SBX10001",
        "DOE",
        "JANE",
        "1234567893",
        "CLINIC",
        (line,),
    )
    store.adjudicated([payment], ("k", pcn))
    if trace:
        store._db.execute("UPDATE payments SET trace = ? WHERE pcn = ?", (trace, pcn))


@pytest.mark.parametrize(
    ("member", "dependent", "payment", "codes"),
    [
        ("SBX80002", False, None, ["P3:317"]),
        ("SBX80001", True, None, ["A4:35"]),
        ("SBX10001", False, None, ["A4:35"]),  # never seen
        ("SBX10001", False, ("140.00", "1", "TRN835X1"), ["F1:65"]),
        ("SBX10001", True, ("0.00", "4", "TRN835X2"), ["F2:1"]),
        ("SBX10001", False, ("140.00", "1", None), ["P1:20"]),  # waiting for the 835 cycle
    ],
)
def test_every_277_the_sandbox_writes_validates_with_pyx12_and_x12sdk(member, dependent, payment, codes):
    store = SandboxStore(None)
    x12_837, pcn = an_837(member, dependent)
    if payment is not None:
        remembered(store, pcn, paid=payment[0], status=payment[1], trace=payment[2])
    text = write_277(parse_276(a_276(x12_837)), store, NOW, 700_000_001)
    assert pyx12_277_errors(text) == []
    assert type(x12sdk_model(text)).__name__ == "HealthCareClaimsStatusResponse"
    (answer,) = read_277(x12.parse(text))
    assert (answer.trace_number, answer.patient_control_number, answer.dependent) == (
        "TRACE1",
        pcn,
        dependent,
    )
    assert [c.compact for c in answer.codes] == codes
    if codes == ["F1:65"]:
        assert (answer.paid_amount, answer.check_number, answer.check_date) == (
            Decimal("140"),
            "TRN835X1",
            NOW.date(),
        )


def test_the_corrected_map_still_rejects_a_277_claim_without_its_stc():
    x12_837, _ = an_837("SBX80002")
    text = write_277(parse_276(a_276(x12_837)), None, NOW, 700_000_002)
    assert pyx12_277_errors(text) == []
    segments = text.split("~\n")
    stripped = [s for s in segments if not s.startswith("STC*")]
    stripped = [
        f"SE*{int(s.split('*')[1]) - 1}*{s.split('*')[2]}" if s.startswith("SE*") else s for s in stripped
    ]
    errors = pyx12_277_errors("~\n".join(stripped))
    assert any("STC" in e and "missing" in e.lower() for e in errors), errors


async def test_the_running_sandbox_answers_a_276_over_http_and_refuses_garbage():
    x12_837, pcn = an_837("SBX80002", dependent=True)
    async with running_sandbox() as sandbox, httpx.AsyncClient(base_url=sandbox.base_url) as client:
        answered = await client.post(
            "/x12/276", content=a_276(x12_837, "T-HTTP"), headers={"Content-Type": "application/edi-x12"}
        )
        garbage = await client.post(
            "/x12/276", content=b"not x12", headers={"Content-Type": "application/edi-x12"}
        )
    assert answered.status_code == 200 and pyx12_277_errors(answered.text) == []
    (answer,) = read_277(x12.parse(answered.text))
    assert (answer.trace_number, answer.patient_control_number, [c.compact for c in answer.codes]) == (
        "T-HTTP",
        pcn,
        ["P3:317"],
    )
    assert garbage.status_code == 400 and garbage.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert "not x12" not in garbage.text
