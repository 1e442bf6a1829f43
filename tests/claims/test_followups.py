"""The follow-up list's `as_of`: a plain date is the end of that day (UTC), as a billing
office reads "overdue as of January 10th"; a naive time is UTC. Both were a 500 (naive
compared with aware datetimes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.claims.helpers import make_claim, post_submitted_claim
from tests.conftest import token, unique

pytestmark = pytest.mark.usefixtures("claims_consumer_from_now")
RW = token("claims:read", "claims:write")


async def get_followup_ids(client, as_of: str) -> list[str]:
    answer = await client.get("/v1/followups", params={"as_of": as_of, "payer_id": "SBX001"}, headers=RW)
    assert answer.status_code == 200, answer.text
    return [f["claim_id"] for f in answer.json()["items"]]


async def test_followups_as_of_takes_a_plain_date_as_the_end_of_that_day(claims, settings):
    async with claims(events=False) as (_, client):
        claim = await post_submitted_claim(client, settings, make_claim(unique("pat")))
        submitted = datetime.fromisoformat(claim["submitted_at"])
        due_day = (submitted + timedelta(days=30)).astimezone(UTC).date()  # SBX001: 30 days
        assert claim["id"] in await get_followup_ids(client, (due_day + timedelta(days=1)).isoformat())
        assert claim["id"] in await get_followup_ids(client, due_day.isoformat())
        assert claim["id"] not in await get_followup_ids(client, (due_day - timedelta(days=1)).isoformat())
        naive = (submitted + timedelta(days=31)).astimezone(UTC).replace(tzinfo=None).isoformat()
        assert claim["id"] in await get_followup_ids(client, naive)
        not_a_date = await client.get("/v1/followups", params={"as_of": "soon"}, headers=RW)
        assert not_a_date.status_code == 422 and not_a_date.json()["errors"][0]["field"] == "query.as_of"
