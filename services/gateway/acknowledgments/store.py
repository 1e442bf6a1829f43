"""All of the acknowledgments' SQL: finding what an acknowledgment answers (our submission
files by ICN or group control number, our claims by set or patient control number) and
recording the answer on them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Text, any_, bindparam, case, func, select, text, true, update
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on
from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.outbound.tables import outbound_claims as oc, submission_files as sf


def _texts(name: str, values: Iterable[str]) -> Any:
    return any_(bindparam(name, sorted(set(values)), type_=ARRAY(Text)))


def _of_partner(partner_id: str | None) -> Any:
    return sf.c.partner_id == partner_id if partner_id else true()


def _number(value: str) -> str:
    """Control numbers compare as numbers: `000000123`, `123` and `0123` are one ICN/GCN/ST02
    (partners pad them their own way), so they are known by their digits without leading zeros."""
    return value.lstrip("0")


async def files_by_numbers(
    session: AsyncSession, partner_id: str | None, column: str, numbers: Sequence[str]
) -> dict[str, list[Any]]:
    """Our submission files (of this partner when known) whose `column` (interchange_ or
    group_control_number: what a TA1 or a 999 names) is each of `numbers`, locked, in one
    statement for the whole acknowledgment: each number as given → its files."""
    wanted = {_number(n) for n in numbers}
    if not wanted:
        return {}
    stmt = (
        select(sf)
        .where(_of_partner(partner_id), func.ltrim(sf.c[column], "0") == _texts("numbers", wanted))
        .order_by(sf.c.id)
        .with_for_update()
    )
    found: dict[str, list[Any]] = {}
    for row in (await session.execute(stmt)).all():
        found.setdefault(_number(getattr(row, column)), []).append(row)
    return {n: found.get(_number(n), []) for n in numbers}


async def files_by_groups(
    session: AsyncSession, partner_id: str | None, numbers: Sequence[str]
) -> dict[str, list[Any]]:
    """Our submission files holding each functional group (GS06) a 999 names, locked: a file's
    first group by `submission_files.group_control_number`, a further group (a file with 837P
    and 837I groups) by its claims' `group_control_number`. Each file comes back with
    `group_control_number` set to the group found, so what answers it names that group."""
    found = await files_by_numbers(session, partner_id, "group_control_number", numbers)
    missing = {_number(n) for n, files in found.items() if not files}
    if not missing:
        return found
    pairs = (
        await session.execute(
            select(oc.c.file_id, oc.c.group_control_number)
            .where(
                oc.c.partner_id == partner_id if partner_id else true(),
                func.ltrim(oc.c.group_control_number, "0") == _texts("groups", missing),
            )
            .distinct()
        )
    ).all()
    if not pairs:
        return found
    files = {
        row.id: row
        for row in (
            await session.execute(
                select(sf).where(sf.c.id.in_({p.file_id for p in pairs})).order_by(sf.c.id).with_for_update()
            )
        ).all()
    }
    by_group: dict[str, list[Any]] = {}
    for pair in pairs:
        row = {**files[pair.file_id]._mapping, "group_control_number": pair.group_control_number}
        by_group.setdefault(_number(pair.group_control_number), []).append(SimpleNamespace(**row))
    return {n: files or by_group.get(_number(n), []) for n, files in found.items()}


def in_group(claim: Any, group_control_number: str) -> bool:
    """Whether a filed claim went out in this functional group (claims filed before files held
    several groups have none: they are in their file's only group)."""
    gcn = claim.group_control_number
    return gcn is None or _number(gcn) == _number(group_control_number)


async def claims_of_files(session: AsyncSession, file_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    """Every claim filed in these submission files, by file, each in set order (one statement)."""
    ids = sorted(set(file_ids))
    if not ids:
        return {}
    stmt = select(oc).where(oc.c.file_id.in_(ids)).order_by(oc.c.file_id, oc.c.set_control_number)
    found: dict[uuid.UUID, list[Any]] = {i: [] for i in ids}
    for row in (await session.execute(stmt)).all():
        found[row.file_id].append(row)
    return found


# What matching and answering a claim read: not the 837 (PHI, and most of the bytes).
_ANSWERED = (
    oc.c.event_id,
    oc.c.claim_id,
    oc.c.patient_control_number,
    oc.c.payer_id,
    oc.c.partner_id,
    oc.c.submitted_at,
    oc.c.ack_state,
    oc.c.payer_claim_control_number,
)


async def latest_claims(session: AsyncSession, pcns: Iterable[str], partner_id: str | None) -> dict[str, Any]:
    """The claims a 277CA answers, by patient control number, in one query: for each PCN the
    latest filed claim, this partner's first (a corrected claim reuses its PCN; the newest
    filing is answered). A PCN with no filed claim is absent."""
    stmt = (
        select(*_ANSWERED)
        .ext(distinct_on(oc.c.patient_control_number))
        .where(oc.c.patient_control_number == _texts("pcns", pcns), oc.c.state == "filed")
        .order_by(
            oc.c.patient_control_number,
            (oc.c.partner_id == partner_id).desc().nulls_last(),
            oc.c.submitted_at.desc(),
        )
    )
    return {row.patient_control_number: row for row in (await session.execute(stmt)).all()}


async def claims_by_payer_numbers(session: AsyncSession, pccns: Iterable[str]) -> Sequence[Any]:
    """Fallback match: every filed claim a payer numbered before (an earlier 277CA's REF*1K)
    with one of these numbers; the caller takes the latest filed per number."""
    stmt = select(*_ANSWERED).where(
        oc.c.payer_claim_control_number == _texts("pccns", pccns), oc.c.state == "filed"
    )
    return (await session.execute(stmt)).all()


_MARK_ANSWERS = text(
    "UPDATE outbound_claims c SET ack_state = m.ack_state, ack_source = m.ack_source, "
    "payer_claim_control_number = COALESCE(m.payer_claim_control_number, c.payer_claim_control_number) "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
    "AS m(event_id uuid, ack_state text, ack_source text, payer_claim_control_number text) "
    "WHERE c.event_id = m.event_id AND (m.ack_state <> 'accepted' OR c.ack_state <> 'rejected')"
)


async def mark_answers(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Record each claim's own answer (`rows`: event_id, ack_state, ack_source,
    payer_claim_control_number or None to keep it) with one UPDATE, under the rule of
    `mark_claims`: an acceptance never overwrites a rejection."""
    if rows:
        await session.execute(_MARK_ANSWERS, {"rows": json.dumps(rows, default=str)})


async def mark_claims(
    session: AsyncSession,
    event_ids: Sequence[uuid.UUID],
    *,
    ack_state: str | None,
    source: str,
    payer_claim_control_number: str | None = None,
) -> None:
    """Record an answer on outbound claims (a rejection is never undone by a later acceptance
    of the same filing: the rejected claim must be corrected and resubmitted as a new one)."""
    if not event_ids:
        return
    values: dict[str, Any] = {"ack_source": source}
    if ack_state:
        values["ack_state"] = ack_state
    if payer_claim_control_number:
        values["payer_claim_control_number"] = payer_claim_control_number
    stmt = update(oc).where(oc.c.event_id.in_(list(event_ids)))
    if ack_state == "accepted":
        stmt = stmt.where(oc.c.ack_state != "rejected")
    await session.execute(stmt.values(values))


async def mark_file(session: AsyncSession, file_id: uuid.UUID, at: datetime, **values: Any) -> None:
    """Record a TA1 (`ta1_code`, `ta1_note`) or 999 (`ack_code`) on a submission file, and its
    state: `rejected` when the interchange or group was, else `acknowledged`."""
    if values.get("state") == "acknowledged":  # a file's other group may have been rejected
        values["state"] = case((sf.c.state == "rejected", "rejected"), else_="acknowledged")
    await session.execute(update(sf).where(sf.c.id == file_id).values(acknowledged_at=at, **values))
