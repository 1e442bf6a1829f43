"""The submission's own SQL: interchange control numbers (ISA13) from their sequence."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

_CONTROL_NUMBERS = text("SELECT nextval('interchange_control_numbers') FROM generate_series(1, :n)")


async def control_numbers(session: AsyncSession, n: int) -> list[int]:
    """n interchange control numbers in one round trip."""
    if n <= 0:
        return []
    with session.no_autoflush:  # a sequence reads no rows: no need to flush pending ones first
        return [int(v) for v in (await session.execute(_CONTROL_NUMBERS, {"n": n})).scalars()]
