"""X12 5010 syntax: read an interchange into segments, and write one with correct envelopes.

Only the syntax lives here (delimiters, ISA/GS/ST envelopes, control numbers, segment
counts, number and date formats). What a 270, 271, 835 or 837P *means* belongs to the part
that speaks it: eligibility, claims, payments and the payer sandbox each keep their own
transaction code next to their domain. Every one of them reads and writes through this
module, so there is one tokenizer and one envelope writer to get right.

Errors say where: segment position (1-based, as X12 acknowledgments count), segment id and
element, never the data itself, because X12 files are full of PHI.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import overload

ISA_LENGTH = 106


class X12Error(ValueError):
    """A file that is not valid X12 at the syntax level, with where it went wrong."""

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        segment: str | None = None,
        element: int | None = None,
    ) -> None:
        self.message = message
        self.position = position
        self.segment = segment
        self.element = element
        where = []
        if position is not None:
            where.append(f"segment {position}")
        if segment:
            where.append(segment + (f"{element:02d}" if element is not None else ""))
        super().__init__(f"{message} ({', '.join(where)})" if where else message)

    @property
    def pointer(self) -> str:
        """Where the problem is, for a problem+json `errors[].field`."""
        parts = []
        if self.position is not None:
            parts.append(f"segment[{self.position}]")
        if self.segment:
            parts.append(self.segment + (f"{self.element:02d}" if self.element is not None else ""))
        return ".".join(parts) or "body"


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"


@dataclass(frozen=True)
class Segment:
    """One segment: its id and its elements (1-based access, as the guides number them)."""

    id: str
    elements: tuple[str, ...]
    position: int = 0
    component_separator: str = ":"

    def get(self, index: int, default: str = "") -> str:
        """Element `index` (1-based), or `default` when absent or empty."""
        if 1 <= index <= len(self.elements):
            return self.elements[index - 1] or default
        return default

    def components(self, index: int) -> list[str]:
        return self.get(index).split(self.component_separator)

    def __getitem__(self, index: int) -> str:
        return self.get(index)

    def error(self, message: str, element: int | None = None) -> X12Error:
        return X12Error(message, position=self.position, segment=self.id, element=element)


@dataclass
class TransactionSet:
    """ST..SE with the segments between them (ST and SE excluded)."""

    code: str
    control_number: str
    segments: list[Segment]
    st: Segment
    group: FunctionalGroup | None = None
    # With parse(per_set=True): what is wrong with this set's own ST/SE (SE01 count, ST01
    # type), as a 999 rejects one set (IK5) and accepts the others.
    errors: list[X12Error] = field(default_factory=list)


@dataclass
class FunctionalGroup:
    functional_id: str
    sender: str
    receiver: str
    control_number: str
    version: str
    gs: Segment
    transactions: list[TransactionSet] = field(default_factory=list)


@dataclass
class Interchange:
    sender_id: str
    receiver_id: str
    control_number: str
    usage: str
    delimiters: Delimiters
    isa: Segment
    groups: list[FunctionalGroup] = field(default_factory=list)
    warnings: list[X12Error] = field(default_factory=list)
    ta1: list[Segment] = field(default_factory=list)

    @property
    def transactions(self) -> list[TransactionSet]:
        return [t for g in self.groups for t in g.transactions]


def tokenize(text: str) -> tuple[Delimiters, list[Segment]]:
    """Split an interchange into segments, taking the delimiters from its ISA."""
    raw = text.lstrip("\ufeff \r\n\t")
    if not raw.startswith("ISA"):
        raise X12Error("the file must start with an ISA segment", position=1)
    if len(raw) < ISA_LENGTH:
        raise X12Error("the ISA segment is truncated", position=1, segment="ISA")
    element_sep = raw[3]
    isa_fields = raw[:ISA_LENGTH].split(element_sep)
    if len(isa_fields) != 17:
        raise X12Error("the ISA segment must have 16 fixed-width elements", position=1, segment="ISA")
    component_sep = isa_fields[16][0]
    segment_term = raw[ISA_LENGTH - 1]  # ISA is 106 characters including its terminator
    repetition = isa_fields[11] if isa_fields[12] >= "00402" and not isa_fields[11].isalnum() else "^"
    delims = Delimiters(element_sep, component_sep, repetition, segment_term)
    segments: list[Segment] = []
    for position, chunk in enumerate(_split(raw, segment_term), start=1):
        parts = chunk.split(element_sep)
        if not parts[0] or not parts[0].isalnum() or len(parts[0]) > 3:
            raise X12Error("a segment id must be 2-3 letters or digits", position=position)
        segments.append(Segment(parts[0], tuple(parts[1:]), position, component_sep))
    return delims, segments


def _split(raw: str, terminator: str) -> Iterator[str]:
    for chunk in raw.split(terminator):  # whitespace after a terminator is not data (partners send it)
        chunk = chunk.lstrip(" \t\r\n").rstrip("\r\n")
        if chunk.strip():
            yield chunk


def parse(text: str, *, expect: str | None = None, strict: bool = True, per_set: bool = False) -> Interchange:
    """Parse and check the envelopes: ISA/IEA, GS/GE and ST/SE pairs, their control numbers
    and counts. `expect` (e.g. "835") requires every transaction set to be of that type.

    Partners do send trailers whose control number does not echo the header (one of the
    public 271 samples does). With `strict=False` such a mismatch is kept in
    `Interchange.warnings` instead of failing the file; counts are always enforced.

    `per_set`: each transaction set stands on its own, as a 999 acknowledges them: an error
    of a set's own ST/SE (SE01 count, ST01 type) goes to `TransactionSet.errors` and the set
    is still returned; only interchange and group errors (ISA/IEA, GS/GE) raise. TA1s (interchange
    acknowledgments, `Interchange.ta1`) stand before the first GS; `ISA TA1 IEA` needs no set."""
    delims, segments = tokenize(text)
    isa = segments[0]
    inter = Interchange(isa.get(6).strip(), isa.get(8).strip(), isa.get(13), isa.get(15), delims, isa)

    def mismatch(error: X12Error) -> None:
        if strict:
            raise error
        inter.warnings.append(error)

    group: FunctionalGroup | None = None
    current: TransactionSet | None = None
    ended = False
    for seg in segments[1:]:
        if ended:
            raise seg.error("segment after IEA")
        if current is not None and seg.id not in ("SE",):
            if seg.id in ("ST", "GS", "GE", "IEA", "ISA"):
                raise seg.error(f"{seg.id} before the SE that closes transaction {current.control_number}")
            current.segments.append(seg)
            continue
        if seg.id == "GS":
            if group is not None:
                raise seg.error("GS before the GE that closes the previous group")
            group = FunctionalGroup(seg.get(1), seg.get(2), seg.get(3), seg.get(6), seg.get(8), seg)
        elif seg.id == "ST":
            if group is None:
                raise seg.error("ST outside a GS/GE functional group")
            current = TransactionSet(seg.get(1), seg.get(2), [], seg, group)
            if expect and seg.get(1) != expect:
                error = seg.error(f"expected a {expect} transaction set, found {seg.get(1) or 'none'}", 1)
                if not per_set:
                    raise error
                current.errors.append(error)
        elif seg.id == "SE":
            if current is None:
                raise seg.error("SE without ST")
            counted = len(current.segments) + 2
            if seg.get(1) != str(counted):
                error = seg.error(f"SE01 says {seg.get(1) or 'nothing'} segments, the set has {counted}", 1)
                if not per_set:
                    raise error
                current.errors.append(error)
            if seg.get(2) != current.control_number:
                mismatch(seg.error("SE02 does not match ST02", 2))
            assert group is not None
            group.transactions.append(current)
            current = None
        elif seg.id == "GE":
            if group is None:
                raise seg.error("GE without GS")
            if seg.get(1) != str(len(group.transactions)):
                raise seg.error(
                    f"GE01 says {seg.get(1)} transaction sets, the group has {len(group.transactions)}", 1
                )
            if seg.get(2) != group.control_number:
                mismatch(seg.error("GE02 does not match GS06", 2))
            inter.groups.append(group)
            group = None
        elif seg.id == "TA1":
            if group is not None or inter.groups:
                raise seg.error("TA1 after a functional group: it follows ISA")
            inter.ta1.append(seg)
        elif seg.id == "IEA":
            if group is not None:
                raise seg.error("IEA before the GE that closes the group")
            if seg.get(1) != str(len(inter.groups)):
                raise seg.error(f"IEA01 says {seg.get(1)} groups, the interchange has {len(inter.groups)}", 1)
            if seg.get(2) != inter.control_number:
                mismatch(seg.error("IEA02 does not match ISA13", 2))
            ended = True
        else:
            raise seg.error("segment outside a transaction set")
    if current is not None:
        raise X12Error("the file ends inside a transaction set (no SE)", segment="SE")
    if group is not None:
        raise X12Error("the file ends inside a functional group (no GE)", segment="GE")
    if not ended:
        raise X12Error("the file has no IEA trailer", segment="IEA")
    if not inter.transactions and not inter.ta1:
        raise X12Error("the interchange holds no transaction set", segment="ST")
    return inter


# --- writing ---------------------------------------------------------------------------


def amount(value: Decimal | int | str) -> str:
    """An X12 `R` number: no float, no trailing zeros after the point, no '+', "-5" for negatives."""
    d = Decimal(value).quantize(Decimal("0.01"))
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def read_amount(seg: Segment, index: int, *, required: bool = True) -> Decimal | None:
    """An `R` element as Decimal, with a located error when it is not a number."""
    raw = seg.get(index)
    if not raw:
        if required:
            raise seg.error("a required amount is missing", index)
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise seg.error("not a number", index) from None
    if not value.is_finite():
        raise seg.error("not a number", index)
    return value


def d8(value: date) -> str:
    return value.strftime("%Y%m%d")


@overload
def read_d8(seg: Segment, index: int) -> date: ...
@overload
def read_d8(seg: Segment, index: int, *, optional: bool) -> date | None: ...
def read_d8(seg: Segment, index: int, *, optional: bool = False) -> date | None:
    """A CCYYMMDD element; `optional`: an empty one is None. Parsed without strptime (a tenth
    of its cost: an 835 carries thousands of dates)."""
    raw = seg.get(index)
    if optional and not raw:
        return None
    if len(raw) == 8 and raw.isdigit():
        try:
            return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        except ValueError:
            pass
    raise seg.error("not a CCYYMMDD date", index)


def clean(value: str | None, max_len: int | None = None) -> str:
    """Text made safe for an element: delimiters removed, upper-cased as payers expect."""
    text = (value or "").upper()
    for ch in "*:~^\r\n":
        text = text.replace(ch, " ")
    text = " ".join(text.split())
    return text[:max_len] if max_len else text


def seg(*elements: object) -> list[str]:
    """A segment as a list: `seg("CLP", pcn, "1", amount(x))`; None becomes empty."""
    return ["" if e is None else str(e) for e in elements]


def build(
    transactions: Sequence[Sequence[Sequence[str]]],
    *,
    transaction_code: str,
    functional_id: str,
    version: str,
    sender_id: str,
    receiver_id: str,
    control_number: int,
    now: datetime | None = None,
    usage: str = "P",
    delimiters: Delimiters = Delimiters(),
    sender_qualifier: str = "ZZ",
    receiver_qualifier: str = "ZZ",
    newline: bool = True,
) -> str:
    """A full interchange: ISA/GS, one ST..SE per item of `transactions` (the body segments
    only; ST/SE are added with correct counts and control numbers), GE/IEA.

    `version` is the implementation guide (e.g. "005010X221A1"); it goes in GS08 and ST03."""
    now = now or datetime.now()
    e, t = delimiters.element, delimiters.segment
    icn = f"{control_number % 1_000_000_000:09d}"
    isa = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        sender_qualifier,
        f"{sender_id[:15]:<15}",
        receiver_qualifier,
        f"{receiver_id[:15]:<15}",
        now.strftime("%y%m%d"),
        now.strftime("%H%M"),
        delimiters.repetition,
        "00501",
        icn,
        "0",
        usage,
        delimiters.component,
    ]
    out: list[list[str]] = [isa]
    out.append(
        [
            "GS",
            functional_id,
            sender_id,
            receiver_id,
            now.strftime("%Y%m%d"),
            now.strftime("%H%M"),
            str(control_number % 1_000_000_000),
            "X",
            version,
        ]
    )
    for n, body in enumerate(transactions, start=1):
        st_number = f"{n:04d}"
        st = ["ST", transaction_code, st_number] + ([version] if transaction_code in _ST03_SETS else [])
        out.append(st)
        out.extend(list(s) for s in body)
        out.append(["SE", str(len(body) + 2), st_number])
    out.append(["GE", str(len(transactions)), str(control_number % 1_000_000_000)])
    out.append(["IEA", "1", icn])
    sep = t + ("\n" if newline else "")
    return sep.join(_join(s, e) for s in out) + t + ("\n" if newline else "")


# Transaction sets whose ST carries the implementation guide in ST03 (5010). Not the 835:
# its guide (005010X221A1) marks ST03 "not used", and pyx12 rejects an 835 that sends it.
_ST03_SETS = {"270", "271", "276", "277", "837", "999"}


def _join(segment: Iterable[str], element_sep: str) -> str:
    parts = list(segment)
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()  # trailing empty elements are not sent
    return element_sep.join(parts)
