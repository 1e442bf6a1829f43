"""The 276 claim status inquiry we write and the 277 claim status response we read
(005010X212), on top of shared/x12.py.

The 276 is written from the claim's own 837 as it went out (outbound_claims.x12_837), so it
names the payer, submitter, billing provider, subscriber and patient exactly as the payer
received them: payers match an inquiry by those, and by the patient control number (REF*EJ),
the charge (AMT*T3) and the dates of service (DTP*472).

The 277 reader is tolerant (a public 277's IEA02 may disagree with its ISA13: read with a
warning by shared.x12.parse(strict=False)); it returns every 2200D/E claim of every 2000A
loop of every set, with its STC composites, dates, money and service lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from services.gateway.claimstatus.domain import ClaimAnswer, Code, LineAnswer
from shared.x12 import Interchange, Segment, amount, build, clean, d8, parse, read_amount, read_d8, seg

GUIDE = "005010X212"


@dataclass
class Claim837:
    """What a 276 needs from the claim's 837 (one claim: the first CLM of the file)."""

    payer: Segment | None = None
    submitter: Segment | None = None
    provider: Segment | None = None
    subscriber: Segment | None = None
    subscriber_dmg: Segment | None = None
    patient: Segment | None = None
    patient_dmg: Segment | None = None
    clm: Segment | None = None
    service_dates: list[date] = field(default_factory=list)


def read_837(text: str) -> Claim837:
    """The parties, the CLM and the service dates of the first claim of an 837."""
    tx = parse(text, strict=False).transactions[0]
    out = Claim837()
    level = ""
    for s in tx.segments:
        if s.id == "HL":
            if out.clm is not None and s.get(3) in ("20", "22"):
                break  # the next claim's hierarchy: one claim per 276 claim loop
            level = s.get(3)
        elif s.id == "NM1" and out.clm is None:
            entity = s.get(1)
            if entity == "41":
                out.submitter = s
            elif entity == "85" and level == "20":
                out.provider = s
            elif entity == "IL" and level == "22":
                out.subscriber = s
            elif entity == "PR" and level == "22" and out.payer is None:
                out.payer = s
            elif entity == "QC" and level == "23":
                out.patient = s
        elif s.id == "DMG" and out.clm is None:
            if level == "22":
                out.subscriber_dmg = s
            elif level == "23":
                out.patient_dmg = s
        elif s.id == "CLM" and out.clm is None:
            out.clm = s
        elif s.id == "DTP" and s.get(1) == "472" and out.clm is not None:
            out.service_dates.extend(_dates(s))
    if out.clm is None or out.payer is None or out.provider is None or out.subscriber is None:
        raise ValueError("the stored 837 lacks its CLM, payer, billing provider or subscriber")
    return out


def _dates(s: Segment) -> list[date]:
    if s.get(2) == "RD8":
        start, _, end = s.get(3).partition("-")
        return [date.fromisoformat(f"{v[:4]}-{v[4:6]}-{v[6:]}") for v in (start, end) if v]
    return [read_d8(s, 3)]


def _person(entity: str, nm1: Segment, with_id: bool) -> list[str]:
    """A 276 NM1 of a person from the 837's: names kept, the member id only where the guide
    has one (2100D subscriber), none for the dependent (2100E)."""
    out = seg("NM1", entity, nm1.get(2) or "1", nm1.get(3), nm1.get(4), nm1.get(5), None, nm1.get(7))
    if with_id and nm1.get(9):
        out += [nm1.get(8) or "MI", nm1.get(9)]
    return out


def _org(entity: str, nm1: Segment, qualifier: str, with_first: bool = False) -> list[str]:
    """An NM1 of a party from the 837's: its type, name (and first name for a person), id."""
    first = nm1.get(4) if with_first else None
    return seg("NM1", entity, nm1.get(2) or "2", nm1.get(3), first, None, None, None, qualifier, nm1.get(9))


def write_276_body(
    claim: Claim837, *, trace: str, reference: str, now: datetime, payer_claim_control_number: str | None
) -> list[list[str]]:
    """One 276 transaction set's segments (ST/SE excluded) inquiring about one claim."""
    assert claim.clm and claim.payer and claim.provider and claim.subscriber
    payer, provider, submitter = claim.payer, claim.provider, claim.submitter
    dependent = claim.patient is not None
    out = [
        seg("BHT", "0010", "13", clean(reference, 50), d8(now.date()), now.strftime("%H%M")),
        seg("HL", "1", None, "20", "1"),
        seg("NM1", "PR", "2", payer.get(3), None, None, None, None, "PI", payer.get(9)),
        seg("HL", "2", "1", "21", "1"),
    ]
    sender = submitter if submitter is not None else provider
    out += [
        _org("41", sender, "46"),
        seg("HL", "3", "2", "19", "1"),
        _org("1P", provider, "XX", with_first=True),
        seg("HL", "4", "3", "22", "1" if dependent else "0"),
    ]
    if not dependent and claim.subscriber_dmg is not None:
        out.append(seg("DMG", "D8", claim.subscriber_dmg.get(2), claim.subscriber_dmg.get(3)))
    out.append(_person("IL", claim.subscriber, with_id=True))
    if dependent:
        assert claim.patient is not None
        out.append(seg("HL", "5", "4", "23"))
        if claim.patient_dmg is not None:
            out.append(seg("DMG", "D8", claim.patient_dmg.get(2), claim.patient_dmg.get(3)))
        out.append(_person("QC", claim.patient, with_id=False))
    out.append(seg("TRN", "1", trace))
    if payer_claim_control_number:
        out.append(seg("REF", "1K", clean(payer_claim_control_number, 50)))
    out.append(seg("REF", "EJ", claim.clm.get(1)))
    out.append(seg("AMT", "T3", amount(Decimal(claim.clm.get(2) or "0"))))
    if claim.service_dates:
        first, last = min(claim.service_dates), max(claim.service_dates)
        out.append(seg("DTP", "472", "RD8", f"{d8(first)}-{d8(last)}"))
    return out


