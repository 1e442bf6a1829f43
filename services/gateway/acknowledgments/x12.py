"""Reading the acknowledgments a clearinghouse sends back, on top of shared/x12.py.

- TA1 (interchange acknowledgment): TA101 our ISA13, TA104 A/E/R, TA105 the note code.
- 999 005010X231A1: AK1 (our GS06), per set loop 2000 AK2 (our ST02), loop 2100 IK3 (segment
  id, position, loop, IK304), loop 2110 IK4 (element position, reference, IK403), IK5, AK9.
  IK404 (the bad data) is never copied: it can be PHI.
- 277CA 005010X214: 2000A/B/C/D hierarchy (HL03 20, 21, 19, PT); loop 2200D TRN02 is the
  claim's CLM01, STC01/STC10/STC11 its statuses, REF*1K the payer's claim control number.
  Real files omit what the guide requires (2200C STC, an upper level's HL04): read them and
  warn, as a trading partner would, rather than lose the claims' answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.gateway.acknowledgments import domain
from shared.events.clearinghouse import AckError, ClaimStatusCode
from shared.x12 import Interchange, Segment, TransactionSet


@dataclass(frozen=True)
class Ta1:
    control_number: str  # TA101: the ISA13 it answers
    code: str  # TA104 A | E | R
    note_code: str  # TA105
    position: int


def read_ta1(interchange: Interchange) -> list[Ta1]:
    """Every TA1 of the interchange (usually one)."""
    return [Ta1(s.get(1).strip(), s.get(4).strip(), s.get(5).strip(), s.position) for s in interchange.ta1]


@dataclass
class SetAnswer:
    """One loop 2000 of a 999: the set it answers and what was wrong with it."""

    transaction_code: str  # AK201
    control_number: str  # AK202 = our ST02
    code: str = ""  # IK501
    set_codes: list[str] = field(default_factory=list)  # IK502-IK506
    errors: list[AckError] = field(default_factory=list)
    patient_control_numbers: list[str] = field(default_factory=list)  # CTX*CLM01:<pcn>


@dataclass
class GroupAnswer:
    """One 999 transaction set: the functional group it answers (AK1) and AK9's verdict."""

    functional_id: str  # AK101
    group_control_number: str  # AK102 = our GS06
    code: str = ""  # AK901
    included: int | None = None
    received: int | None = None
    accepted: int | None = None
    group_codes: list[str] = field(default_factory=list)  # AK905-AK909
    sets: list[SetAnswer] = field(default_factory=list)
    position: int = 0


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _ik3(seg: Segment) -> AckError:
    return AckError(
        source="999",
        segment_id=seg.get(1)[:3] or None,
        segment_position=_int(seg.get(2)) or None,
        loop_id=seg.get(3)[:6] or None,
        error_code=seg.get(4)[:3] or "?",
        description=domain.describe("IK304", seg.get(4))[:300],
    )


def _ik4(seg: Segment, ik3: AckError | None) -> AckError:
    position = [*seg.components(1), "", ""]
    return AckError(
        source="999",
        segment_id=ik3.segment_id if ik3 else None,
        segment_position=ik3.segment_position if ik3 else None,
        loop_id=ik3.loop_id if ik3 else None,
        element_position=_int(position[0]) or None,
        component_position=_int(position[1]) or None,
        element_reference=seg.get(2)[:4] or None,
        error_code=seg.get(3)[:3] or "?",
        description=domain.describe("IK403", seg.get(3))[:300],
    )


def read_999(interchange: Interchange) -> list[GroupAnswer]:
    """Every 999 set of the interchange, as the groups and sets it answers."""
    answers = []
    for ts in interchange.transactions:
        if ts.code == "999":
            answers.append(_read_999_set(ts))
    return answers


