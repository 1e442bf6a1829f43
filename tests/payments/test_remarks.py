"""Remittance advice remark codes (RARCs) travel with the adjudication.

835 005010X221A1 carries RARCs in three places: loop 2100 MOA03-MOA07 (outpatient
adjudication, the claim's remarks), loop 2100 MIA05 and MIA20-MIA23 (inpatient), and loop 2110
LQ*HE (a service line's remarks). A denial is worked from them (CARC 16 says only "lacks
information"; the RARC says which), so none may be lost between the 835 and payment.posted.
"""

from __future__ import annotations

import json

from shared import x12
from tests.conftest import end_offsets, read_from, unique
from tests.payments.helpers import make_835, make_clp, make_svc, post_835, submit_claim, wait_for_charge


def make_denied_claim_with_remarks(pcn: str) -> list[list[str]]:
    """CLP02 4 (denied), MOA with two claim remarks (MOA03, MOA04) and two lines: one denied
    CO-197 with LQ*HE*M62 (missing authorization code), one denied CO-16 with LQ*HE*N290
    (missing rendering provider identifier) and LQ*HE*M62 again."""
    claim = make_clp(pcn, "4", "175.00", "0.00", pccn="ICN-RARC-1")
    claim.append(x12.seg("MOA", "", "", "MA01", "MA18"))
    claim += make_svc("HC:70553", "125.00", "0.00", [("CO", "197", "125.00")])
    claim.append(x12.seg("LQ", "HE", "M62"))
    claim += make_svc("HC:99213", "50.00", "0.00", [("CO", "16", "50.00")])
    claim.append(x12.seg("LQ", "HE", "N290"))
    claim.append(x12.seg("LQ", "HE", "M62"))
    return claim


async def test_claim_and_line_remark_codes_reach_payment_posted(service, producer, servers):
    account, pcn, trace = unique("acct"), unique("P")[:17], unique("TRN")
    start = await end_offsets(servers.kafka_bootstrap, "payment.posted")
    async with service("payments") as (_, client):
        claim_id = await submit_claim(producer, pcn=pcn, account=account, payer="SBX001", charge="175.00")
        await wait_for_charge(client, account, "175.00")
        resp = await post_835(client, make_835(trace, [make_denied_claim_with_remarks(pcn)], amount="0.00"))
        assert resp.status_code == 201, resp.text
        records = await read_from(
            servers.kafka_bootstrap,
            "payment.posted",
            start,
            until=lambda rs: any(r.key == str(claim_id).encode() for r in rs),
        )
    (posted,) = [json.loads(r.value) for r in records if r.key == str(claim_id).encode()]
    # The claim's own remarks (MOA) as before; the lines' (LQ*HE) in line order, once each.
    assert posted["remark_codes"] == ["MA01", "MA18"]
    assert posted.get("line_remark_codes") == ["M62", "N290"]
