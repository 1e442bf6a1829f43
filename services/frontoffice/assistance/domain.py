"""Pure rules of the assistance policy: which guideline applies, the poverty percent, the tier.

Money and percents are Decimal throughout; the poverty percent is rounded once, to two places,
half up (what a person checking by hand gets), and the tier is chosen from that rounded value,
so the answer and its explanation can never disagree."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENTS = Decimal("0.01")
HUNDRED = Decimal(100)
# The contract's poverty_percent holds 7 digits (2 decimals); larger is not a screening.
MAX_PERCENT = Decimal("99999.99")
# Alaska and Hawaii have their own columns; every other state, DC and the territories use the
# 48 contiguous states' (HHS publishes no separate guideline for the territories).
OWN_COLUMNS = frozenset({"AK", "HI"})
CONTIGUOUS = "contiguous"
REGION_LABELS = {
    CONTIGUOUS: "48 contiguous states and the District of Columbia",
    "AK": "Alaska",
    "HI": "Hawaii",
}


def region_of(state: str) -> str:
    """The guideline column a state's household is measured against."""
    return state if state in OWN_COLUMNS else CONTIGUOUS


def guideline_for(regions: Mapping[str, Any], region: str, household_size: int) -> Decimal:
    """The guideline for a household: the published size's figure, or beyond the table's
    largest size that figure plus `additional_person` per extra person (as HHS prints it)."""
    column = regions[region]
    sizes = [Decimal(str(v)) for v in column["sizes"]]
    if household_size <= len(sizes):
        return sizes[household_size - 1].quantize(CENTS)
    extra = household_size - len(sizes)
    return (sizes[-1] + Decimal(str(column["additional_person"])) * extra).quantize(CENTS)


def poverty_percent(income: Decimal, guideline: Decimal) -> Decimal:
    """Income as a percent of the guideline, two places, ROUND_HALF_UP."""
    return (income / guideline * HUNDRED).quantize(CENTS, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TierChoice:
    """The tier a percent falls in, with its bounds: over `above` (exclusive) up to `up_to`
    (inclusive); None is open (no lower bound for the first tier, no upper for the last)."""

    tier: str
    discount_percent: Decimal
    above: Decimal | None
    up_to: Decimal | None


NO_TIER = "none"


def choose_tier(tiers: Sequence[Mapping[str, Any]], percent: Decimal) -> TierChoice:
    """The first tier whose upper bound holds the percent (tiers are stored in ascending order);
    past every bounded tier without an open one, no discount (tier `none`)."""
    above: Decimal | None = None
    for tier in tiers:
        up_to = None if tier.get("up_to_percent") is None else Decimal(str(tier["up_to_percent"]))
        if up_to is None or percent <= up_to:
            return TierChoice(str(tier["tier"]), Decimal(str(tier["discount_percent"])), above, up_to)
        above = up_to
    return TierChoice(NO_TIER, Decimal("0.00"), above, None)


def tier_problems(tiers: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """What is wrong with a tier list, as (field, rule, message): bounds must rise, only the
    last tier may be open-ended, names must be unique."""
    problems: list[tuple[str, str, str]] = []
    previous: Decimal | None = None
    names: set[str] = set()
    for index, tier in enumerate(tiers):
        field = f"body.tiers[{index}]"
        if tier["tier"] in names or tier["tier"] == NO_TIER:
            problems.append((f"{field}.tier", "unique", "Tier names must be unique and not 'none'."))
        names.add(tier["tier"])
        up_to = tier.get("up_to_percent")
        if up_to is None and index != len(tiers) - 1:
            problems.append(
                (f"{field}.up_to_percent", "open_last", "Only the last tier may have no upper bound.")
            )
        if up_to is not None and previous is not None and Decimal(str(up_to)) <= previous:
            problems.append(
                (f"{field}.up_to_percent", "ascending", "Upper bounds must rise from tier to tier.")
            )
        if up_to is not None:
            previous = Decimal(str(up_to))
    return problems


def region_problems(regions: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """A guideline upload must have the contiguous column, and each column's sizes must rise."""
    problems: list[tuple[str, str, str]] = []
    if CONTIGUOUS not in regions:
        problems.append(
            ("body.regions", "contiguous_required", "The 48 contiguous states' column is required.")
        )
    for name, column in regions.items():
        sizes = [Decimal(str(v)) for v in column["sizes"]]
        if any(b <= a for a, b in itertools.pairwise(sizes)):
            problems.append(
                (f"body.regions.{name}.sizes", "ascending", "Each larger household has a larger guideline.")
            )
    return problems


def money(value: Decimal) -> str:
    """$26,650.00: how the explanation prints an amount."""
    return f"${value:,.2f}"


def explain(
    *,
    income: Decimal,
    household_size: int,
    percent: Decimal,
    guideline: Decimal,
    year: int,
    region: str,
    choice: TierChoice,
    policy_effective: str,
) -> str:
    """Why, in one sentence staff can read to the patient."""
    low = "0 %" if choice.above is None else f"{choice.above} %"
    high = "no upper bound" if choice.up_to is None else f"up to {choice.up_to} %"
    return (
        f"An income of {money(income)} for a household of {household_size} is {percent} % of the "
        f"{year} poverty guideline ({money(guideline)}, {REGION_LABELS[region]}); the policy in "
        f"force since {policy_effective} gives tier '{choice.tier}' (over {low}, {high}): "
        f"a {choice.discount_percent} % discount."
    )