def _read_999_set(ts: TransactionSet) -> GroupAnswer:
    group = GroupAnswer("", "", position=ts.st.position)
    current: SetAnswer | None = None
    ik3: AckError | None = None
    ik3_has_ik4 = False

    def close_ik3() -> None:
        if current is not None and ik3 is not None and not ik3_has_ik4:
            current.errors.append(ik3)

    for seg in ts.segments:
        if seg.id == "AK1":
            group.functional_id, group.group_control_number = seg.get(1), seg.get(2).strip()
        elif seg.id == "AK2":
            close_ik3()
            ik3, ik3_has_ik4 = None, False
            current = SetAnswer(seg.get(1), seg.get(2).strip())
            group.sets.append(current)
        elif seg.id == "IK3" and current is not None:
            close_ik3()
            ik3, ik3_has_ik4 = _ik3(seg), False
        elif seg.id == "IK4" and current is not None:
            current.errors.append(_ik4(seg, ik3))
            ik3_has_ik4 = True
        elif seg.id == "CTX" and current is not None:
            context = seg.components(1)
            if context[0] == "CLM01" and len(context) > 1 and context[1]:
                current.patient_control_numbers.append(context[1])
        elif seg.id == "IK5" and current is not None:
            close_ik3()
            ik3, ik3_has_ik4 = None, False
            current.code = seg.get(1)
            current.set_codes = [c for c in seg.elements[1:6] if c]
        elif seg.id == "AK9":
            group.code = seg.get(1)
            group.included, group.received, group.accepted = (_int(seg.get(i)) for i in (2, 3, 4))
            group.group_codes = [c for c in seg.elements[4:9] if c]
    for answer in group.sets:
        if answer.code in domain.SET_REJECTED and not answer.errors:
            answer.errors = [  # no IK3: the set's own IK502-IK506 codes say why
                AckError(source="999", error_code=c[:3], description=domain.describe("IK502", c)[:300])
                for c in answer.set_codes
            ]
    return group


@dataclass
class ClaimAnswer:
    """One claim of a 277CA (loop 2200D): the PCN we sent and what the payer said."""

    patient_control_number: str  # TRN02
    position: int  # the TRN's segment position, to locate it without its value
    statuses: list[ClaimStatusCode] = field(default_factory=list)
    payer_claim_control_number: str | None = None  # REF*1K
    clearinghouse_trace: str | None = None  # REF*D9


@dataclass
class Answer277CA:
    claims: list[ClaimAnswer] = field(default_factory=list)
    warnings: list[dict[str, object]] = field(default_factory=list)


def _statuses(seg: Segment) -> list[ClaimStatusCode]:
    """STC01, STC10 and STC11 (C043 composites), with STC12's free text on the first."""
    found = []
    for index in (1, 10, 11):
        if seg.get(index):
            status = domain.status_code(seg.components(index), seg.get(12) if index == 1 else None)
            if status is not None:
                found.append(status)
    return found


def read_277ca(interchange: Interchange) -> Answer277CA:
    """Every claim (2200D) of every 277 set, with the statuses that apply to it: its own, or
    a rejection at the receiver (2200B) or billing provider (2200C) level, which rejects every
    claim beneath it."""
    answer = Answer277CA()
    for ts in interchange.transactions:
        if ts.code == "277":
            _read_277ca_set(ts, answer)
    return answer


def _warn(answer: Answer277CA, seg: Segment, rule: str, message: str) -> None:
    answer.warnings.append({"rule": rule, "message": message, "segment": seg.id, "position": seg.position})


def _read_277ca_set(ts: TransactionSet, answer: Answer277CA) -> None:
    level = ""
    inherited: dict[str, list[ClaimStatusCode]] = {}  # HL level → its rejecting statuses
    provider_hl: Segment | None = None
    provider_has_stc = False
    claim: ClaimAnswer | None = None
    in_line = False

    def close_provider() -> None:
        if provider_hl is not None and not provider_has_stc:
            _warn(
                answer, provider_hl, "2200C_STC", "loop 2200C (billing provider) has no STC; read without it"
            )

    for seg in ts.segments:
        if seg.id == "HL":
            level, in_line, claim = seg.get(3), False, None
            if level == "19":
                close_provider()
                provider_hl, provider_has_stc = seg, False
                inherited.pop("19", None)
            if level != "PT" and not seg.get(4):  # 2000D's HL04 is not used (HL*4*3*PT is right)
                _warn(answer, seg, "HL04", "HL04 (child code) is missing; read as the guide's hierarchy")
        elif seg.id == "TRN" and level == "PT":
            claim = ClaimAnswer(seg.get(2).strip(), seg.position)
            answer.claims.append(claim)
        elif seg.id == "SVC":
            in_line = True
        elif seg.id == "STC" and not in_line:
            statuses = _statuses(seg)
            if level == "PT" and claim is not None:
                claim.statuses.extend(statuses)
            elif level in ("21", "19"):
                provider_has_stc = provider_has_stc or level == "19"
                rejecting = [s for s in statuses if s.category_code in domain.REJECTED]
                if rejecting:
                    inherited.setdefault(level, []).extend(rejecting)
        elif seg.id == "REF" and claim is not None and not in_line:
            if seg.get(1) == "1K":
                claim.payer_claim_control_number = seg.get(2).strip() or None
            elif seg.get(1) == "D9":
                claim.clearinghouse_trace = seg.get(2).strip() or None
        if seg.id == "TRN" and level == "PT" and claim is not None:
            for upper in ("21", "19"):
                claim.statuses.extend(inherited.get(upper, []))
    close_provider()