# --- reading the 277 ----------------------------------------------------------------


def _codes(s: Segment) -> list[Code]:
    """STC01, STC10, STC11: each a category:status:entity composite."""
    out = []
    for index in (1, 10, 11):
        parts = s.components(index) if s.get(index) else []
        if parts and parts[0]:
            out.append(
                Code(
                    parts[0],
                    parts[1] if len(parts) > 1 and parts[1] else None,
                    parts[2] if len(parts) > 2 and parts[2] else None,
                )
            )
    return out


def read_277(interchange: Interchange) -> list[ClaimAnswer]:
    """Every claim status (2200D/E) of every 277 set of the interchange, in file order."""
    return [answer for tx in interchange.transactions if tx.code == "277" for answer in _claims(tx.segments)]


def _claims(segments: list[Segment]) -> Iterator[ClaimAnswer]:
    payer_id: str | None = None
    level = ""
    current: ClaimAnswer | None = None
    line: LineAnswer | None = None
    for s in segments:
        if s.id == "HL":
            if current is not None:
                yield current
            current, line, level = None, None, s.get(3)
        elif s.id == "NM1" and s.get(1) == "PR":
            payer_id = s.get(9) or None
        elif s.id == "TRN" and level in ("22", "23"):
            current = _new(s.get(2) or None, level == "23", payer_id)
        elif current is None:
            continue
        elif s.id == "STC":
            _stc(current, line, s)
        elif s.id == "REF" and line is None:
            if s.get(1) == "1K":
                current.payer_claim_control_number = s.get(2) or None
            elif s.get(1) == "EJ":
                current.patient_control_number = s.get(2) or None
        elif s.id == "SVC":
            parts = s.components(1)
            line = LineAnswer(
                procedure_code=parts[1] if len(parts) > 1 else (parts[0] or None),
                charge=read_amount(s, 2, required=False),
                paid=read_amount(s, 3, required=False),
            )
            current.lines.append(line)
    if current is not None:
        yield current


def _new(trace: str | None, dependent: bool, payer_id: str | None) -> ClaimAnswer:
    return ClaimAnswer(
        trace_number=trace,
        patient_control_number=None,
        payer_claim_control_number=None,
        codes=[],
        effective_date=None,
        total_charge=None,
        paid_amount=None,
        adjudicated_on=None,
        check_date=None,
        check_number=None,
        free_text=None,
        dependent=dependent,
        payer_id=payer_id,
    )


def _stc(claim: ClaimAnswer, line: LineAnswer | None, s: Segment) -> None:
    """A claim STC (the first carries the dates and money; later ones add codes), or a line's."""
    if line is not None:
        line.codes.extend(_codes(s))
        return
    first = not claim.codes
    claim.codes.extend(_codes(s))
    if not first:
        return
    claim.effective_date = read_d8(s, 2, optional=True)
    claim.total_charge = read_amount(s, 4, required=False)
    claim.paid_amount = read_amount(s, 5, required=False)
    claim.adjudicated_on = read_d8(s, 6, optional=True)
    claim.check_date = read_d8(s, 8, optional=True)
    claim.check_number = s.get(9) or None
    claim.free_text = s.get(12) or None


def write_276(
    x12_837: str,
    *,
    sender_id: str,
    receiver_id: str,
    sender_qualifier: str = "ZZ",
    receiver_qualifier: str = "ZZ",
    usage: str = "P",
    control_number: int,
    trace: str,
    now: datetime,
    payer_claim_control_number: str | None = None,
) -> str:
    """A whole 276 interchange (ISA/GS HR/ST 276) asking about the claim of `x12_837`."""
    body = write_276_body(
        read_837(x12_837),
        trace=trace,
        reference=trace[:30],
        now=now,
        payer_claim_control_number=payer_claim_control_number,
    )
    return build(
        [body],
        transaction_code="276",
        functional_id="HR",
        version=GUIDE,
        sender_id=sender_id,
        receiver_id=receiver_id,
        sender_qualifier=sender_qualifier,
        receiver_qualifier=receiver_qualifier,
        control_number=control_number,
        now=now,
        usage=usage,
    )
