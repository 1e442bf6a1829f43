"""Code data in the layouts CMS publishes: the NCCI procedure-to-procedure practitioner edits,
the MUE practitioner edits (with the MUE adjudication indicator) and the HCPCS Level II annual
file are read as CMS ships them, and the version in effect on a date of service is the latest
load effective on or before it. Pure: no database."""

from __future__ import annotations

from datetime import date

import pytest

from services.claims.codesets import domain as codesets
from services.claims.codesets.usecases import STARTER, starter_text

# The practitioner PTP file as CMS ships it (a copyright line, then the header row whose
# column names carry their legends: "*=in existence prior to 1996", "Modifier 0=not allowed...").
NCCI_TEXT = """\
"CPT codes, descriptions and other data only are copyright 2024 American Medical Association."
Column 1,Column 2,"*=in existence prior to 1996",Effective Date,Deletion Date *=no data,"Modifier 0=not allowed 1=allowed 9=not applicable",PTP Edit Rationale
20610,99213,*,19960101,*,1,Standards of medical / surgical practice
97530,97161,,20200101,20200101,0,Misuse of column two code with column one code
"""  # noqa: E501 - a CMS file's lines

NCCI_TAB_TEXT = (
    "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\t"
    "Modifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\n"
    "20610\t99213\t*\t19960101\t*\t1\tStandards of medical / surgical practice\n"
)

MUE_TEXT = """\
"CPT codes and descriptions only are copyright 2024 American Medical Association."
HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale
20610,2,1 Line Edit,Anatomic Consideration
80053,1,2 Date of Service Edit: Policy,CMS Policy
97110,4,3 Date of Service Edit: Clinical,Clinical: Data
"""

HCPCS_TEXT = """\
HCPC,SEQNUM,RECID,LONG DESCRIPTION,SHORT DESCRIPTION,PRICE1,MULT_PI,COV,BETOS,TOS1,ADD DT,ACT EFF DT,TERM DT,ACTION CD
G2012,00100,3,"Brief communication technology-based service, e.g. virtual check-in, by a physician",Brief chkin by md/qhp,11,A,C,M5D,1,20190101,20250101,20241231,D
G2012,00200,4,"or other qualified health care professional, 5-10 minutes",,,,,,,,,,
J1100,00100,3,"Injection, dexamethasone sodium phosphate, 1 mg",Dexamethasone sodium phos,51,A,C,O1E,1,19990101,20000101,,N
GP,00100,7,Services delivered under an outpatient physical therapy plan of care,Serv dlvd under pt poc,,,,,,20030101,20030101,,N
"""  # noqa: E501 - a CMS file's lines


def test_an_ncci_ptp_file_in_the_cms_layout_is_read_with_its_dates_and_modifier_indicator():
    rows = codesets.read("ncci-ptp", NCCI_TEXT)
    assert rows == [
        {
            "column1": "20610",
            "column2": "99213",
            "prior_1996": True,
            "effective_date": date(1996, 1, 1),
            "deletion_date": None,
            "modifier_indicator": "1",
            "rationale": "Standards of medical / surgical practice",
        },
        {
            "column1": "97530",
            "column2": "97161",
            "prior_1996": False,
            "effective_date": date(2020, 1, 1),
            "deletion_date": date(2020, 1, 1),
            "modifier_indicator": "0",
            "rationale": "Misuse of column two code with column one code",
        },
    ]
    # CMS's .txt download is tab-delimited: the same rows.
    assert codesets.read("ncci-ptp", NCCI_TAB_TEXT) == rows[:1]


def test_an_mue_file_keeps_the_limit_and_the_mue_adjudication_indicator():
    rows = codesets.read("mue", MUE_TEXT)
    assert [(r["code"], r["units"], r["mai"], r["rationale"]) for r in rows] == [
        ("20610", 2, 1, "Anatomic Consideration"),
        ("80053", 1, 2, "CMS Policy"),
        ("97110", 4, 3, "Clinical: Data"),
    ]


