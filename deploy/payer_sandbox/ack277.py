"""The claim acknowledgment the clearinghouse writes for each 837 file: a 277CA
(005010X214), one per file, for the claims of the sets the 999 accepted.

Hierarchy (one interchange, one set): 2000A information source per payer (2100A NM1*PR,
2200A TRN*1, DTP*050 received, DTP*009 processed) -> 2000B information receiver, the
submitter (2100B NM1*41 from the 837's 1000A, 2200B TRN*2 + STC A1:19:PR + accepted and
rejected counts and amounts, QTY*90/AA, AMT*YU/YY) -> 2000C billing provider (2100C NM1*85,
2200C TRN*1 + STC A1:19:85 always, QTY*QA/QC, AMT*YU/YY) -> 2000D per claim (2100D NM1*QC,
2200D TRN*2 with the claim's CLM01 patient control number, STC A2:20 accepted or the
rejection's category:status:entity (A3/A7), REF*1K the payer claim control number of an
accepted claim, REF*D9 the clearinghouse trace, DTP*472 the service dates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from deploy.payer_sandbox.claim837 import Claim837
from shared import x12

VERSION_277CA = "005010X214"
ACCEPTED = "A2:20"  # acknowledgement/acceptance into adjudication system: accepted for processing
RECEIVED = "A1:19"  # acknowledgement/receipt: entity acknowledges receipt of claim/encounter
# The entity a rejection's status code is about (STC01-3), where the code names one.
ENTITY_OF_STATUS = {"562": "85", "164": "IL", "33": "IL", "116": "PR"}


@dataclass
class ClaimAnswer:
    """What the front end decided for one claim: accepted (with the payer's claim control
    number) or rejected with category:status codes ("A7:562")."""

    claim: Claim837
    payer_id: str
    payer_name: str
    trace: str  # REF*D9: the clearinghouse's trace for this claim
    pccn: str | None = None
    codes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.codes

    @property
    def charge(self) -> Decimal:
        return self.claim.total_charge or Decimal(0)


def _composite(code: str) -> str:
    """category:status[:entity] with the entity the status names, when it names one."""
    parts = code.split(":")
    if len(parts) == 2 and parts[1] in ENTITY_OF_STATUS:
        parts.append(ENTITY_OF_STATUS[parts[1]])
    return ":".join(parts)


def _counts(answers: Sequence[ClaimAnswer], qty: tuple[str, str]) -> list[list[str]]:
    """QTY/AMT of accepted (90|QA, YU) and rejected (AA|QC, YY) claims, when there are any."""
    ok = [a for a in answers if a.accepted]
    bad = [a for a in answers if not a.accepted]
    out = []
    if ok:
        out.append(x12.seg("QTY", qty[0], str(len(ok))))
    if bad:
        out.append(x12.seg("QTY", qty[1], str(len(bad))))
    if ok:
        out.append(x12.seg("AMT", "YU", x12.amount(sum((a.charge for a in ok), Decimal(0)))))
    if bad:
        out.append(x12.seg("AMT", "YY", x12.amount(sum((a.charge for a in bad), Decimal(0)))))
    return out


def _service_dates(claim: Claim837, fallback: str) -> list[str]:
    """DTP*472: the line dates' span, or an institutional claim's statement period (DTP*434)."""
    inst = claim.institutional
    if inst is not None and inst.statement_from and inst.statement_to:
        dates = [inst.statement_from, inst.statement_to]
    else:
        dates = sorted(line.date_of_service for line in claim.lines if line.date_of_service)
    if not dates:
        return x12.seg("DTP", "472", "D8", fallback)
    if dates[0] == dates[-1]:
        return x12.seg("DTP", "472", "D8", x12.d8(dates[0]))
    return x12.seg("DTP", "472", "RD8", f"{x12.d8(dates[0])}-{x12.d8(dates[-1])}")


def _claim_level(answer: ClaimAnswer, hl: int, parent: int, today: str) -> list[list[str]]:
    c = answer.claim
    last = x12.clean(c.patient_last or c.subscriber_last, 60) or "UNKNOWN"
    first = x12.clean(c.patient_first or c.subscriber_first, 35)
    out = [
        x12.seg("HL", str(hl), str(parent), "PT"),
        x12.seg("NM1", "QC", "1", last, first, "", "", "", "MI", x12.clean(c.member_id, 80) or "UNKNOWN"),
        x12.seg("TRN", "2", x12.clean(c.pcn, 50) or "UNKNOWN"),
    ]
    if answer.accepted:
        out.append(x12.seg("STC", ACCEPTED, today, "WQ", x12.amount(answer.charge)))
    else:
        composites = [_composite(code) for code in dict.fromkeys(answer.codes)]
        stc = x12.seg("STC", composites[0], today, "U", x12.amount(answer.charge))
        more = composites[1:3]  # STC10 and STC11 carry up to two more
        if more:
            stc += ["", "", "", "", "", *more]
        out.append(stc)
    if answer.pccn:
        out.append(x12.seg("REF", "1K", answer.pccn))
    out.append(x12.seg("REF", "D9", answer.trace))
    out.append(_service_dates(c, today))
    return out


def _last_hl(body: list[list[str]]) -> int:
    return max(int(seg[1]) for seg in body if seg[0] == "HL")


def _provider_levels(
    answers: Sequence[ClaimAnswer], receiver: int, batch_trace: str, today: str
) -> list[list[str]]:
    """2000C/2200C per billing provider of a payer's claims, each with its 2000D claims; HL
    numbers continue after the receiver's."""
    out: list[list[str]] = []
    hl = receiver
    providers: dict[tuple[str, str], list[ClaimAnswer]] = {}
    for answer in answers:
        providers.setdefault((answer.claim.billing_npi, answer.claim.billing_name), []).append(answer)
    for (npi, name), theirs in providers.items():
        hl += 1
        provider = hl
        total = x12.amount(sum((a.charge for a in theirs), Decimal(0)))
        out += [
            x12.seg("HL", str(provider), str(receiver), "19", "1"),
            x12.seg("NM1", "85", "2", x12.clean(name, 60) or "PROVIDER", "", "", "", "", "XX",
                    x12.clean(npi, 80) or "UNKNOWN"),
            x12.seg("TRN", "1", batch_trace),
            x12.seg("STC", f"{RECEIVED}:85", "", "WQ", total),
            *_counts(theirs, ("QA", "QC")),
        ]  # fmt: skip
        for answer in theirs:
            hl += 1
            out += _claim_level(answer, hl, provider, today)
    return out


