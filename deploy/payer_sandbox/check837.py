"""What a clearinghouse checks in each 837P or 837I transaction set before reading its claims, as a
999 (005010X231A1) reports it: segment notes (IK3: segment id, position in the set counted
from ST = 1, loop id, IK304 code) with element notes (IK4: element position, data element
reference number, IK403 code), and the set's verdict (IK5 A, or R with its codes).

Checked: ST01 is an 837 (IK502 1), SE01 counts the set (IK502 4), SE02 echoes ST02 (IK502 3);
segment ids the 837P does not use (IK304 1); the segments a claim cannot be read without
(1000A submitter, 2010AA billing provider, 2010BA subscriber, 2010BB payer, 2300 CLM, at
least one 2400 SV1: IK304 3 when missing); and their required elements (NM108/NM109,
CLM01/CLM02/CLM05, SV101/SV102, DTP03 of DTP*472, HI01: IK403 1 missing, 6 not a number).
An 837I set (ST03/GS08 005010X223A2) is checked the same way against the 837I's segment ids,
with SV2 lines (SV201 revenue code, SV203 charge) and DTP03 of DTP*434 (statement period).
Never the bad value itself (IK404): 837 data is PHI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from shared import x12

# Segment ids of the 005010X222A2 837P (any other is "unrecognized", IK304 1).
SEGMENTS_837P = frozenset(
    "BHT REF NM1 PER HL PRV CUR N3 N4 SBR PAT DMG CLM DTP PWK CN1 AMT K3 NTE CR1 CR2 CRC HI HCP "
    "CAS OI MOA LX SV1 SV5 CR3 QTY MEA PS1 LIN CTP SVD LQ FRM".split()
)
# Segment ids of the 005010X223A2 837I (institutional).
SEGMENTS_837I = frozenset(
    "BHT REF NM1 PER HL PRV CUR N3 N4 SBR PAT DMG CLM DTP CL1 PWK CN1 AMT K3 NTE CRC HI HCP CAS OI "
    "MIA MOA LX SV2 LIN CTP SVD".split()
)
# NM101 -> loop, above the claim (2000A/B/C) and inside it (2310x, 2330x, 2420x).
_HEADER_NM1 = {"41": "1000A", "40": "1000B", "85": "2010AA", "87": "2010AB", "PE": "2010AC",
               "IL": "2010BA", "PR": "2010BB", "QC": "2010CA"}  # fmt: skip
_CLAIM_NM1 = {"DN": "2310A", "82": "2310B", "77": "2310C", "DQ": "2310D", "PW": "2310E", "45": "2310F",
              "71": "2310A", "72": "2310B", "ZZ": "2310C"}  # fmt: skip
_OTHER_NM1 = {"IL": "2330A", "PR": "2330B", "DN": "2330C", "82": "2330D", "77": "2330E", "DQ": "2330F",
              "85": "2330G"}  # fmt: skip
_LINE_NM1 = {"82": "2420A", "QB": "2420B", "77": "2420C", "DQ": "2420E", "DK": "2420F", "DN": "2420G",
             "72": "2420A", "ZZ": "2420B"}  # fmt: skip
_HL_LOOPS = {"20": "2000A", "22": "2000B", "23": "2000C"}


@dataclass(frozen=True)
class ElementNote:
    """IK4: IK401 position (of the element in its segment), IK402 reference, IK403 code."""

    position: int
    reference: str
    code: str


@dataclass(frozen=True)
class SegmentNote:
    """IK3 and its IK4s."""

    segment_id: str
    position: int
    loop_id: str
    code: str
    elements: tuple[ElementNote, ...] = ()


@dataclass
class SetAck:
    """One set's acknowledgment (loop 2000 of the 999)."""

    control_number: str
    version: str
    set_codes: list[str] = field(default_factory=list)  # IK502..IK506
    notes: list[SegmentNote] = field(default_factory=list)
    pcn: str | None = None  # CLM01 of its first claim (the CTX business unit)
    transaction: str = "837"  # ST01 (AK201)

    @property
    def accepted(self) -> bool:
        return not self.set_codes and not self.notes

    @property
    def code(self) -> str:
        return "A" if self.accepted else "R"


def _number(value: str) -> bool:
    try:
        return Decimal(value).is_finite()
    except InvalidOperation:
        return False


def _required(seg: x12.Segment, checks: list[tuple[int, str, bool]]) -> list[ElementNote]:
    """IK4s for `checks` of (position, reference, numeric): 1 missing, 6 not a number."""
    notes = []
    for position, reference, numeric in checks:
        value = seg.get(position)
        if not value:
            notes.append(ElementNote(position, reference, "1"))
        elif numeric and not _number(value):
            notes.append(ElementNote(position, reference, "6"))
    return notes


