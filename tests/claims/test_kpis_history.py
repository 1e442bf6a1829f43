"""The KPIs at history scale stay exact (issue 16, item 9).

The KPIs read the range's claims in one pass and open A/R from ar_open_totals, a sum a trigger
keeps as A/R rows are written. Both are checked here against the plain definition: a loaded
history (bench/history_load.py, the benchmark's generator at a small size: every status,
resubmissions, denials, partial payments, A/R rows) counted claim by claim in Python, and the
kept totals against a from-scratch sum of every A/R row after a mix of changes made through
the service (a charge, a payment, its reversal, the bulk load's multi-payer statement).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from bench.history_load import STEPS
from services.claims.reports.schemas import Kpis, Rate
from tests.claims.helpers import (
    get_claim_if,
    make_claim,
    make_insurer_payment,
    post_submitted_claim,
    publish,
)
from tests.conftest import eventually, token, unique

READ = token("claims:read")
START, DAYS, CLAIMS = datetime(2015, 1, 1, tzinfo=UTC), 400, 3000
RANGE = (date(2015, 3, 1), date(2015, 12, 31))
SETBACK = ("rejected", "denied", "partial")


def rate(n: int, d: int) -> Rate:
    return Rate(numerator=n, denominator=d, rate=round(n / d, 4) if d else None)


async def load_history(admin: Any, tag: str) -> None:
    await admin.execute("SET search_path TO claims")
    try:
        for table, sql in STEPS:
            args = (START, CLAIMS, DAYS, tag) if table == "claims" else (tag,)
            await admin.execute(sql, *args)
        # The loader's x12_837 is a stand-in of realistic size for the bench, not an 837P the
        # platform wrote; test_every_837 validates every stored 837P, so the test's copy has none
        # (the KPIs never read it).
        await admin.execute(
            "UPDATE claims SET x12_837 = NULL "
            "WHERE x12_837 LIKE 'ISA*00*          *00*          *ZZ*SUBMITTER %'"
        )
    finally:
        await admin.execute("RESET search_path")


async def expected_kpis(admin: Any, payer_id: str | None) -> Kpis:
    """The KPIs by their definition, one claim at a time."""
    start, end = RANGE
    claims = [
        c
        for c in await admin.fetch(
            "SELECT id, payer_id, status, first_scrub_clean, submission_count, adjudicated_at, "
            "total_charge, created_at FROM claims.claims"
        )
        if start <= c["created_at"].astimezone(UTC).date() <= end and payer_id in (None, c["payer_id"])
    ]
    ids = {c["id"] for c in claims}
    setback = {
        r["claim_id"]
        for r in await admin.fetch("SELECT claim_id, to_status FROM claims.claim_status_history")
        if r["to_status"] in SETBACK
    }
    adjudicated = [c for c in claims if c["adjudicated_at"] is not None]
    first_pass = [c for c in adjudicated if c["submission_count"] == 1 and c["id"] not in setback]
    by_reason: dict[str, set[Any]] = defaultdict(set)
    by_payer: dict[str, set[Any]] = defaultdict(set)
    for d in await admin.fetch("SELECT claim_id, reason_code, payer_id FROM claims.denials"):
        if d["claim_id"] in ids:
            by_reason[d["reason_code"]].add(d["claim_id"])
            by_payer[d["payer_id"]].add(d["claim_id"])
    denied = set().union(*by_reason.values())
    open_ar = sum(
        (
            r["amount"]
            for r in await admin.fetch("SELECT payer_id, amount FROM claims.ar_entries")
            if payer_id in (None, r["payer_id"])
        ),
        Decimal(0),
    )
    daily = sum((c["total_charge"] for c in claims), Decimal(0)) / ((end - start).days + 1)
    statuses: dict[str, int] = defaultdict(int)
    for c in claims:
        statuses[c["status"]] += 1
    scrubbed = [c for c in claims if c["first_scrub_clean"] is not None]
    return Kpis(
        date_from=start,
        date_to=end,
        claims_created=len(claims),
        clean_claim_rate=rate(sum(1 for c in scrubbed if c["first_scrub_clean"]), len(scrubbed)),
        first_pass_resolution_rate=rate(len(first_pass), len(adjudicated)),
        denial_rate=rate(len(denied), len(adjudicated)),
        denial_rate_by_reason={r: rate(len(s), len(adjudicated)) for r, s in sorted(by_reason.items())},
        denial_rate_by_payer={
            p: rate(len(s), sum(1 for c in adjudicated if c["payer_id"] == p))
            for p, s in sorted(by_payer.items())
        },
        days_in_ar=round(float(open_ar / daily), 1) if daily else None,
        open_ar=open_ar,
        claims_submitted=sum(1 for c in claims if c["submission_count"] > 0),
        claims_by_status=dict(sorted(statuses.items())),
    )


async def open_totals(admin: Any) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """(kept, from scratch): what each payer owes by ar_open_totals and by every A/R row."""
    kept = await admin.fetch("SELECT payer_id, sum(owed) AS owed FROM claims.ar_open_totals GROUP BY 1")
    scratch = await admin.fetch("SELECT payer_id, sum(amount) AS owed FROM claims.ar_entries GROUP BY 1")
    return (
        {r["payer_id"]: r["owed"] for r in kept if r["owed"] != 0},
        {r["payer_id"]: r["owed"] for r in scratch if r["owed"] != 0},
    )


async def test_the_kpis_of_a_loaded_history_equal_a_count_claim_by_claim(claims, admin):
    await load_history(admin, "K")
    async with claims(events=False) as (_, client):
        for payer_id in (None, "PAYER03"):
            params = {"date_from": RANGE[0].isoformat(), "date_to": RANGE[1].isoformat()}
            if payer_id:
                params["payer_id"] = payer_id
            answer = await client.get("/v1/reports/kpis", params=params, headers=READ)
            assert answer.status_code == 200, answer.text
            got = Kpis.model_validate(answer.json())
            assert got.claims_created > 100 and got.denial_rate.numerator > 0
            assert got == await expected_kpis(admin, payer_id), payer_id


@pytest.mark.usefixtures("claims_consumer_from_now")
@pytest.mark.sweep
async def test_kept_open_totals_equal_every_ar_row_summed_after_a_mix_of_changes(
    claims, settings, producer, admin
):
    """Runs after the other tests (sweep), so their postings, reversals, voids and corrections
    are in the sum too."""
    async with claims() as (_, client):
        claim = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        ccn = unique("ICN").upper()
        await publish(
            producer, make_insurer_payment(claim, paid="140.00", ccn=ccn, adjustments=[("CO", "45", "35.00")])
        )
        await eventually(lambda: get_claim_if(client, claim["id"], "paid"), what="paid")
        reversal = make_insurer_payment(
            claim,
            paid="-140.00",
            status_code="22",
            ccn=ccn,
            charge="-175.00",
            adjustments=[("CO", "45", "-35.00")],
        )
        await publish(producer, reversal)
        await eventually(lambda: get_claim_if(client, claim["id"], "accepted"), what="reopened")
    await load_history(admin, "S")
    kept, scratch = await open_totals(admin)
    assert kept == scratch
    assert scratch.get(claim["payer_id"]) is not None
