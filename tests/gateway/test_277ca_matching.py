"""How a 277CA finds and marks the claims it answers, and that it does so for the whole file at
once: the latest filing of each PCN (this partner's first), a later answer for the same claim in
the same file never undoing a rejection, a REF*1K given earlier in the file matching a claim
whose PCN we never filed, and a statement count that does not grow with the file's claims
(the reader used to make two statements per claim: a 5,000-claim 277CA took 7 s), nor, for a
999, with the sets it rejects."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from tests.conftest import unique
from tests.gateway.helpers import (
    claim_row,
    make_277ca_answers,
    make_999_sets,
    make_partner,
    post_file,
    seed_file,
    staged,
)


async def test_a_277ca_matches_in_file_order_as_claim_by_claim_updates_would(gateway, admin) -> None:
    partner, other = make_partner(), make_partner()
    a, b, e, f, x, y = (unique(p)[:17] for p in "ABEFXY")
    q_a1, q_a2, q_b = unique("QA1"), unique("QA2"), unique("QB")
    _, ours = await seed_file(
        admin,
        partner.id,
        icn="000004601",
        gcn="4601",
        claims=[(a, "0001"), (b, "0002"), (e, "0003"), (f, "0004")],
    )
    _, newer = await seed_file(admin, partner.id, icn="000004602", gcn="4602", claims=[(e, "0001")])
    _, theirs = await seed_file(admin, other.id, icn="000004603", gcn="4603", claims=[(f, "0001")])
    earlier = datetime.now(UTC) - timedelta(hours=2)
    for claim_id in (ours[e], ours[f]):
        await admin.execute(
            "UPDATE gateway.outbound_claims SET submitted_at = $1 WHERE claim_id = $2", earlier, claim_id
        )
    content = make_277ca_answers(
        [
            (a, "A7:562:85", q_a1),  # rejected
            (a, "A2:20", q_a2),  # the same claim accepted later in the file: it stays rejected
            (b, "A2:20", q_b),
            (x, "A2:20", q_b),  # a PCN we never filed: matched by the REF*1K B got above
            (y, "A2:20", unique("QY")),  # matched by nothing: a warning
            (e, "A2:20", None),  # two filings of E: the newer one is answered
            (f, "A3:21", None),  # F of this partner (older) before F of another partner (newer)
        ]
    )
    async with gateway() as (app, client):
        app.state.gateway_partners += [partner, other]
        response = await post_file(client, content, partner_id=partner.id)
    assert response.status_code == 201, response.text
    assert response.json()["counts"] == {"claims": 7, "matched": 6, "accepted": 4, "rejected": 2}
    rows = {
        name: await claim_row(admin, claim_id)
        for name, claim_id in (
            ("A", ours[a]),
            ("B", ours[b]),
            ("E old", ours[e]),
            ("E new", newer[e]),
            ("F ours", ours[f]),
            ("F theirs", theirs[f]),
        )
    }
    answered = {
        n: (r["ack_state"], r["ack_source"], r["payer_claim_control_number"]) for n, r in rows.items()
    }
    assert answered == {
        "A": ("rejected", "277CA", q_a1),
        "B": ("accepted", "277CA", q_b),
        "E old": ("pending", None, None),
        "E new": ("accepted", "277CA", None),
        "F ours": ("rejected", "277CA", None),
        "F theirs": ("pending", None, None),
    }
    keys = {str(i) for i in (ours[a], ours[b], newer[e], ours[f])}
    acknowledged = await staged(admin, "claim.acknowledged.v1", keys)
    assert sorted(e["claim_id"] for e in acknowledged) == sorted(
        [str(ours[a]), str(ours[b]), str(ours[b]), str(newer[e])]
    )
    rejected = await staged(admin, "claim.rejected.v1", keys)
    assert sorted(e["claim_id"] for e in rejected) == sorted([str(ours[a]), str(ours[f])])


async def _statements_for(gateway_db: Any, admin: Any, kind: str, claims: int) -> int:
    """The statements the inbound processing of a 277CA accepting `claims` claims, or of a
    999 rejecting every other set of a `claims`-set group, makes."""
    from services.gateway.inbound import store as inbound_store, usecases as inbound

    partner = make_partner()
    pcns = [unique("N")[:17] for _ in range(claims)]
    gcn = str(random.randint(10_000, 99_999_999))
    await seed_file(
        admin, partner.id, icn=f"{gcn:0>9}", gcn=gcn, claims=[(p, f"{n:04d}") for n, p in enumerate(pcns, 1)]
    )
    if kind == "277CA":
        content = make_277ca_answers([(p, "A2:20", unique("Q")) for p in pcns])
    else:
        content = make_999_sets(gcn, ["R" if n % 2 else "A" for n in range(claims)])
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    async with gateway_db.session() as session, session.begin():
        kept = await inbound.keep(
            session,
            partner_id=partner.id,
            source="upload",
            remote_name=f"{pcns[0]}.{kind}",
            content=content,
            actor="test",
        )
        row = await inbound_store.file_by_id(session, kept.file_id)
        event.listen(gateway_db.engine.sync_engine, "before_cursor_execute", count)
        try:
            outcome = await inbound.process(session, row, {})
        finally:
            event.remove(gateway_db.engine.sync_engine, "before_cursor_execute", count)
    done = outcome.counts["accepted"] if kind == "277CA" else outcome.counts["claims_rejected"] * 2
    assert outcome.review is None and done == claims, outcome
    return len(seen)


async def test_a_277ca_makes_as_many_statements_for_40_claims_as_for_2(gateway_db, admin) -> None:
    few = await _statements_for(gateway_db, admin, "277CA", 2)
    many = await _statements_for(gateway_db, admin, "277CA", 40)
    assert many == few, f"{few} statements for 2 claims, {many} for 40: the reader works claim by claim"


async def test_a_999_makes_as_many_statements_rejecting_20_sets_as_1(gateway_db, admin) -> None:
    few = await _statements_for(gateway_db, admin, "999", 2)
    many = await _statements_for(gateway_db, admin, "999", 40)
    assert many == few, f"{few} statements rejecting 1 set, {many} rejecting 20: the reader works set by set"