def write_277ca(
    answers: Sequence[ClaimAnswer],
    *,
    ours: str,
    partner: str,
    received: datetime,
    batch_trace: str,
    control_number: int,
    usage: str,
    now: datetime,
) -> str:
    """The 277CA for one file's claims (`answers`, in file order)."""
    today = x12.d8(now.date())
    body = [x12.seg("BHT", "0085", "08", batch_trace, today, now.strftime("%H%M"), "TH")]
    hl = 0
    payers: dict[tuple[str, str], list[ClaimAnswer]] = {}
    for answer in answers:
        payers.setdefault((answer.payer_id, answer.payer_name), []).append(answer)
    for (payer_id, payer_name), mine in payers.items():
        hl += 1
        top = hl
        body += [
            x12.seg("HL", str(top), "", "20", "1"),
            x12.seg("NM1", "PR", "2", x12.clean(payer_name, 60) or "PAYER", "", "", "", "", "PI",
                    x12.clean(payer_id, 80) or "UNKNOWN"),
            x12.seg("TRN", "1", batch_trace),
            x12.seg("DTP", "050", "D8", x12.d8(received.date())),
            x12.seg("DTP", "009", "D8", today),
        ]  # fmt: skip
        hl += 1
        receiver = hl
        first = mine[0].claim
        charged = x12.amount(sum((a.charge for a in mine), Decimal(0)))
        body += [
            x12.seg("HL", str(receiver), str(top), "21", "1"),
            x12.seg("NM1", "41", "2", x12.clean(first.submitter_name, 60) or "SUBMITTER", "", "", "", "",
                    "46", x12.clean(first.submitter_id, 80) or partner),
            x12.seg("TRN", "2", batch_trace),
            x12.seg("STC", f"{RECEIVED}:PR", today, "WQ", charged),
            *_counts(mine, ("90", "AA")),
        ]  # fmt: skip
        body += _provider_levels(mine, receiver, batch_trace, today)
        hl = _last_hl(body)
    return x12.build(
        [body],
        transaction_code="277",
        functional_id="HN",
        version=VERSION_277CA,
        sender_id=ours,
        receiver_id=partner,
        control_number=control_number,
        now=now,
        usage=usage if usage in ("P", "T") else "P",
    )
