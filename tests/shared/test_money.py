"""shared.money: the one money input type (issue 15 item 11), without a server.

Policy: an amount a client sends is a plain decimal string, ASCII digits, at most two decimal
places, no sign (or a leading minus where a field is signed), no spaces, exponents or other
scripts' digits; a JSON number is refused because it is a binary float on the way in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from shared.money import Money, MoneyError, SignedMoney, parse_money


class Body(BaseModel):
    amount: Money


class Signed(BaseModel):
    amount: SignedMoney


@pytest.mark.parametrize(
    ("value", "kept"),
    [("25", "25.00"), ("25.5", "25.50"), ("0.01", "0.01"), ("0", "0.00"), ("9999999999.99", "9999999999.99")],
)
def test_plain_decimal_strings_are_money_kept_to_the_cent(value, kept):
    assert str(Body.model_validate({"amount": value}).amount) == kept
    assert str(Body.model_validate_json(f'{{"amount": "{value}"}}').amount) == kept


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("1e2", "money_format"),
        ("٢٥", "money_format"),
        ("\uff12\uff15", "money_format"),  # full-width digits
        (25.5, "money_string"),
        (25, "money_string"),
        (True, "money_string"),
        (None, "money_string"),
        ("25.555", "money_decimals"),
        ("-5", "money_format"),
        ("+5", "money_format"),
        (" 25", "money_format"),
        ("25 ", "money_format"),
        ("25.", "money_format"),
        (".5", "money_format"),
        ("1,000.00", "money_format"),
        ("NaN", "money_format"),
        ("Infinity", "money_format"),
        ("", "money_format"),
        ("12345678901", "money_digits"),
    ],
)
def test_anything_else_is_refused_naming_the_rule_without_the_value(value, rule):
    with pytest.raises(ValidationError) as caught:
        Body.model_validate({"amount": value})
    (error,) = caught.value.errors()
    assert error["type"] == rule
    if isinstance(value, str) and value.strip():
        assert value.strip() not in error["msg"]
    with pytest.raises(MoneyError) as direct:
        parse_money(value)
    assert direct.value.rule == rule


def test_signed_money_takes_a_leading_minus_only():
    assert Signed.model_validate({"amount": "-9.00"}).amount == Decimal("-9.00")
    for bad in ("--9", "- 9", "+9", "-9.001"):
        with pytest.raises(ValidationError):
            Signed.model_validate({"amount": bad})


def test_decimals_made_in_code_are_taken_when_they_are_whole_cents():
    """Code builds models from Decimals it already holds (a body re-validated, an event)."""
    assert Body(amount=Decimal("25.5")).amount == Decimal("25.50")
    with pytest.raises(ValidationError):
        Body(amount=Decimal("25.555"))
    with pytest.raises(ValidationError):
        Body(amount=Decimal("-1"))


def test_the_openapi_schema_says_string():
    schema = Body.model_json_schema()["properties"]["amount"]
    assert schema["type"] == "string" and "pattern" in schema
