"""The CMS file layouts read as rows, and the code data in effect on a date of service.

Each kind is read as CMS publishes it, so the quarter's file is loaded as downloaded:
- ncci-ptp: the NCCI procedure-to-procedure practitioner edits (Column 1, Column 2, "*=in
  existence prior to 1996", Effective Date, Deletion Date, Modifier 0/1/9, PTP Edit Rationale);
- mue: the MUE practitioner services edits (HCPCS/CPT Code, Practitioner Services MUE Values,
  MUE Adjudication Indicator "1 Line Edit" / "2 Date of Service Edit: Policy" / "3 Date of
  Service Edit: Clinical", MUE Rationale);
- hcpcs: the HCPCS Level II annual file (HCPC, SEQNUM, RECID, LONG DESCRIPTION, SHORT
  DESCRIPTION, ..., ADD DT, ACT EFF DT, TERM DT, ACTION CD); record id 3 is a code, 7 a
  modifier, 4 and 8 continue the long description of the record before;
- cpt: the practice's licensed CPT list, a code and a short descriptor per row.
CMS's copyright lines before the header row are skipped; comma- or tab-delimited. A row that
breaks the layout stops the whole load (LayoutError names its line), so a version is never half
a file. Dates in the files are YYYYMMDD; "*" means no date.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

KINDS = ("ncci-ptp", "mue", "hcpcs", "cpt")
CODE = re.compile(r"^[0-9A-Z]{5}$")
MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
MAI = re.compile(r"^([123])\s")


class LayoutError(ValueError):
    """A file that is not in the layout of the kind it was loaded as."""


@dataclass(frozen=True)
class Version:
    """One load: a whole file of one kind, in effect from its effective date until a later one."""

    id: int
    kind: str
    effective_date: date


@dataclass(frozen=True)
class PtpEdit:
    column1: str
    column2: str
    effective_date: date
    deletion_date: date | None
    modifier_indicator: str  # 0 never together, 1 an NCCI-associated modifier may unbundle, 9 no edit

    def applies_on(self, day: date) -> bool:
        """In effect from its effective date; a deletion date ends it as of that date."""
        return self.effective_date <= day and (self.deletion_date is None or day < self.deletion_date)


@dataclass(frozen=True)
class MueEdit:
    code: str
    units: int
    mai: int  # 1 line edit, 2 date of service (policy), 3 date of service (clinical)


@dataclass(frozen=True)
class CodeEntry:
    """A procedure code or modifier of a code set, with the dates it is valid."""

    code: str
    added_date: date | None = None
    termination_date: date | None = None

    def valid_on(self, day: date) -> bool:
        """Usable from its add date through its termination date (the file's last valid day)."""
        return (self.added_date is None or self.added_date <= day) and (
            self.termination_date is None or day <= self.termination_date
        )


@dataclass(frozen=True)
class CodeData:
    """The code data in effect for one claim: the version of each kind on its date of service,
    and of those versions only the rows about the claim's own codes."""

    versions: Mapping[str, Version] = field(default_factory=dict)
    procedures: Mapping[str, CodeEntry] = field(default_factory=dict)
    modifiers: Mapping[str, CodeEntry] = field(default_factory=dict)
    ptp: Mapping[tuple[str, str], tuple[PtpEdit, ...]] = field(default_factory=dict)
    mue: Mapping[str, MueEdit] = field(default_factory=dict)

    @property
    def has_code_set(self) -> bool:
        return "cpt" in self.versions or "hcpcs" in self.versions

    def ptp_edit(self, column1: str, column2: str, day: date) -> PtpEdit | None:
        """The pair's edit in effect on `day`, if any."""
        return next((e for e in self.ptp.get((column1, column2), ()) if e.applies_on(day)), None)


# --- versions -----------------------------------------------------------------------------


def in_effect(versions: Iterable[Version], kind: str, day: date) -> Version | None:
    """The latest version of `kind` effective on or before `day` (of two with one effective
    date, the later load: a corrected file for the same quarter)."""
    candidates = [v for v in versions if v.kind == kind and v.effective_date <= day]
    return max(candidates, key=lambda v: (v.effective_date, v.id), default=None)


def versions_on(versions: Sequence[Version], day: date) -> dict[str, Version]:
    return {kind: v for kind in KINDS if (v := in_effect(versions, kind, day)) is not None}


def assemble(
    chosen: Mapping[str, Version],
    ptp: Iterable[tuple[int, PtpEdit]],
    mue: Iterable[tuple[int, MueEdit]],
    entries: Iterable[tuple[int, bool, CodeEntry]],
) -> CodeData:
    """One claim's CodeData from rows (tagged with their version id) of many versions."""
    ids = {kind: v.id for kind, v in chosen.items()}
    pairs: dict[tuple[str, str], tuple[PtpEdit, ...]] = {}
    for load_id, edit in ptp:
        if load_id == ids.get("ncci-ptp"):
            key = (edit.column1, edit.column2)
            pairs[key] = (*pairs.get(key, ()), edit)
    code_sets = {ids.get("cpt"), ids.get("hcpcs")} - {None}
    procedures: dict[str, CodeEntry] = {}
    modifiers: dict[str, CodeEntry] = {}
    for load_id, is_modifier, entry in entries:
        if load_id in code_sets:
            (modifiers if is_modifier else procedures)[entry.code] = entry
    return CodeData(
        versions=dict(chosen),
        procedures=procedures,
        modifiers=modifiers,
        ptp=pairs,
        mue={e.code: e for load_id, e in mue if load_id == ids.get("mue")},
    )


def ptp_of(row: Mapping[str, Any]) -> PtpEdit:
    return PtpEdit(
        row["column1"], row["column2"], row["effective_date"], row["deletion_date"], row["modifier_indicator"]
    )


def mue_of(row: Mapping[str, Any]) -> MueEdit:
    return MueEdit(row["code"], row["units"], row["mai"])


def entry_of(row: Mapping[str, Any]) -> CodeEntry:
    return CodeEntry(row["code"], row.get("added_date"), row.get("termination_date"))


# --- reading the layouts ------------------------------------------------------------------

Row = dict[str, Any]


def _name(header: str) -> str:
    return re.sub(r"\s+", " ", header.replace("_", " ")).strip().lower()


def _records(
    text: str, first_header: Callable[[str], bool]
) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header row (the first whose first cell `first_header` accepts) and the rows after it
    with their line numbers; copyright lines, comments (#) and blank rows are skipped."""
    delimiter = "\t" if any("\t" in line for line in text.splitlines()[:10]) else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    for cells in reader:
        if cells and not cells[0].startswith("#") and first_header(_name(cells[0])):
            header = [_name(c) for c in cells]

            def rows() -> Iterator[tuple[int, list[str]]]:
                for cells in reader:
                    if any(c.strip() for c in cells) and not cells[0].startswith("#"):
                        yield reader.line_num, [c.strip() for c in cells]

            return header, rows()
    raise LayoutError("no header row in the layout of this kind was found")


def _columns(
    header: list[str], wanted: Mapping[str, Callable[[str], bool]], optional: set[str]
) -> dict[str, int | None]:
    found = {}
    for key, matches in wanted.items():
        index = next((i for i, name in enumerate(header) if matches(name)), None)
        if index is None and key not in optional:
            raise LayoutError(f"header: no {key.replace('_', ' ')} column")
        found[key] = index
    return found


@contextlib.contextmanager
def _at(line: int) -> Iterator[None]:
    """A broken value in a row: LayoutError naming the row's line."""
    try:
        yield
    except LayoutError:
        raise
    except ValueError as error:
        raise LayoutError(f"line {line}: {error}") from None


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


def _date(value: str, what: str, *, required: bool = False) -> date | None:
    if value in ("", "*"):
        if required:
            raise ValueError(f"{what} is missing")
        return None
    if not re.fullmatch(r"\d{8}", value):
        raise ValueError(f"{what} {value!r} is not YYYYMMDD")
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


def _code(value: str, pattern: re.Pattern[str] = CODE) -> str:
    code = value.upper()
    if not pattern.match(code):
        raise ValueError(f"{value!r} is not a code")
    return code


def _read_ncci(header: list[str], rows: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, Row]]:
    col = _columns(
        header,
        {
            "column_1": lambda n: n.startswith("column 1"),
            "column_2": lambda n: n.startswith("column 2"),
            "prior_1996": lambda n: "prior to 1996" in n,
            "effective_date": lambda n: n.startswith("effective date"),
            "deletion_date": lambda n: n.startswith("deletion date"),
            "modifier": lambda n: n.startswith("modifier"),
            "rationale": lambda n: "rationale" in n,
        },
        {"prior_1996", "rationale"},
    )
    for line, cells in rows:
        with _at(line):
            indicator = _cell(cells, col["modifier"])
            if indicator not in ("0", "1", "9"):
                raise ValueError(f"modifier indicator {indicator!r} is not 0, 1 or 9")
            row = {
                "column1": _code(_cell(cells, col["column_1"])),
                "column2": _code(_cell(cells, col["column_2"])),
                "prior_1996": _cell(cells, col["prior_1996"]) == "*",
                "effective_date": _date(_cell(cells, col["effective_date"]), "effective date", required=True),
                "deletion_date": _date(_cell(cells, col["deletion_date"]), "deletion date"),
                "modifier_indicator": indicator,
                "rationale": _cell(cells, col["rationale"]) or None,
            }
        yield line, row


def _read_mue(header: list[str], rows: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, Row]]:
    col = _columns(
        header,
        {
            "code": lambda n: n.startswith("hcpcs"),
            "mue_values": lambda n: "mue value" in n,
            "mue_adjudication_indicator": lambda n: "adjudication indicator" in n,
            "rationale": lambda n: "rationale" in n,
        },
        {"rationale"},
    )
    for line, cells in rows:
        with _at(line):
            units = _cell(cells, col["mue_values"])
            mai = MAI.match(_cell(cells, col["mue_adjudication_indicator"]) + " ")
            if not units.isdigit():
                raise ValueError(f"MUE value {units!r} is not a number of units")
            if mai is None:
                raise ValueError("the MUE adjudication indicator does not start with 1, 2 or 3")
            row = {
                "code": _code(_cell(cells, col["code"])),
                "units": int(units),
                "mai": int(mai.group(1)),
                "rationale": _cell(cells, col["rationale"]) or None,
            }
        yield line, row


