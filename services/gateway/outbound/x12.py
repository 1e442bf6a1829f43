"""Writing a partner's interchange: each claim's own 837 transaction set (ST..SE body, as the
claims service wrote it) re-enveloped with the partner's ISA/GS, ST02 numbered 0001… in the
file and SE01 counted again. The claims service's envelope is addressed to itself (its
CLAIMS_RECEIVER_ID, which routes the claim here); the partner's says who we are to them.

One functional group per implementation guide: a GS's GS08 names the guide its sets follow
(X12 5010 envelope rules; ST03 repeats it), so 837P (005010X222A2) and 837I (005010X223A2)
sets go in two groups of one interchange, each with its own GS06 and GE count, IEA01 counting
the groups. ST02 keeps counting across the groups, so a set is known by (file, ST02)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.gateway.partners.domain import TradingPartner
from shared import x12

OUT = x12.Delimiters()


@dataclass(frozen=True)
class Set:
    """One transaction set out of a claim's interchange: its ST03 and body segments."""

    version: str
    body: list[list[str]]


def claim_set(text: str) -> Set:
    """The (single) transaction set of a claim's 837, its delimiters mapped to ours."""
    inter = x12.parse(text, expect="837")
    if len(inter.transactions) != 1:
        raise ValueError("a claim's 837 holds exactly one transaction set")
    ts = inter.transactions[0]
    src = inter.delimiters

    def mapped(value: str) -> str:
        if src.component != OUT.component:
            value = value.replace(src.component, OUT.component)
        if src.repetition != OUT.repetition:
            value = value.replace(src.repetition, OUT.repetition)
        return value

    body = [[s.id, *(mapped(e) for e in s.elements)] for s in ts.segments]
    return Set(version=ts.st.get(3) or "005010X222A2", body=body)


def grouped(sets: Sequence[Set]) -> list[list[int]]:
    """The functional groups of a file: the indexes of `sets`, one list per guide (ST03), in
    the order each guide first appears and the sets' order within it."""
    groups: dict[str, list[int]] = {}
    for index, item in enumerate(sets):
        groups.setdefault(item.version, []).append(index)
    return list(groups.values())


def interchange(
    partner: TradingPartner,
    groups: Sequence[Sequence[Set]],
    *,
    transaction_code: str,
    functional_id: str,
    icn: int,
    gcns: Sequence[int],
    now: datetime,
) -> str:
    """The partner's interchange holding `groups` (one functional group each, GS06 from
    `gcns`; the group's GS08 is its sets' ST03)."""
    if len(groups) != len(gcns):
        raise ValueError("one group control number per functional group")
    icn_text = f"{icn:09d}"
    out: list[list[str]] = [_isa(partner, icn_text, now)]
    n = 0
    for sets, gcn in zip(groups, gcns, strict=True):
        version = sets[0].version if sets else "005010X222A2"
        day, time = now.strftime("%Y%m%d"), now.strftime("%H%M")
        out.append(
            [
                "GS",
                functional_id,
                partner.gs_sender_id,
                partner.gs_receiver_id,
                day,
                time,
                str(gcn),
                "X",
                version,
            ]
        )
        for item in sets:
            n += 1
            st02 = f"{n:04d}"
            out.append(["ST", transaction_code, st02, item.version])
            out.extend(item.body)
            out.append(["SE", str(len(item.body) + 2), st02])
        out.append(["GE", str(len(sets)), str(gcn)])
    out.append(["IEA", str(len(groups)), icn_text])
    return "".join(_join(s) + OUT.segment + "\n" for s in out)


def _isa(partner: TradingPartner, icn_text: str, now: datetime) -> list[str]:
    """The partner's ISA: who we are to them, ISA15 usage, TA1 requested or not."""
    return [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        partner.isa_sender_qualifier,
        f"{partner.isa_sender_id:<15}",
        partner.isa_receiver_qualifier,
        f"{partner.isa_receiver_id:<15}",
        now.strftime("%y%m%d"),
        now.strftime("%H%M"),
        OUT.repetition,
        "00501",
        icn_text,
        "1" if partner.ack_requested else "0",
        partner.usage_indicator,
        OUT.component,
    ]


def _join(segment: list[str]) -> str:
    parts = list(segment)
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return OUT.element.join(parts)


def receiver_id(text: str) -> str:
    """ISA08 of an interchange, read from the fixed-width ISA (no full parse on the consumer's
    path; the batcher parses each claim when it builds the file)."""
    raw = text.lstrip("\ufeff \r\n\t")
    if not raw.startswith("ISA") or len(raw) < x12.ISA_LENGTH:
        raise ValueError("not an X12 interchange")
    fields = raw[: x12.ISA_LENGTH].split(raw[3])
    if len(fields) != 17:
        raise ValueError("the ISA segment must have 16 fixed-width elements")
    return fields[8].strip()
