"""What to do about a denial, from the 835's group code, CARC and RARCs (no servers needed).

835 005010X221A1 loop 2100/2110 CAS01 is the claim adjustment group code: CO (contractual
obligation: the provider is liable and may not bill the patient), PR (patient responsibility),
OA (other adjustments), PI (payer initiated reductions: not the patient's either), CR
(corrections and reversals). CAS02 is the CARC, and the RARCs (MOA03-07, MIA, LQ*HE) say more
about it. So the action keys on the group code and the CARC, and the RARC where it decides,
and it says why.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.claims.denials.domain import ACTIONS, DenialRules, Rule
from services.claims.reference import store as reference
from shared.events.catalogue import Adjustment


def make_adjustment(group: str, reason: str, amount: str = "100.00") -> Adjustment:
    return Adjustment(group_code=group, reason_code=reason, amount=Decimal(amount))


def recommend(group: str, reason: str, remarks: list[str] | None = None):
    return reference.denial_rules().recommend([make_adjustment(group, reason)], remarks or [])


def test_a_contractual_non_covered_charge_is_never_billed_to_the_patient():
    co = recommend("CO", "96", ["N130"])
    assert co.action != "bill_patient"
    assert co.action == "write_off" and "CO" in co.why
    pr = recommend("PR", "96")
    assert pr.action == "bill_patient" and "PR" in pr.why


@pytest.mark.parametrize("group", ["CO", "OA", "PI", "CR"])
@pytest.mark.parametrize("reason", ["1", "2", "3", "27", "96", "119", "204", "242", "A1", "999"])
def test_only_the_patient_responsibility_group_is_billed_to_the_patient(group, reason):
    assert recommend(group, reason).action != "bill_patient"


def test_the_shipped_table_bills_the_patient_only_under_pr_and_writes_off_only_under_co():
    rules = reference.denial_rules()
    for rule in rules.rules:
        if rule.action == "bill_patient":
            assert rule.group_code == "PR", rule
        if rule.action == "write_off":
            assert rule.group_code == "CO", rule
        assert rule.action in ACTIONS or rule.action == "not_a_denial", rule
        assert rule.why.strip(), rule


@pytest.mark.parametrize(
    "bad",
    [
        Rule("CO", "96", "", "bill_patient", "wrong: CO is the provider's"),
        Rule("*", "50", "", "bill_patient", "wrong: any group"),
        Rule("PR", "96", "", "write_off", "wrong: the patient's share is not written off"),
        Rule("CO", "96", "", "send_flowers", "not an action"),
        Rule("XX", "96", "", "appeal", "not a group code"),
        Rule("CO", "96", "", "appeal", ""),
    ],
)
def test_a_table_breaking_the_group_code_rules_is_refused_at_load(bad):
    with pytest.raises(ValueError):
        DenialRules([*reference.denial_rules().rules, bad])


@pytest.mark.parametrize(
    ("group", "reason"),
    [
        ("PR", "1"),
        ("PR", "2"),
        ("PR", "3"),
        ("CO", "4"),
        ("CO", "16"),
        ("OA", "18"),
        ("CO", "22"),
        ("CO", "27"),
        ("PR", "27"),
        ("CO", "29"),
        ("CO", "45"),
        ("CO", "50"),
        ("CO", "96"),
        ("CO", "97"),
        ("CO", "109"),
        ("CO", "119"),
        ("PR", "119"),
        ("CO", "151"),
        ("CO", "167"),
        ("CO", "197"),
        ("CO", "204"),
        ("PR", "204"),
        ("CO", "242"),
        ("PR", "242"),
    ],
)
def test_common_carcs_have_a_rule_of_their_own_and_a_description(group, reason):
    rules = reference.denial_rules()
    rule = rules.rule_for(group, reason, [])
    assert rule.carc == reason, f"{group}-{reason} falls back to {rule}"
    assert reason in reference.carc_descriptions()


def test_cost_sharing_and_contractual_write_downs_are_not_denials():
    rules = reference.denial_rules()
    for group, reason in [("PR", "1"), ("PR", "2"), ("PR", "3"), ("CO", "45"), ("CO", "253"), ("OA", "23")]:
        assert not rules.is_denial(make_adjustment(group, reason)), (group, reason)
    for group, reason in [("CO", "96"), ("PR", "96"), ("CO", "16"), ("OA", "18"), ("PI", "A1")]:
        assert rules.is_denial(make_adjustment(group, reason)), (group, reason)
    assert not rules.is_denial(make_adjustment("CO", "96", "0.00"))


def test_the_rarc_decides_where_it_tells_more():
    # CO-197 (authorization absent) with M62 (missing/invalid authorization code on the
    # claim): the authorization exists, the number was not sent; a corrected claim with
    # 2300 REF*G1 fixes it. Without that remark (or with N54), it is an appeal.
    assert recommend("CO", "197", ["M62"]).action == "correct_and_resubmit"
    assert recommend("CO", "197", ["N54"]).action == "appeal"
    assert recommend("CO", "197").action == "appeal"
    # CO-22 (another payer may be primary): bill that payer; with MA04/N479 the payer wants
    # the primary's adjudication on the claim (loop 2320), so correct and resubmit.
    assert recommend("CO", "22").action == "bill_other_payer"
    assert recommend("CO", "22", ["MA04"]).action == "correct_and_resubmit"
    # CO-16 (lacks information) names the missing piece only in its RARC.
    m51, n290 = recommend("CO", "16", ["M51"]), recommend("CO", "16", ["N290"])
    assert m51.action == n290.action == "correct_and_resubmit"
    assert "M51" in m51.why and "procedure code" in m51.why
    assert "N290" in n290.why and "rendering provider" in n290.why
    # MA130: unprocessable, no appeal rights: a new claim, not an appeal.
    assert "new claim" in recommend("CO", "16", ["MA01", "MA130"]).why


def test_the_largest_denied_amount_decides_and_the_why_names_its_codes():
    rules = reference.denial_rules()
    chosen = rules.recommend(
        [make_adjustment("CO", "97", "20.00"), make_adjustment("CO", "50", "120.00")], ["N115"]
    )
    assert (chosen.group_code, chosen.reason_code, chosen.action) == ("CO", "50", "appeal")
    assert chosen.why.startswith("CO-50")


def test_an_unlisted_carc_falls_back_to_its_group_and_says_so():
    co = recommend("CO", "B7")
    assert co.action == "appeal" and "CO-B7" in co.why and "not billed to the patient" in co.why
    assert recommend("PR", "B7").action == "bill_patient"
    assert recommend("OA", "ZZ9").action == "correct_and_resubmit"


def test_every_code_the_table_names_has_a_description():
    rules = reference.denial_rules()
    carcs, rarcs = reference.carc_descriptions(), reference.rarc_descriptions()
    assert {r.carc for r in rules.rules if r.carc != "*"} <= set(carcs)
    assert {r.rarc for r in rules.rules if r.rarc} <= set(rarcs)
    assert rarcs["M62"] == "Missing/incomplete/invalid treatment authorization code."
    assert carcs["29"] == "The time limit for filing has expired."
