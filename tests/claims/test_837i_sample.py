"""The public 837I sample (../shared/samples/x12/837I_005010X223A2/inpatient.837, imsweb x12-parser,
BSD) is read by the project's tokenizer (shared/x12.py), and the 837I the claims service writes
from the same data matches it segment for segment where the data allows.

The sample is messy on purpose (its README): a space after some segment terminators, two segments
on one line, an SE01 that counts 25 of its 48 segments, and 4010-era content. The tokenizer reads
it as a trading partner would (whitespace after a terminator is not data); the wrong SE01 is kept
as that set's error (parse(per_set=True)), not a reason to drop the claim.

The ClaimData is built from the segments read, not typed in, so the comparison is the writer's
against the file. Every place where the two differ is listed in DIFFERENCES with the guide's
reason; the test fails on any other difference, and on any listed one that went away.
"""

from __future__ import annotations

import difflib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from services.claims.claims.schemas import ClaimData
from services.claims.settings import ClaimsSettings
from services.claims.submission.x12 import generate
from shared import x12
from tests.claims.cob import x12_837_errors

SAMPLE = Path(__file__).resolve().parents[3] / "shared/samples/x12/837I_005010X223A2/inpatient.837"
if not SAMPLE.exists():  # a worktree under /work: the samples are beside the main checkout
    SAMPLE = Path("/work/shared/samples/x12/837I_005010X223A2/inpatient.837")

# Each run of segments where the two differ, in file order: (the sample's, ours, the reason).
DIFFERENCES: list[tuple[list[str], list[str], str]] = [
    (
        ["BHT*0019*00*0123*19960918*0932*CH"],
        ["BHT*0019*00*905*20030101*1253*CH"],
        "BHT03-05: our reference is the interchange control number, the date and time the file's (ISA09/10)",
    ),
    (
        ["PER*IC*DAVID ANGELASZEK*TE*3016809770*EX*123"],
        ["PER*IC*DAVID ANGELASZEK*TE*3016809770"],
        "1000A PER05/06: a submitter phone extension is not in our settings",
    ),
    (
        [
            "PER*IC*JANE JONES*TE*3022893453",
            "PER*IC*JANE JANES*TE*3012833053*EX*201",
            "NM1*87*2",
            "N3*227 LASTNER LANE",
            "N4*GREENBELT*MD*20770",
        ],
        [],
        "2010AA PER billing contacts and the 2010AB pay-to address are situational and not modelled",
    ),
    (
        ["SBR*P**SUBSCRIBER GROUP******CI", "NM1*IL*1*DOE*JOHN*T**JR*MI*123456"],
        ["SBR*P*18*SUBSCRIBER GROUP******CI", "NM1*IL*1*DOE*JOHN****MI*123456"],
        "2000B SBR02 is 18 when the subscriber is the patient (HL04 0: no 2000C), as the guide requires; "
        "2010BA NM105/NM107 (middle name, suffix) are not in PersonIn",
    ),
    (
        ["NM1*PR*2*HEALTH INSURANCE COMPANY*****PI*11122333", "CLM*A37YH556*500***11:B:1*Y*A*Y*I*P"],
        [
            "NM1*PR*2*11122333*****PI*11122333",
            "CLM*A37YH556*73.42***11:A:1**A*Y*Y",
            "DTP*434*RD8*20120330-20120330",
        ],
        "2010BB NM103 is the payer's name in our payer registry, which does not know 11122333; CLM02 is the "
        "sum of the lines' SV203 (the sample's 500 does not balance with its one 73.42 line); CLM05-2 is A "
        "(UB-04 type of bill) in 5010, B was 4010's; CLM06 and CLM10 are not used in the 837I; CLM09 our "
        "release code Y; DTP*434 comes before DTP*435 in the guide's 2300, and is RD8 only",
    ),
    (["DTP*434*D8*20120330"], [], "the sample's DTP*434, out of order and D8 (see above)"),
    (
        ["REF*EA*1122334", "HI*BK:1739"],
        ["HI*ABK:C4490"],
        "2300 REF*EA (medical record number) is not modelled; HI01-1 BK is the ICD-9 qualifier and 1739 an "
        "ICD-9 code: 5010 sends ICD-10-CM with ABK, here C44.90, the same diagnosis",
    ),
    (
        [
            "NM1*IL*1*DOE*JOHN*D***MI*ABCDER1234",
            "NM1*PR*2*AETNA*****PI*54321",
            "N3*A PO BOX",
            "N4*ANYTOWN*AL*32143",
        ],
        ["NM1*IL*1*DOE*JOHN****MI*ABCDER1234", "NM1*PR*2*54321*****PI*54321"],
        "2330A NM105 (middle name) is not in PersonIn; 2330B NM103 comes from the payer registry and the "
        "other payer's N3/N4 (situational) is not modelled",
    ),
    (
        [
            "NM1*PR*2*ANOTHER NAME*****PI*12345",
            "N3*PO BOX 1234",
            "N4*FRED*AL*12345",
            "NM1*77*2*KIRBY CLINIC*****XX*1112223334",
        ],
        ["NM1*PR*2*12345*****PI*12345"],
        "2330B as above; 2310E service facility (NM1*77) is not modelled, and the sample puts it after "
        "2330B where the guide has it before 2320",
    ),
    (
        ["DTP*472*RD8*20050314-20050325", "DTP*304*D8*20120428"],
        ["REF*6R*1"],
        "2400 DTP*472: the TR3 allows the service date on outpatient claims only (X12 RFI 1435) and TOB "
        "011x is inpatient Part A; DTP*304 is 4010's, not in the 5010 837I's 2400; REF*6R is the line "
        "item control number the payer's 835 echoes",
    ),
]