_ELEMENTS: dict[tuple[str, str], list[tuple[int, str, bool]]] = {
    ("NM1", "IL"): [(8, "66", False), (9, "67", False)],
    ("NM1", "85"): [(8, "66", False), (9, "67", False)],
    ("NM1", "PR"): [(8, "66", False), (9, "67", False)],
    ("NM1", "41"): [(9, "67", False)],
    ("CLM", ""): [(1, "1028", False), (2, "782", True), (5, "C023", False)],
    ("SV1", ""): [(1, "C003", False), (2, "782", True)],
    ("DTP", "472"): [(3, "1251", False)],
    ("HI", ""): [(1, "C022", False)],
    ("SV2", ""): [(1, "234", False), (3, "782", True)],
    ("DTP", "434"): [(3, "1251", False)],
}


class _Loops:
    """Which loop a segment belongs to, from the HL levels and the segments before it."""

    def __init__(self) -> None:
        self.loop = ""
        self.level = ""  # 2000A/B/C
        self.in_claim = self.in_other = self.in_line = False

    def enter(self, seg: x12.Segment) -> str:
        sid, q = seg.id, seg.get(1)
        if sid == "HL":
            self.level = self.loop = _HL_LOOPS.get(seg.get(3), "2000")
            self.in_claim = self.in_other = self.in_line = False
        elif sid == "CLM":
            self.loop, self.in_claim, self.in_other, self.in_line = "2300", True, False, False
        elif sid == "LX":
            self.loop, self.in_line, self.in_other = "2400", True, False
        elif sid == "SBR" and self.in_claim and not self.in_line:
            self.loop, self.in_other = "2320", True
        elif sid == "SVD":
            self.loop = "2430"
        elif sid == "NM1":
            table = (
                _LINE_NM1 if self.in_line else _OTHER_NM1 if self.in_other
                else _CLAIM_NM1 if self.in_claim else _HEADER_NM1
            )  # fmt: skip
            self.loop = table.get(q, self.loop)
        return self.loop


def envelope_check(tx: x12.TransactionSet, warnings: list[x12.X12Error]) -> SetAck:
    """A set's own envelope only (SE01 count: IK502 4, SE02 = ST02: IK502 3), for sets another
    part reads (GROUP_HANDLERS in filedesk.py)."""
    ack = SetAck(
        tx.control_number, tx.st.get(3) or (tx.group.version if tx.group else ""), transaction=tx.code
    )
    if any(error.segment == "SE" for error in tx.errors):
        ack.set_codes.append("4")
    end = tx.st.position + len(tx.segments) + 1
    if any(w.segment == "SE" and w.position == end for w in warnings):
        ack.set_codes.append("3")
    return ack


def check_set(tx: x12.TransactionSet, warnings: list[x12.X12Error]) -> SetAck:
    """The 999 verdict on one 837P or 837I set (ST03/GS08 X223: institutional, SV2 lines):
    its own envelope, then its segments."""
    ack = envelope_check(tx, warnings)
    if tx.code != "837":
        ack.set_codes.insert(0, "1")  # transaction set not supported
        return ack
    institutional = "X223" in ack.version
    known, line_id = (SEGMENTS_837I, "SV2") if institutional else (SEGMENTS_837P, "SV1")
    loops = _Loops()
    seen: set[str] = set()
    claims = lines = 0
    for seg in tx.segments:
        position = seg.position - tx.st.position + 1
        loop = loops.enter(seg)
        if seg.id not in known:
            ack.notes.append(SegmentNote(seg.id, position, "", "1"))
            continue
        qualifier = seg.get(1) if seg.id in ("NM1", "DTP") else ""
        if seg.id == "NM1" and loops.in_claim:
            qualifier = ""  # the 2310/2330/2420 names are not checked here
        if seg.id == "HL" and seg.get(3) == "22" and "2010AA" not in seen:
            ack.notes.append(SegmentNote("NM1", position, "2010AA", "3"))
            seen.add("2010AA")
        if seg.id == "CLM":
            claims += 1
            ack.pcn = ack.pcn or seg.get(1) or None
            for needed in ("2010BA", "2010BB"):
                if needed not in seen:
                    ack.notes.append(SegmentNote("NM1", position, needed, "3"))
                    seen.add(needed)
        elif seg.id == line_id:
            lines += 1
        seen.add(loop)
        checks = _ELEMENTS.get((seg.id, qualifier))
        if checks:
            elements = _required(seg, checks)
            if elements:
                ack.notes.append(SegmentNote(seg.id, position, loop, "8", tuple(elements)))
    if "1000A" not in seen:
        ack.notes.insert(0, SegmentNote("NM1", 2, "1000A", "3"))
    se_position = len(tx.segments) + 2
    if not claims:
        ack.notes.append(SegmentNote("CLM", se_position, "2300", "3"))
    elif not lines:
        ack.notes.append(SegmentNote(line_id, se_position, "2400", "3"))
    if ack.notes and "5" not in ack.set_codes:
        ack.set_codes.append("5")  # one or more segments in error
    return ack
