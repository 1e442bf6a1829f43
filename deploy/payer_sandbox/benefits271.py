"""The 271's eligibility and benefit loops (2110C/2110D: EB and what hangs off it), apart from
its envelope and names (eligibility.py): coverage, primary care provider, prior auth, other
payers, and per network tier the benefit rows, from the same NetworkBenefits that adjudication
applies (data.py): the plan-level deductible, out-of-pocket maximum, coinsurance and copays,
and, when the 270 asks about them (EQ), the hospital service types 48 (inpatient), 50
(outpatient) and 86 (emergency) with their own cost share (`NetworkBenefits.hospital_share`).
"""

from __future__ import annotations

from decimal import Decimal

from deploy.payer_sandbox.data import ZERO, NetworkBenefits, Scenario
from shared import x12

HOSPITAL_SERVICE_TYPES = ("48", "50", "86")


def eligibility_loops(
    scenario: Scenario, active: bool, pcp: dict[str, str] | None, asked: list[str]
) -> list[list[str]]:
    """The 2110C/2110D loops: the coverage row (EB*1 or EB*6) with its group number and
    messages, the primary care provider (EB*L, 2120 NM1*P3 + PRV), benefits (with the hospital
    service types the 270 asked about: 48, 50, 86), prior auth, COB."""
    plan = scenario.plan or {}
    insurance_type = plan.get("insurance_type", "")
    plan_name = x12.clean(plan.get("name", ""), 50)
    rep = "^"
    if not active:
        return [x12.seg("EB", "6", "", "30", insurance_type, plan_name)]
    types = scenario.service_types or ["30"]
    body = [x12.seg("EB", "1", "", rep.join(types), insurance_type, plan_name)]
    if plan.get("group_number"):
        body.append(x12.seg("REF", "6P", x12.clean(plan["group_number"], 50)))
    body += [x12.seg("MSG", x12.clean(text, 264)) for text in plan.get("messages", [])]
    if pcp:
        body += [
            x12.seg("EB", "L"),
            x12.seg("LS", "2120"),
            x12.seg(
                "NM1",
                "P3",
                "1",
                x12.clean(pcp["last_name"], 60),
                x12.clean(pcp["first_name"], 35),
                "",
                "",
                "",
                "XX",
                pcp["npi"],
            ),
            x12.seg("PRV", "PC", "PXC", pcp["taxonomy"]),
            x12.seg("LE", "2120"),
        ]
    for network, in_plan in ((scenario.in_network, "Y"), (scenario.out_of_network, "N")):
        if network is not None:
            body += benefit_segments(network, in_plan, insurance_type)
            body += hospital_segments(network, in_plan, insurance_type, asked)
    for service_type in scenario.prior_auth_required_service_types:
        # EB11 = Y: authorization or certification required for this service type.
        body.append(x12.seg("EB", "1", "", service_type, insurance_type, "", "", "", "", "", "", "Y"))
    for other in scenario.other_payers:
        body.append(x12.seg("EB", "R", "", "30"))
        if other.member_id:
            body.append(x12.seg("REF", "1W", x12.clean(other.member_id, 50)))
        entity = {"primary": "PRP", "secondary": "SEP", "tertiary": "TTP"}[other.order]
        body.append(x12.seg("LS", "2120"))
        body.append(
            x12.seg("NM1", entity, "2", x12.clean(other.name, 60), "", "", "", "", "PI", other.payer_id)
        )
        body.append(x12.seg("LE", "2120"))
    return body


def benefit_segments(n: NetworkBenefits, in_plan: str, insurance_type: str) -> list[list[str]]:
    """EB segments for one network tier: deductible (C) and out-of-pocket (G) with total
    (EB06=23 calendar year), met (24 year to date) and remaining (29); coinsurance (A,
    EB08 as a fraction); copays (B) per service type per visit (27). A copay-only service
    type says so with rows of its own, which govern it instead of the plan-level (30) ones:
    deductible 0 (total and remaining) and coinsurance 0. The out-of-pocket maximum stays
    the plan's: copays count toward it."""
    out: list[list[str]] = []

    def eb(
        code: str, level: str, service_type: str, period: str, money: Decimal | None, pct: str = ""
    ) -> None:
        out.append(_eb(insurance_type, in_plan, code, service_type, period, money, pct, level=level))

    for code, ind, fam in (
        ("C", n.deductible_individual, n.deductible_family),
        ("G", n.oop_individual, n.oop_family),
    ):
        for level, acc in (("IND", ind), ("FAM", fam)):
            eb(code, level, "30", "23", acc.total)
            eb(code, level, "30", "24", acc.met)
            eb(code, level, "30", "29", acc.remaining)
    fraction = (n.coinsurance_percent / Decimal(100)).normalize()
    eb("A", "IND", "30", "", None, format(fraction, "f"))
    for service_type, copay in sorted(n.copays.items()):
        eb("B", "IND", service_type, "27", copay)
        if n.copay_only(service_type):
            eb("C", "IND", service_type, "23", ZERO)
            eb("C", "IND", service_type, "29", ZERO)
            eb("A", "IND", service_type, "", None, "0")
    return out


def hospital_segments(
    n: NetworkBenefits, in_plan: str, insurance_type: str, asked: list[str]
) -> list[list[str]]:
    """EB rows for each hospital service type the 270 asked about (EQ01 48, 50, 86), so that an
    estimate reads the same numbers adjudication uses: a deductible per admission (EB*C with
    EB06 36 admission), or the plan's calendar-year deductible (23 total, 29 remaining);
    coinsurance (EB*A, EB08 fraction); a copay per visit (EB*B, EB06 27). A copay-only type
    (emergency) is already reported with the plan's copays; its rows are not repeated."""
    out: list[list[str]] = []
    for service_type in (t for t in HOSPITAL_SERVICE_TYPES if t in asked):
        share = n.hospital_share(service_type)
        if share.copay_only:
            if service_type not in n.copays:  # reported with the plan's copays otherwise
                out.append(_eb(insurance_type, in_plan, "B", service_type, "27", share.copay))
            continue
        if share.deductible_per_admission is not None:
            out.append(_eb(insurance_type, in_plan, "C", service_type, "36", share.deductible_per_admission))
        else:
            out.append(_eb(insurance_type, in_plan, "C", service_type, "23", n.deductible_individual.total))
            out.append(_eb(insurance_type, in_plan, "C", service_type, "29", n.deductible_remaining))
        fraction = (share.coinsurance_percent / Decimal(100)).normalize()
        out.append(_eb(insurance_type, in_plan, "A", service_type, "", None, format(fraction, "f")))
        if share.copay > 0 and service_type not in n.copays:
            out.append(_eb(insurance_type, in_plan, "B", service_type, "27", share.copay))
    return out


def _eb(
    insurance_type: str,
    in_plan: str,
    code: str,
    service_type: str,
    period: str,
    money: Decimal | None,
    pct: str = "",
    *,
    level: str = "IND",
) -> list[str]:
    """One EB row: EB01 code, EB02 coverage level, EB03 service type, EB04 insurance type, EB06
    time period, EB07 amount, EB08 percent, EB12 in plan network."""
    amount = x12.amount(money) if money is not None else ""
    return x12.seg(
        "EB", code, level, service_type, insurance_type, "", period, amount, pct, "", "", "", in_plan
    )
