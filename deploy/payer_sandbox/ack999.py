"""The interchange acknowledgment (TA1) and the implementation acknowledgment (999,
005010X231A1) the clearinghouse writes for each 837 file.

TA1 (X12 005010 control segments): TA101 the interchange control number (ISA13) it answers,
TA102/TA103 the interchange date and time (ISA09/ISA10), TA104 A accepted | E accepted with
errors | R rejected, TA105 the note code. A rejected interchange gets a TA1 R and nothing
else; an accepted one a TA1 A only when it asked (ISA14 = 1). Note codes used here:
000 no error, 001 ISA13/IEA02 mismatch, 008 invalid interchange receiver id, 020 invalid
test indicator (ISA15 not the partner's configured usage), 021 IEA01 group count wrong,
022 invalid control structure (not readable as an interchange), 024 invalid interchange
content (a GS/GE envelope error), 025 duplicate interchange control number.

999: one transaction set per functional group: AK1 (GS01, GS06, GS08), per 837 set loop 2000
AK2 (ST01, ST02, ST03), loop 2100 IK3 + CTX (the business unit: CLM01) + loop 2110 IK4,
IK5 (A, or R with IK502 codes), and AK9 (A all accepted | P some | R none; included,
received, accepted counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from deploy.payer_sandbox.check837 import SetAck
from shared import x12

VERSION_999 = "005010X231A1"

TA1_NOTES = {
    "000": "no error",
    "001": "the interchange control number in the header and trailer do not match",
    "008": "invalid interchange receiver id",
    "020": "invalid test indicator value",
    "021": "invalid number of included groups value",
    "022": "invalid control structure",
    "024": "invalid interchange content",
    "025": "duplicate interchange control number",
}


@dataclass(frozen=True)
class Envelope:
    """The ISA elements an answer echoes or swaps (sender and receiver)."""

    sender_id: str  # ISA06 of the file (the partner)
    receiver_id: str  # ISA08 of the file
    control_number: str  # ISA13
    date: str  # ISA09 YYMMDD
    time: str  # ISA10 HHMM
    usage: str  # ISA15
    ack_requested: bool  # ISA14 = 1


def unpadded(text: str) -> tuple[str, bool]:
    """The interchange without whitespace (spaces, tabs, line breaks) after its segment
    terminators, and whether there was any beyond plain line breaks. Files in the field pad
    segments so (the public 837I sample has a space after some terminators); a clearinghouse
    reads through it rather than rejecting the whole file, and counts it."""
    raw = text.lstrip("\ufeff \r\n\t")
    if not raw.startswith("ISA") or len(raw) < 106:
        return text, False
    terminator = raw[105]
    if terminator.isspace():
        return text, False
    parts = raw.split(terminator)
    cleaned = [parts[0], *(p.lstrip(" \t\r\n") for p in parts[1:])]
    padded = any(p[: len(p) - len(p.lstrip(" \t\r\n"))].strip("\r\n") for p in parts[1:])
    return (terminator + "\n").join(c for c in cleaned if c) + terminator + "\n", padded


def envelope_of(text: str) -> Envelope | None:
    """The ISA of a file when at least that can be read, else None."""
    try:
        _, segments = x12.tokenize(text)
    except x12.X12Error:
        return None
    isa = segments[0]
    return Envelope(
        isa.get(6).strip(),
        isa.get(8).strip(),
        isa.get(13).strip(),
        isa.get(9),
        isa.get(10),
        isa.get(15),
        isa.get(14) == "1",
    )


def ta1_note(error: x12.X12Error) -> str:
    """The TA105 note for an envelope error shared.x12 raised (or warned about)."""
    if error.segment == "IEA":
        return "001" if error.element == 2 else "021"
    if error.segment in ("GS", "GE"):
        return "024"
    if error.segment == "ISA" or error.position == 1:
        return "022"
    return "024"


def _isa(ours: str, theirs: str, control_number: int, usage: str, now: datetime) -> list[str]:
    return [
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", f"{ours[:15]:<15}", "ZZ", f"{theirs[:15]:<15}",
        now.strftime("%y%m%d"), now.strftime("%H%M"), "^", "00501", f"{control_number % 10**9:09d}", "0",
        usage if usage in ("P", "T") else "P", ":",
    ]  # fmt: skip


def write_ta1(
    envelope: Envelope | None, *, code: str, note: str, ours: str, control_number: int, now: datetime
) -> str:
    """An interchange holding only a TA1 (IEA01 = 0 groups). Without a readable ISA the TA1
    answers control number 000000000 to sender 'UNKNOWN'."""
    theirs = envelope.sender_id if envelope else "UNKNOWN"
    usage = envelope.usage if envelope else "P"
    answered = envelope.control_number if envelope and envelope.control_number.isdigit() else "0"
    date = envelope.date if envelope and len(envelope.date) == 6 else now.strftime("%y%m%d")
    time = envelope.time if envelope and len(envelope.time) == 4 else now.strftime("%H%M")
    segments = [
        _isa(ours, theirs, control_number, usage, now),
        ["TA1", f"{int(answered) % 10**9:09d}", date, time, code, note],
        ["IEA", "0", f"{control_number % 10**9:09d}"],
    ]
    return "".join("*".join(s) + "~\n" for s in segments)


@dataclass
class GroupAck:
    """One functional group's 999: its GS, and one SetAck per set (or a group-level code)."""

    functional_id: str  # GS01
    control_number: str  # GS06
    version: str  # GS08
    sets: list[SetAck]

    @property
    def accepted(self) -> int:
        return sum(1 for s in self.sets if s.accepted)

    @property
    def code(self) -> str:
        if self.accepted == len(self.sets):
            return "A"
        return "P" if self.accepted else "R"


def _set_segments(ack: SetAck) -> list[list[str]]:
    out = [x12.seg("AK2", ack.transaction, ack.control_number, ack.version)]
    for note in ack.notes:
        # IK303 is data element 447, AN 1/4: the loop's number ("2010" for 2010BA), as
        # companion guides show (IK3*NM1*8*2010*8); the segment and position locate it exactly.
        out.append(x12.seg("IK3", note.segment_id, str(note.position), note.loop_id[:4], note.code))
        if ack.pcn and note.segment_id != "CLM":
            out.append(x12.seg("CTX", f"CLM01:{x12.clean(ack.pcn, 35)}"))
        for element in note.elements:
            out.append(x12.seg("IK4", str(element.position), element.reference, element.code))
    out.append(x12.seg("IK5", ack.code, *ack.set_codes[:5]))
    return out


def write_999(
    groups: list[GroupAck], envelope: Envelope, *, ours: str, control_number: int, now: datetime
) -> str:
    """One interchange, one 999 set per functional group of the file."""
    bodies = []
    for group in groups:
        body = [x12.seg("AK1", group.functional_id, group.control_number, group.version)]
        for ack in group.sets:
            body += _set_segments(ack)
        count = str(len(group.sets))
        body.append(x12.seg("AK9", group.code, count, count, str(group.accepted)))
        bodies.append(body)
    return x12.build(
        bodies,
        transaction_code="999",
        functional_id="FA",
        version=VERSION_999,
        sender_id=ours,
        receiver_id=envelope.sender_id,
        control_number=control_number,
        now=now,
        usage=envelope.usage if envelope.usage in ("P", "T") else "P",
    )
