"""Lists: one cursor page shape, one way to page, one date-range parameter style, one way to
take a moment in a query.

Every list endpoint answers `{"items": [...], "next_cursor": ...}`, newest first by
(created_at, id), and takes `cursor`, `limit`, and where it filters by date, `date_from` and
`date_to`. The cursor is opaque (base64 of the last row's created_at and id): keyset paging
stays fast on big tables and never skips or repeats a row while new ones arrive, and the
cursor carries no patient data.

A query parameter that is a moment (a datetime) is a `Moment` or an `AsOfMoment`: both take a
plain date as people type it (`?as_of=2027-01-10`) and are always timezone-aware, so a route
never compares a naive datetime with the database's aware ones.
"""

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, WithJsonSchema
from sqlalchemy import Select, tuple_
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.problems import invalid

T = TypeVar("T")


class CursorPage(BaseModel, Generic[T]):
    """One page of a list, in the list's order (newest first unless it says otherwise)."""

    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


def encode_cursor(created_at: datetime | None, ident: uuid.UUID | str | int) -> str:
    """The cursor after a row: its created_at (None for a list in id order) and its id (a
    uuid, or an integer for tables keyed by a sequence)."""
    created = created_at.isoformat() if created_at is not None else ""
    return base64.urlsafe_b64encode(f"{created}|{ident}".encode()).decode()


def decode_cursor(value: str) -> tuple[datetime | None, uuid.UUID | int]:
    """(created_at, id) of a cursor made by encode_cursor(); a 422 naming `query.cursor` for
    anything else."""
    try:
        created, ident = base64.urlsafe_b64decode(value.encode()).decode().split("|")
        key = int(ident) if ident.isdigit() and len(ident) < 20 else uuid.UUID(ident)
        return (datetime.fromisoformat(created) if created else None), key
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid(("query.cursor", "cursor", "Use next_cursor from a previous page.")) from None


@dataclass(frozen=True)
class PageQuery:
    """Where a page starts and how long it is."""

    cursor: str | None
    limit: int


def page_query(default: int = 50, maximum: int = 200) -> Callable[..., PageQuery]:
    """A `cursor` + `limit` dependency; lists differ only in their default and maximum size.
    (This module has no `from __future__ import annotations`: FastAPI must see the closure's
    `maximum` in the annotation as a value, not as a name it cannot resolve.)"""

    def dependency(
        cursor: Annotated[
            str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=maximum, description="Items per page.")] = default,
    ) -> PageQuery:
        return PageQuery(cursor, limit)

    return dependency


Page = Annotated[PageQuery, Depends(page_query())]


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of dates; either end may be open."""

    date_from: date | None
    date_to: date | None

    def apply(self, stmt: Any, column: Any, *, moments: bool = True) -> Any:
        """`stmt` limited to the range on `column`: a timestamp column (`moments`) takes whole
        UTC days, so `date_to` includes its day; a date column compares dates."""
        if self.date_from is not None:
            low = datetime.combine(self.date_from, time.min, UTC) if moments else self.date_from
            stmt = stmt.where(column >= low)
        if self.date_to is not None:
            if moments:
                stmt = stmt.where(column < datetime.combine(self.date_to + timedelta(days=1), time.min, UTC))
            else:
                stmt = stmt.where(column <= self.date_to)
        return stmt


def date_range(
    date_from: Annotated[date | None, Query(description="On or after this date (inclusive).")] = None,
    date_to: Annotated[date | None, Query(description="On or before this date (inclusive).")] = None,
) -> DateRange:
    if date_from and date_to and date_from > date_to:
        raise invalid(("query.date_from", "range", "date_from must not be after date_to."))
    return DateRange(date_from, date_to)


Dates = Annotated[DateRange, Depends(date_range)]


def _day_as_moment(at: time) -> Callable[[Any], Any]:
    """A plain date (`2027-01-10`, or a date object) becomes that day at `at`, in UTC; anything
    else goes on to the ordinary datetime parsing."""

    def parse(value: Any) -> Any:
        if isinstance(value, str) and len(value.strip()) == 10:
            try:
                value = date.fromisoformat(value.strip())
            except ValueError:
                return value
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, at, UTC)
        return value

    return parse


def _aware(value: datetime) -> datetime:
    """A datetime without an offset is read as UTC (the platform's one clock)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _moment_schema(day_reads_as: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}],
            "description": f"A date-time (no offset: UTC) or a plain date, read as {day_reads_as} in UTC.",
        }
    )


# Where something starts (`?since=2027-01-10`): a plain date is 00:00 of that day, UTC.
Moment = Annotated[
    datetime,
    BeforeValidator(_day_as_moment(time.min)),
    AfterValidator(_aware),
    _moment_schema("the start of that day"),
]
# "As of" a day (`?as_of=2027-01-10`): a plain date is the end of that day, UTC — what was
# true by the close of it, as a billing office reads "overdue as of January 10th".
AsOfMoment = Annotated[
    datetime,
    BeforeValidator(_day_as_moment(time.max)),
    AfterValidator(_aware),
    _moment_schema("the end of that day"),
]


def _key_type(id_col: Any) -> type | tuple[type, ...]:
    """The Python type of a list's id column (a cursor of another list does not fit it)."""
    try:
        return int if issubclass(id_col.type.python_type, int) else uuid.UUID
    except (AttributeError, NotImplementedError):
        return (int, uuid.UUID)


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    page: PageQuery,
    created_col: Any,
    id_col: Any,
    *,
    key: Callable[[Any], tuple[datetime, Any]] | None = None,
    oldest_first: bool = False,
) -> tuple[Sequence[Any], str | None]:
    """Run `stmt` for one page, newest first by (created_col, id_col) — or oldest first, for
    work queues worked in the order work arrived; returns the page's items (entities for a
    single-entity select, rows otherwise) and the next cursor or None. `key(item)` gives an
    item's (created_at, id) when they are not attributes of that name. With `created_col`
    None the list is in `id_col` order alone (an append-only table keyed by a sequence, such
    as a ledger in the order written)."""
    columns = (id_col,) if created_col is None else (created_col, id_col)
    if page.cursor:
        created, ident = decode_cursor(page.cursor)
        if (created is None) != (created_col is None) or not isinstance(ident, _key_type(id_col)):
            raise invalid(("query.cursor", "cursor", "Use next_cursor from a previous page."))
        here, after = tuple_(*columns), tuple_(*((ident,) if created is None else (created, ident)))
        stmt = stmt.where(here > after if oldest_first else here < after)
    order = columns if oldest_first else tuple(c.desc() for c in columns)
    stmt = stmt.order_by(*order).limit(page.limit + 1)
    result = await session.execute(stmt)
    descriptions = stmt.column_descriptions
    single = len(descriptions) == 1 and descriptions[0].get("entity") is descriptions[0].get("expr")
    items = list(result.scalars().all() if single else result.all())
    if len(items) <= page.limit:
        return items, None
    items = items[: page.limit]
    last = items[-1]
    if key:
        created, ident = key(last)
    else:
        created, ident = (None if created_col is None else last.created_at), last.id
    return items, encode_cursor(created, ident)