def _read_hcpcs(header: list[str], rows: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, Row]]:
    col = _columns(
        header,
        {
            "hcpc": lambda n: n in ("hcpc", "hcpcs", "hcpcs code"),
            "recid": lambda n: n in ("recid", "record id"),
            "long_description": lambda n: n.startswith("long desc"),
            "short_description": lambda n: n.startswith("short desc"),
            "add_dt": lambda n: n in ("add dt", "add date"),
            "act_eff_dt": lambda n: n in ("act eff dt", "action effective date"),
            "term_dt": lambda n: n in ("term dt", "termination date"),
            "action_cd": lambda n: n in ("action cd", "action code"),
        },
        {"recid", "short_description", "act_eff_dt", "action_cd"},
    )
    record: Row | None = None
    for line, cells in rows:
        raw, recid = _cell(cells, col["hcpc"]), _cell(cells, col["recid"])
        text = _cell(cells, col["long_description"])
        if recid in ("4", "8"):
            if record is None or record["code"] != raw.upper():
                raise LayoutError(f"line {line}: a continuation record without its first record")
            record["long_description"] = f"{record['long_description'] or ''} {text}".strip()
            continue
        if record is not None:
            yield record.pop("_line"), record
        with _at(line):
            record = _hcpcs_record(line, raw, recid, text, cells, col)
    if record is not None:
        yield record.pop("_line"), record


