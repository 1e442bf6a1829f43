"""Payer sandbox, EHR partner: the generator publishes valid encounter.completed events at
a set rate, deterministically per seed; the test counts its own encounters on the broker."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from deploy.payer_sandbox import ehr
from deploy.payer_sandbox.data import default_tables
from shared.events.envelope import decode, encode, new_event
from tests.conftest import end_offsets, read_from

TOPIC = "encounter.completed"


def test_same_seed_same_encounters_and_valid_partner_data() -> None:
    first = list(ehr.encounters(7, 200, run_id="det", scenario_share=0.2))
    again = list(ehr.encounters(7, 200, run_id="det", scenario_share=0.2))
    other = list(ehr.encounters(8, 200, run_id="det", scenario_share=0.2))
    assert first == again
    assert first != other
    tables = default_tables()
    member_format = re.compile(tables.member_id_format.pattern)
    members_from_table: set[str] = set()
    for encounter in first:
        # Round trip through the envelope: what a consumer will validate.
        topic, key, value, headers = encode(new_event(encounter, source=ehr.SOURCE))
        decoded = decode(topic, key, value, headers).data
        assert decoded == encounter
        assert encounter.patient is not None and encounter.coverages
        assert encounter.coverages[0].payer_id == encounter.payer_id
        for coverage in encounter.coverages:
            assert member_format.fullmatch(coverage.member_id)
            assert tables.scenario(coverage.member_id) is not None  # the sandbox knows the member
            assert tables.payer(coverage.payer_id) is not None
        assert all(line.code in ehr.CHARGES for line in encounter.lines)
        if encounter.coverages[0].member_id in tables.members:
            members_from_table.add(encounter.coverages[0].member_id)
        assert max(p for line in encounter.lines for p in line.diagnosis_pointers) <= len(encounter.diagnoses)
    assert members_from_table <= set(ehr.SCENARIO_MEMBERS) and members_from_table  # --scenario-share
    # Different runs do not share generated members (no false duplicate claims across runs).
    generated = {e.coverages[0].member_id for e in first if e.coverages[0].member_id.startswith("SBXG")}
    other_run = {e.coverages[0].member_id for e in ehr.encounters(7, 200, run_id="another")}
    assert not generated & other_run


async def test_generator_publishes_1000_encounters_at_a_set_rate(servers: Any) -> None:
    bootstrap = servers.kafka_bootstrap
    run_id = "t" + uuid.uuid4().hex[:10]
    start = await end_offsets(bootstrap, TOPIC)
    result = await ehr.publish(servers.partner("ehr"), 1000, rate=500, seed=7, run_id=run_id)
    prefix = f"enc-{run_id}-".encode()

    def mine(records: list[Any]) -> set[bytes]:
        return {r.key for r in records if r.key and r.key.startswith(prefix)}

    records = await read_from(bootstrap, TOPIC, start, until=lambda rs: len(mine(rs)) >= 1000, timeout=60)
    assert len(mine(records)) == 1000
    payloads = [json.loads(r.value) for r in records if r.key and r.key.startswith(prefix)]
    assert len(payloads) == 1000  # each once
    print(
        f"\n[ehr generator: 1000 encounters, target 500/s, reached {result.rate:.0f}/s"
        f" in {result.seconds:.2f} s]"
    )
    assert result.count == 1000


async def test_generator_bulk_mode(servers: Any) -> None:
    bootstrap = servers.kafka_bootstrap
    run_id = "b" + uuid.uuid4().hex[:10]
    start = await end_offsets(bootstrap, TOPIC)
    result = await ehr.publish(servers.partner("ehr"), 200, rate=0, seed=11, run_id=run_id)
    prefix = f"enc-{run_id}-".encode()
    records = await read_from(
        bootstrap,
        TOPIC,
        start,
        until=lambda rs: len({r.key for r in rs if r.key and r.key.startswith(prefix)}) >= 200,
        timeout=60,
    )
    assert len({r.key for r in records if r.key and r.key.startswith(prefix)}) == 200
    print(f"\n[ehr generator bulk: 200 encounters at {result.rate:.0f}/s]")
