"""Pure rules of the patient record: merging a change, naming what changed, reading If-Match."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from shared.events.frontoffice import Demographics, Guarantor
from shared.problems import FieldError, ProblemError, field_errors, invalid

GUARANTOR = "guarantor"
REQUIRED = ("first_name", "last_name", "birth_date")


def merged(
    demographics: dict[str, Any], guarantor: dict[str, Any], changes: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record after `changes` (JSON form, only the fields sent), validated as a whole by the
    contract's models, so the registry never holds what patient.updated could not carry. A 422
    names each field and rule; never the value."""
    cleared = [name for name in REQUIRED if name in changes and changes[name] is None]
    if cleared:
        raise invalid(*[(f"body.{n}", "required", "This field cannot be cleared.") for n in cleared])
    person = {**demographics, **{k: v for k, v in changes.items() if k != GUARANTOR}}
    payer_of_bill = changes[GUARANTOR] if changes.get(GUARANTOR) is not None else guarantor
    return _valid(Demographics, person, ("body",)), _valid(Guarantor, payer_of_bill, ("body", GUARANTOR))


def _valid(model: type[Demographics] | type[Guarantor], data: dict[str, Any], at: tuple[str, ...]) -> dict:
    try:
        return model.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        errors = [{**e, "loc": (*at, *e["loc"])} for e in exc.errors()]
        raise ProblemError(
            422, "validation-error", "The request is not valid", errors=field_errors(errors)
        ) from None


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Top-level names whose value differs (address as a whole), in a stable order."""
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def parse_if_match(value: str | None, *, required: bool = True) -> int | None:
    """The revision an If-Match header names: `"7"`, `W/"7"` or `7`; `*` (any) gives None.
    Missing: 428 when required (a billing office has several people on one patient; a change
    without the revision it was based on could silently undo a colleague's)."""
    if value is None:
        if not required:
            return None
        raise ProblemError(
            428,
            "precondition-required",
            "If-Match header required",
            "Send the patient's current revision (its ETag) as If-Match, so a colleague's change "
            "made since you read the record is not overwritten.",
            errors=[FieldError(field="header.If-Match", rule="missing", message="Send the ETag you read.")],
        )
    text = value.strip()
    if text == "*":
        return None
    text = text.removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()) or len(text) > 9:  # "²" is a digit int() refuses
        raise invalid(("header.If-Match", "format", 'Use the ETag as given, e.g. "7".'))
    return int(text)


def stale(expected: int | None, current: int) -> ProblemError | None:
    """A 412 when the caller's revision is not the current one."""
    if expected is None or expected == current:
        return None
    return ProblemError(
        412,
        "precondition-failed",
        "The patient changed since you read it",
        f"Your revision is {expected}, the current one is {current}: read the patient again, "
        "re-apply your change and send the new ETag.",
        errors=[
            FieldError(field="header.If-Match", rule="current_revision", message="Read the record again.")
        ],
        headers={"ETag": etag(current)},
    )


def etag(revision: int) -> str:
    """The revision as a strong ETag."""
    return f'"{revision}"'