def read_sample() -> tuple[x12.Interchange, list[x12.Segment]]:
    inter = x12.parse(SAMPLE.read_text(), expect="837", strict=False, per_set=True)
    (transaction,) = inter.transactions
    return inter, transaction.segments


def _first(segments: list[x12.Segment], sid: str, first: str | None = None) -> int:
    """The index of the first `sid` segment (whose element 1 is `first`, when given)."""
    return next(i for i, s in enumerate(segments) if s.id == sid and (first is None or s[1] == first))


def _address(n3: x12.Segment, n4: x12.Segment) -> dict[str, Any]:
    return {"line1": n3[1], "line2": n3[2] or None, "city": n4[1], "state": n4[2], "postal_code": n4[3]}


def _date(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def _other_coverages(segments: list[x12.Segment], birth: date) -> list[dict[str, Any]]:
    """2320 (SBR S/T) with 2330A (NM1*IL, its N3/N4 when given) and 2330B (NM1*PR)."""
    others = []
    for i, sbr in enumerate(segments):
        if sbr.id != "SBR" or sbr[1] == "P":
            continue
        name = segments[i + 2]  # after OI
        person: dict[str, Any] = {"first_name": name[4], "last_name": name[3], "birth_date": birth}
        if segments[i + 3].id == "N3":
            person["address"] = _address(segments[i + 3], segments[i + 4])
        payer = segments[_first(segments[i:], "NM1", "PR") + i]
        order = {"S": "secondary", "T": "tertiary"}[sbr[1]]
        others.append(
            {
                "payer_id": payer[9],
                "member_id": name[9],
                "order": order,
                "relationship_code": sbr[2],
                "subscriber": person,
            }
        )
    return others


def claim_from(segments: list[x12.Segment]) -> tuple[ClaimData, str]:
    """The sample's claim as ClaimData, read from its segments (and its CLM01)."""

    def at(sid: str, first: str | None = None, offset: int = 0) -> x12.Segment:
        return segments[_first(segments, sid, first) + offset]

    billing, subscriber, clm, cl1, sv2 = at("NM1", "85"), at("NM1", "IL"), at("CLM"), at("CL1"), at("SV2")
    assert at("HI").components(1) == ["BK", "1739"]  # ICD-9: replaced by its ICD-10-CM meaning below
    birth = _date(at("DMG")[2])
    facility, _, frequency = clm.components(5)
    statement = at("DTP", "434")[3]
    body = {
        "claim_type": "institutional",
        "patient_id": "sample-837i",
        "subscriber": {
            "first_name": subscriber[4],
            "last_name": subscriber[3],
            "birth_date": birth,
            "gender": at("DMG")[3],
            "member_id": subscriber[9],
            "group_number": at("SBR", "P")[3],
            "address": _address(at("NM1", "IL", 1), at("NM1", "IL", 2)),
        },
        "relationship_code": "18",
        "payer_id": at("NM1", "PR")[9],
        "billing_provider": {
            "npi": billing[9],
            "name": billing[3],
            "tax_id": at("REF", "EI")[2],
            "address": _address(at("NM1", "85", 1), at("NM1", "85", 2)),
        },
        "place_of_service": "21",
        "diagnoses": ["C44.90"],
        "frequency_code": frequency,
        "lines": [
            {
                "revenue_code": sv2[1],
                "code": sv2.components(2)[1],
                "charge": sv2[3],
                "units": sv2[5],
                "date_of_service": _date(at("DTP", "472")[3][:8]),
            }
        ],
        "other_coverages": _other_coverages(segments, birth),
        "institutional": {
            "facility_type_code": facility,
            "statement_from": _date(statement),
            "statement_to": _date(statement),
            "admission": {"date": _date(at("DTP", "435")[3]), "type": cl1[1], "source": cl1[2]},
            "patient_status": cl1[3],
        },
    }
    return ClaimData.model_validate(body), clm[1]


def settings_from(inter: x12.Interchange, segments: list[x12.Segment]) -> ClaimsSettings:
    """Our submitter and receiver as the sample's 1000A/1000B name them."""
    submitter, receiver = segments[_first(segments, "NM1", "41")], segments[_first(segments, "NM1", "40")]
    per = segments[_first(segments, "PER", "IC")]
    return ClaimsSettings(
        submitter_id=submitter[9],
        submitter_name=submitter[3],
        submitter_contact=per[2],
        submitter_phone=per[4],
        receiver_id=receiver[9],
        receiver_name=receiver[3],
    )


def _texts(segments: list[x12.Segment]) -> list[str]:
    return ["*".join([s.id, *s.elements]).rstrip("*") for s in segments]


def test_the_tokenizer_reads_the_messy_sample():
    """Spaces after terminators and two segments on one line are read; the wrong SE01 is the set's
    one error, IEA02 matches; the 4010-era BK qualifier is content, read as it is."""
    text = SAMPLE.read_text()
    assert "~ \n" in text and "~ N4*FRED" in text  # the mess the README announces
    inter, segments = read_sample()
    (transaction,) = inter.transactions
    assert [str(e) for e in transaction.errors] == [
        "SE01 says 25 segments, the set has 48 (segment 50, SE01)"
    ]
    assert inter.warnings == [] and inter.groups[0].version == "005010X223A2"
    assert [s.id for s in segments].count("SBR") == 3 and len(segments) == 46
    assert [s.id for s in segments if s.position in (32, 44)] == [
        "OI",
        "N4",
    ]  # after "~ " and "~ " on one line


def test_an_837i_from_the_samples_data_matches_it_where_the_data_allows():
    inter, sample = read_sample()
    data, pcn = claim_from(sample)
    settings = settings_from(inter, sample)
    stamp = datetime.strptime(inter.isa[9] + inter.isa[10], "%y%m%d%H%M")
    ours_text = generate(data, pcn, control_number=int(inter.control_number), settings=settings, now=stamp)
    # Valid but for the one thing the sample's data lacks: 2010AA N403 must be the nine-digit ZIP
    # (5010 wants ZIP+4 for the billing provider); the sample gives 20705, and we write what we have.
    (error,) = x12_837_errors(ours_text)
    assert "Billing Provider Postal Zone or ZIP Code" in error and "[0-9]{9}" in error
    ours_inter = x12.parse(ours_text, expect="837")
    ours = ours_inter.transactions[0].segments
    assert ours_inter.transactions[0].st[3] == inter.transactions[0].st[3] == "005010X223A2"

    theirs_t, ours_t = _texts(sample), _texts(ours)
    matcher = difflib.SequenceMatcher(None, theirs_t, ours_t, autojunk=False)
    runs = [
        (theirs_t[i1:i2], ours_t[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    ]
    assert runs == [(theirs, mine) for theirs, mine, _ in DIFFERENCES]
    same = sum(i2 - i1 for tag, i1, i2, _, _ in matcher.get_opcodes() if tag == "equal")
    assert same == 22  # 1000A/B, 2000A/2010AA, 2000B/2010BA, CL1, DTP*435, 2320s, 2330A, LX, SV2
