"""The payers' claim status desk: POST /x12/276 answers a 276 (005010X212) with a 277.

Each claim of the 276 (a 2200D/E TRN) is looked up by its patient control number (REF*EJ) and
payer, the way a payer finds a claim, so it works whether the sandbox took the claim from
Kafka (keyed by claim id) or from a file (keyed by PCN and payer):

- a scenario with `claim_status` (data/scenarios.json; SBX80001 accepted then lost, SBX80002
  pended) answers what it says (A4:35, P3:317);
- a claim the sandbox paid and remitted (an 835 went out): F1:65 with STC05 paid, STC08 the
  remittance date and STC09 its trace (the check/EFT number); denied (CLP02 4): F2:1;
  adjudicated and waiting for the payer's 835 cycle: P1:20 (in process);
- a claim it does not know: A4:35 (not found).

The 277 echoes our TRN02 (as TRN*2) and REF*EJ, names the same parties, and is written with
shared.x12 so the tests validate it with the corrected pyx12 277 X212 map and x12sdk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from deploy.payer_sandbox.data import scenario_table
from shared import x12
from shared.x12 import Segment, amount, d8, seg

router = APIRouter(tags=["claim-status"])
X12_MEDIA_TYPE = "application/edi-x12"
GUIDE = "005010X212"


@dataclass
class Inquiry:
    """One claim a 276 asks about, and the parties above it."""

    payer: Segment
    receiver: Segment
    provider: Segment
    subscriber: Segment
    patient: Segment | None
    trace: str
    pcn: str = ""
    pccn: str | None = None
    charge: Decimal | None = None
    dates: str | None = None  # DTP03 as sent (D8 or RD8 text)
    dates_format: str = "RD8"
    extra: list[Segment] = field(default_factory=list)

    @property
    def member_id(self) -> str:
        return self.subscriber.get(9)


def parse_276(text: str) -> list[Inquiry]:
    """Every claim (TRN) of every 276 set, with its parties."""
    return [i for tx in x12.parse(text, expect="276", strict=False).transactions for i in inquiries_of(tx)]


def inquiries_of(tx: x12.TransactionSet) -> list[Inquiry]:
    """Every claim (TRN) of one 276 set, with its parties."""
    out: list[Inquiry] = []
    parties: dict[str, Segment] = {}
    current = None
    for s in tx.segments:
        if s.id == "HL":
            current = None
            if s.get(3) in ("20", "21", "19", "22"):
                parties.pop("QC", None)
        elif s.id == "NM1":
            parties[s.get(1)] = s
        elif s.id == "TRN":
            missing = [k for k in ("PR", "41", "1P", "IL") if k not in parties]
            if missing:
                raise s.error(f"TRN before its {'/'.join(missing)} NM1")
            current = Inquiry(
                parties["PR"], parties["41"], parties["1P"], parties["IL"], parties.get("QC"), s.get(2)
            )
            out.append(current)
        elif current is not None:
            _claim_detail(current, s)
    return out


def _claim_detail(current: Inquiry, s: Segment) -> None:
    if s.id == "REF" and s.get(1) == "EJ":
        current.pcn = s.get(2)
    elif s.id == "REF" and s.get(1) == "1K":
        current.pccn = s.get(2)
    elif s.id == "AMT" and s.get(1) == "T3":
        current.charge = x12.read_amount(s, 2, required=False)
    elif s.id == "DTP" and s.get(1) == "472":
        current.dates_format, current.dates = s.get(2) or "RD8", s.get(3)


@dataclass(frozen=True)
class Answer:
    """What the payer says about one claim."""

    codes: str  # STC01 composite, e.g. F1:65
    pccn: str | None = None
    charge: Decimal | None = None
    paid: Decimal | None = None
    adjudicated: date | None = None
    check_date: date | None = None
    check_number: str | None = None


def _scenario_answer(member_id: str) -> str | None:
    member = scenario_table()["members"].get(member_id) or {}
    return (member.get("claim_status") or {}).get("answer")


def _stored(store: Any, pcn: str, payer_id: str) -> tuple[str, str, str | None, str] | None:
    """(status, payment JSON, 835 trace or None, at) of the latest payment of this PCN."""
    if store is None or not pcn:
        return None
    return store.latest_payment(pcn, payer_id)


def decide(inquiry: Inquiry, store: Any, today: date) -> Answer:
    """The payer's answer about one claim (see the module's docstring)."""
    scripted = _scenario_answer(inquiry.member_id)
    if scripted:
        held = scripted.startswith(("P", "F"))
        return Answer(scripted, charge=inquiry.charge if held else None)
    stored = _stored(store, inquiry.pcn, inquiry.payer.get(9))
    if stored is None:
        return Answer("A4:35")
    status, payment_json, trace, at = stored
    payment = json.loads(payment_json)
    pccn = payment.get("pccn")
    charge = sum((Decimal(line["charge"]) for line in payment["lines"]), Decimal("0"))
    paid = sum((Decimal(line["paid"]) for line in payment["lines"]), Decimal("0"))
    when = datetime.fromisoformat(at).date()
    if trace is None:
        return Answer("P1:20", pccn=pccn, charge=charge)
    if status == "4" or paid == 0:
        return Answer("F2:1", pccn=pccn, charge=charge, paid=Decimal("0"), adjudicated=when)
    return Answer(
        "F1:65",
        pccn=pccn,
        charge=charge,
        paid=paid,
        adjudicated=when,
        check_date=when,
        check_number=trace[:16],
    )


def _claim_segments(inquiry: Inquiry, answer: Answer, today: date) -> list[list[str]]:
    money = answer.charge if answer.charge is not None else inquiry.charge
    stc = seg(
        "STC",
        answer.codes,
        d8(answer.adjudicated or today),
        None,
        amount(money) if money is not None else None,
        amount(answer.paid) if answer.paid is not None else None,
        d8(answer.adjudicated) if answer.adjudicated and answer.paid is not None else None,
        None,  # STC07 payment method: not used in 277 X212
        d8(answer.check_date) if answer.check_date else None,
        answer.check_number,
    )
    out = [seg("TRN", "2", inquiry.trace), stc]
    if answer.pccn or inquiry.pccn:
        out.append(seg("REF", "1K", answer.pccn or inquiry.pccn))
    if inquiry.pcn:
        out.append(seg("REF", "EJ", inquiry.pcn))
    if inquiry.dates:
        out.append(seg("DTP", "472", inquiry.dates_format, inquiry.dates))
    return out


def _nm1(s: Segment, *, with_id: bool = True) -> list[str]:
    elements = list(s.elements[:9]) if with_id else list(s.elements[:7])
    return seg("NM1", *elements)


def write_277(
    inquiries: list[Inquiry],
    store: Any,
    now: datetime,
    control_number: int,
    *,
    sender_id: str = "SANDBOXPAYER",
    receiver_id: str = "REVCYCLE",
    usage: str = "P",
) -> str:
    """One 277 set answering every claim of the 276, each under its own HL chain."""
    body: list[list[str]] = [
        seg("BHT", "0010", "08", f"SBX277{control_number}", d8(now.date()), now.strftime("%H%M"), "DG")
    ]
    n = 0
    for inquiry in inquiries:
        answer = decide(inquiry, store, now.date())
        payer_hl, n = n + 1, n + 1
        body += [seg("HL", str(payer_hl), None, "20", "1"), _nm1(inquiry.payer)]
        receiver_hl, n = n + 1, n + 1
        body += [seg("HL", str(receiver_hl), str(payer_hl), "21", "1"), _nm1(inquiry.receiver)]
        provider_hl, n = n + 1, n + 1
        body += [seg("HL", str(provider_hl), str(receiver_hl), "19", "1"), _nm1(inquiry.provider)]
        subscriber_hl, n = n + 1, n + 1
        dependent = inquiry.patient is not None
        body += [
            seg("HL", str(subscriber_hl), str(provider_hl), "22", "1" if dependent else "0"),
            _nm1(inquiry.subscriber),
        ]
        if dependent:
            assert inquiry.patient is not None
            n += 1
            body += [seg("HL", str(n), str(subscriber_hl), "23"), _nm1(inquiry.patient, with_id=False)]
        body += _claim_segments(inquiry, answer, now.date())
    return x12.build(
        [body],
        transaction_code="277",
        functional_id="HN",
        version=GUIDE,
        sender_id=sender_id,
        receiver_id=receiver_id,
        control_number=control_number,
        now=now,
        usage=usage,
    )


def _problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


@router.post(
    "/x12/276",
    summary="Answer an X12 005010X212 276 claim status inquiry with a 277",
    response_class=Response,
    responses={
        200: {"content": {X12_MEDIA_TYPE: {}}, "description": "The 277."},
        400: {"content": {"application/problem+json": {}}, "description": "Not a readable 276."},
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {X12_MEDIA_TYPE: {"schema": {"type": "string"}}}}
    },
)
async def claim_status(request: Request) -> Response:
    raw = (await request.body()).decode("utf-8", errors="replace")
    try:
        inquiries = parse_276(raw)
    except x12.X12Error as exc:
        return _problem(400, "Not a valid 276", exc.message, errors=[{"field": exc.pointer, "rule": "x12"}])
    if not inquiries:
        return _problem(
            400,
            "Not a valid 276",
            "No claim (2200D/E TRN) to answer.",
            errors=[{"field": "body", "rule": "x12"}],
        )
    store = _store_of(request.app)
    count = getattr(request.app.state, "claim_status_count", 0) + 1
    request.app.state.claim_status_count = count
    now = datetime.now(UTC).replace(tzinfo=None)
    text = write_277(inquiries, store, now, 700_000_000 + count)
    return Response(text, media_type=X12_MEDIA_TYPE)


def _store_of(app: Any) -> Any:
    """The sandbox's store: the file desk's (None when the mailbox is off)."""
    files = getattr(app.state, "files", None)
    return files.desk.store if files is not None else None


def answer_batch(
    desk: Any, user: str, file_id: int, envelope: Any, accepted: list[x12.TransactionSet]
) -> None:
    """A 276 file in a mailbox user's `to/` (GS01 HR; filedesk.GROUP_HANDLERS): one 277 file
    answering every claim of its accepted sets, into the user's `from/`, in the file's
    transaction (after the 999 that acknowledged the sets)."""
    inquiries = [i for tx in accepted for i in inquiries_of(tx)]
    if not inquiries:
        return
    now = datetime.now(UTC).replace(tzinfo=None)

    def build(control_number: int) -> str:
        return write_277(
            inquiries,
            desk.store,
            now,
            control_number,
            sender_id=envelope.receiver_id.strip() or "SANDBOXCH",
            receiver_id=envelope.sender_id.strip(),
            usage=envelope.usage,
        )

    desk.output(user, "277", file_id, build)


def install() -> None:
    """Let the file desk answer batch 276 files (called where the file desk is started, so the
    SFTP server's modules load only when a mailbox runs)."""
    from deploy.payer_sandbox.filedesk import GROUP_HANDLERS

    GROUP_HANDLERS["HR"] = answer_batch
