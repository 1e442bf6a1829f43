"""Money as a client sends it: the one input type for every amount a request carries.

An amount is a plain decimal string: ASCII digits, an optional point and at most two decimal
places ("25", "25.5", "25.00"). Everything else is refused, each with its own rule, because
each is an amount nobody should be charged by accident:

* a JSON number (`25.5`) is a binary float on its way in, so cents can change (`money_string`);
* `"1e2"` (100), Arabic-Indic `"٢٥"` (25), `" 25"`, `"-5"`, `"25."`, `"NaN"`: Python's Decimal
  reads them all, a person did not mean them (`money_format`);
* a third decimal place (`"25.555"`) would be rounded, not kept (`money_decimals`);
* more than ten digits before the point (`money_digits`): the ledger holds numeric(14,2).

Messages name the rule, never the value (it may be PHI). `Money` is unsigned: a field that
must be positive is `PositiveMoney`; `SignedMoney` takes one leading minus, for amounts that
are negative by nature (a payer's negative adjustment). Decimals that code already holds (a
body rebuilt from another, a stored command) are taken when they are whole cents.

Event payloads keep their own `shared.events.payloads.Money`: that is a published contract
read from partners, and contracts only grow.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

CENT = Decimal("0.01")
MAX_INTEGER_DIGITS = 10
_DIGITS = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
SIGNED_PATTERN = r"^-?[0-9]{1,10}(\.[0-9]{1,2})?$"

_MESSAGES = {
    "money_string": 'Send the amount as a JSON string, e.g. "12.34"; numbers lose cents.',
    "money_format": 'Use plain digits 0-9 with an optional point, e.g. "12.34": no sign, spaces or exponent.',
    "money_decimals": "Use at most two decimal places.",
    "money_digits": f"Use at most {MAX_INTEGER_DIGITS} digits before the point.",
}


class MoneyError(ValueError):
    """An amount that is not money: which `rule` it broke, and what to send instead."""

    def __init__(self, rule: str, signed: bool = False) -> None:
        message = _MESSAGES[rule]
        if signed and rule == "money_format":
            message = 'Use plain digits 0-9, an optional leading minus and point, e.g. "-12.34".'
        super().__init__(message)
        self.rule = rule
        self.message = message


def parse_money(value: Any, *, signed: bool = False) -> Decimal:
    """The amount `value` stands for, to the cent, or MoneyError. For code that reads money
    outside a pydantic model (a CSV row, a JSON list of rows)."""
    if isinstance(value, Decimal):
        return _checked(value, signed)
    if not isinstance(value, str):
        raise MoneyError("money_string", signed)
    text = value[1:] if signed and value.startswith("-") else value
    if not _DIGITS.fullmatch(text):
        raise MoneyError("money_format", signed)
    return _checked(Decimal(value), signed)


def _checked(amount: Decimal, signed: bool) -> Decimal:
    if not amount.is_finite() or (amount < 0 and not signed):
        raise MoneyError("money_format", signed)
    if amount != amount.quantize(CENT):
        raise MoneyError("money_decimals", signed)
    if abs(amount) >= Decimal(10) ** MAX_INTEGER_DIGITS:
        raise MoneyError("money_digits", signed)
    return amount.quantize(CENT)


def _validator(signed: bool) -> BeforeValidator:
    def validate(value: Any) -> Decimal:
        try:
            return parse_money(value, signed=signed)
        except MoneyError as error:
            raise PydanticCustomError(error.rule, error.message) from None

    return BeforeValidator(validate)


Money = Annotated[
    Decimal,
    _validator(signed=False),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": PATTERN,
            "examples": ["25.00"],
            "description": "Amount in USD as a plain decimal string, at most two decimal places.",
        }
    ),
]
SignedMoney = Annotated[
    Decimal,
    _validator(signed=True),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": SIGNED_PATTERN,
            "examples": ["-25.00"],
            "description": "Amount in USD as a plain decimal string (may start with a minus), "
            "at most two decimal places.",
        }
    ),
]
# An amount that moves money (a payment, a refund, a charge): more than zero.
PositiveMoney = Annotated[Money, Field(gt=0)]