def _hcpcs_record(
    line: int, raw: str, recid: str, text: str, cells: list[str], col: dict[str, int | None]
) -> Row:
    if recid not in ("", "3", "7"):
        raise ValueError(f"record id {recid!r} is not 3, 4, 7 or 8")
    is_modifier = recid == "7" or (not recid and len(raw) == 2)
    return {
        "_line": line,
        "code": _code(raw, MODIFIER if is_modifier else CODE),
        "is_modifier": is_modifier,
        "long_description": text or None,
        "short_description": _cell(cells, col["short_description"]) or None,
        "added_date": _date(_cell(cells, col["add_dt"]), "add date"),
        "effective_date": _date(_cell(cells, col["act_eff_dt"]), "action effective date"),
        "termination_date": _date(_cell(cells, col["term_dt"]), "termination date"),
        "action_code": _cell(cells, col["action_cd"]) or None,
    }


def _read_cpt(header: list[str], rows: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, Row]]:
    for line, cells in rows:
        description = cells[1] if len(cells) > 1 and cells[1] else None
        with _at(line):
            code = _code(cells[0])
        yield (
            line,
            {
                "code": code,
                "is_modifier": False,
                "long_description": description,
                "short_description": description,
                "added_date": None,
                "effective_date": None,
                "termination_date": None,
                "action_code": None,
            },
        )


_LAYOUTS: dict[str, tuple[Callable[[str], bool], Callable[..., Iterator[Any]], tuple[str, ...]]] = {
    "ncci-ptp": (lambda n: n.startswith("column 1"), _read_ncci, ("column1", "column2", "effective_date")),
    "mue": (lambda n: n.startswith("hcpcs"), _read_mue, ("code",)),
    "hcpcs": (lambda n: n in ("hcpc", "hcpcs", "hcpcs code"), _read_hcpcs, ("code", "is_modifier")),
    "cpt": (
        lambda n: n in ("code", "cpt", "cpt code", "hcpcs", "hcpcs code"),
        _read_cpt,
        ("code", "is_modifier"),
    ),
}


def read(kind: str, text: str) -> list[Row]:
    """The rows of a file of `kind`, as the table stores them; LayoutError names the line of
    the first row that breaks the layout (or repeats an earlier row's key)."""
    if kind not in _LAYOUTS:
        raise LayoutError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    is_header, reader, key = _LAYOUTS[kind]
    header, records = _records(text, is_header)
    seen: dict[tuple[Any, ...], int] = {}
    rows: list[Row] = []
    for line, row in reader(header, records):
        first = seen.setdefault(tuple(row[k] for k in key), line)
        if first != line:
            raise LayoutError(f"line {line}: repeats the row on line {first}")
        rows.append(row)
    if not rows:
        raise LayoutError("the file has a header but no rows")
    return rows