def test_the_hcpcs_file_gives_codes_and_modifiers_with_their_dates():
    rows = {(r["code"], r["is_modifier"]): r for r in codesets.read("hcpcs", HCPCS_TEXT)}
    assert set(rows) == {("G2012", False), ("J1100", False), ("GP", True)}
    g2012 = rows[("G2012", False)]
    assert g2012["termination_date"] == date(2024, 12, 31)
    assert g2012["added_date"] == date(2019, 1, 1)
    assert g2012["action_code"] == "D"
    # Record 4 continues record 3's long description.
    assert g2012["long_description"].endswith(
        "by a physician or other qualified health care professional, 5-10 minutes"
    )
    assert rows[("J1100", False)]["termination_date"] is None
    assert rows[("GP", True)]["short_description"] == "Serv dlvd under pt poc"


@pytest.mark.parametrize(
    ("kind", "text", "where"),
    [
        ("ncci-ptp", NCCI_TEXT.replace(",0,Misuse", ",7,Misuse"), "line 4"),
        ("ncci-ptp", NCCI_TEXT.replace("20200101,20200101", "2020-01-01,20200101"), "line 4"),
        ("mue", MUE_TEXT.replace("80053,1,", "80053,one,"), "line 4"),
        ("mue", MUE_TEXT.replace("1 Line Edit", "Line Edit"), "line 3"),
        ("hcpcs", HCPCS_TEXT.replace("J1100,00100", "J11,00100"), "line 4"),
        ("ncci-ptp", "Column A,Column B\n1,2\n", "header"),
    ],
)
def test_a_broken_file_is_refused_naming_the_line(kind, text, where):
    with pytest.raises(codesets.LayoutError) as caught:
        codesets.read(kind, text)
    assert where in str(caught.value)


def test_the_version_in_effect_is_the_latest_effective_on_or_before_the_date():
    versions = [
        codesets.Version(1, "ncci-ptp", date(2025, 1, 1)),
        codesets.Version(2, "ncci-ptp", date(2025, 4, 1)),
        codesets.Version(3, "ncci-ptp", date(2025, 4, 1)),  # a corrected file for the same quarter
        codesets.Version(4, "mue", date(2025, 7, 1)),
    ]
    assert codesets.in_effect(versions, "ncci-ptp", date(2025, 3, 31)).id == 1
    assert codesets.in_effect(versions, "ncci-ptp", date(2025, 4, 1)).id == 3
    assert codesets.in_effect(versions, "ncci-ptp", date(2026, 1, 1)).id == 3
    assert codesets.in_effect(versions, "ncci-ptp", date(2024, 12, 31)) is None
    assert codesets.in_effect(versions, "mue", date(2025, 6, 30)) is None


def test_an_ncci_edit_applies_from_its_effective_date_until_its_deletion_date():
    edit = codesets.PtpEdit("97530", "97161", date(2024, 1, 1), date(2025, 1, 1), "0")
    assert not edit.applies_on(date(2023, 12, 31))
    assert edit.applies_on(date(2024, 1, 1))
    assert edit.applies_on(date(2024, 12, 31))
    assert not edit.applies_on(date(2025, 1, 1))  # deleted as of that date


def test_the_starter_set_ships_a_few_hundred_rows_in_the_cms_layouts():
    counts = {}
    for kind, name, effective in STARTER:
        rows = codesets.read(kind, starter_text(name))
        counts[kind] = len(rows)
        assert effective <= date(2025, 1, 1)
    assert counts["ncci-ptp"] >= 150
    assert counts["mue"] >= 150
    assert counts["hcpcs"] >= 100
    assert counts["cpt"] >= 200
    hcpcs = codesets.read("hcpcs", starter_text(next(n for k, n, _ in STARTER if k == "hcpcs")))
    assert {"GP", "GO", "GN"} <= {r["code"] for r in hcpcs if r["is_modifier"]}
