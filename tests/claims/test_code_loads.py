"""Code data is data: an operator loads CMS files (NCCI PTP, MUE, HCPCS Level II) with a
command, each load is a version effective from a date, and the running service's scrubber uses
the version in effect on each claim's date of service, with no code change and no restart.
On real PostgreSQL; the command runs as the operator would run it, in its own process."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from services.claims.claims import domain as claims_domain
from services.claims.claims.schemas import ClaimData
from services.claims.codesets.usecases import STARTER, starter_text
from services.claims.scrubbing import usecases as scrubbing
from tests.claims.helpers import get_claim, make_claim, make_eligibility, make_recent_date
from tests.conftest import connect_as, token, unique

RW = token("claims:read", "claims:write")
ROOT = Path(__file__).resolve().parents[2]


async def run_codes(settings: Any, *args: str) -> tuple[int, str]:
    """`python -m services.claims.codesets.usecases ARGS` against the test database."""
    env = {**os.environ, "DATABASE_URL": settings.database_url, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.claims.codesets.usecases",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode()


async def load(settings: Any, kind: str, path: Path, effective: date) -> int:
    """Load a file; returns the new version's id."""
    rc, out = await run_codes(
        settings, "load", "--kind", kind, str(path), "--effective", effective.isoformat()
    )
    assert rc == 0, out
    return int(re.search(r"version (\d+)", out).group(1))


def starter_plus(tmp_path: Path, kind: str, extra: str, name: str) -> Path:
    """Next quarter's file: the shipped one with more rows (CMS publishes whole files)."""
    shipped = next(n for k, n, _ in STARTER if k == kind)
    path = tmp_path / name
    path.write_text(starter_text(shipped).rstrip("\n") + "\n" + extra)
    return path


def terminate(tmp_path: Path, code: str, last_day: date) -> Path:
    """The shipped HCPCS file with `code` terminated after `last_day` (TERM DT, ACTION CD D)."""
    shipped = next(n for k, n, _ in STARTER if k == "hcpcs")
    rows = list(csv.DictReader(io.StringIO(starter_text(shipped))))
    for row in rows:
        if row["HCPC"] == code:
            row["TERM DT"], row["ACTION CD"] = last_day.strftime("%Y%m%d"), "D"
    path = tmp_path / "hcpcs.csv"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


async def scrub(client: Any, claim_id: str) -> dict[str, list[str]]:
    resp = await client.post(f"/v1/claims/{claim_id}/scrub", headers=RW)
    assert resp.status_code == 200, resp.text
    found: dict[str, list[str]] = {}
    for f in resp.json()["findings"]:
        found.setdefault(f["edit"], []).append(f["field"])
    return found


async def post_claim(client: Any, settings: Any, lines: list[tuple[str, str]]) -> str:
    body = make_claim(unique("pat"))
    first = body["lines"][0]
    body["lines"] = [
        {**first, "code": code, "modifiers": [], "units": units, "diagnosis_pointers": [1]}
        for code, units in lines
    ]
    await make_eligibility(settings, body["patient_id"], body["payer_id"], first["date_of_service"])
    resp = await client.post("/v1/claims", json=body, headers=RW)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


async def test_a_cms_code_data_load_changes_what_the_scrubber_catches_with_no_code_change(
    claims, settings, tmp_path
):
    """Must show (issue 14): a new NCCI PTP version makes a clean claim fail; a later version
    whose row carries a deletion date makes it pass again."""
    dos = date.fromisoformat(make_recent_date())
    versions: list[int] = []
    async with claims(events=False) as (_, client):
        claim_id = await post_claim(client, settings, [("97530", "1"), ("97116", "1")])
        assert await scrub(client, claim_id) == {}
        try:
            added = starter_plus(
                tmp_path,
                "ncci-ptp",
                f"97530,97116,,{(dos - timedelta(days=30)):%Y%m%d},*,0,Mutually exclusive procedures\n",
                "ccipra-next.csv",
            )
            versions.append(await load(settings, "ncci-ptp", added, dos - timedelta(days=7)))
            assert await scrub(client, claim_id) == {"ncci_ptp": ["lines.1.code"]}
            # The claim says which version it was checked against.
            used = (await get_claim(client, claim_id))["scrub"]["code_data"]["ncci-ptp"]
            assert used == {"version": versions[0], "effective_date": (dos - timedelta(days=7)).isoformat()}

            deleted = starter_plus(
                tmp_path,
                "ncci-ptp",
                f"97530,97116,,{(dos - timedelta(days=30)):%Y%m%d},{(dos - timedelta(days=1)):%Y%m%d},0,"
                "Mutually exclusive procedures\n",
                "ccipra-after.csv",
            )
            versions.append(await load(settings, "ncci-ptp", deleted, dos - timedelta(days=2)))
            assert await scrub(client, claim_id) == {}
        finally:
            for version in versions:
                rc, out = await run_codes(settings, "withdraw", str(version))
                assert rc == 0, out


async def test_mue_and_hcpcs_loads_change_the_unit_limit_and_the_valid_codes(claims, settings, tmp_path):
    dos = date.fromisoformat(make_recent_date())
    effective = dos - timedelta(days=5)
    versions: list[int] = []
    async with claims(events=False) as (_, client):
        claim_id = await post_claim(client, settings, [("97110", "3"), ("J1100", "4")])
        assert await scrub(client, claim_id) == {}
        try:
            mue = starter_plus(tmp_path, "mue", "", "mue.csv")
            mue.write_text(re.sub(r"(?m)^97110,\d+,", "97110,2,", mue.read_text()))
            versions.append(await load(settings, "mue", mue, effective))
            assert await scrub(client, claim_id) == {"mue_units": ["lines.0.units"]}

            hcpcs = terminate(tmp_path, "J1100", dos - timedelta(days=1))
            versions.append(await load(settings, "hcpcs", hcpcs, effective))
            found = await scrub(client, claim_id)
            assert found == {"mue_units": ["lines.0.units"], "procedure_code": ["lines.1.code"]}
        finally:
            for version in versions:
                rc, out = await run_codes(settings, "withdraw", str(version))
                assert rc == 0, out
        assert await scrub(client, claim_id) == {}


async def test_loading_the_same_file_again_adds_no_version_and_a_broken_file_loads_nothing(
    settings, tmp_path
):
    shipped = tmp_path / "mue.csv"
    shipped.write_text(starter_text(next(n for k, n, _ in STARTER if k == "mue")))
    start = next(e for k, _, e in STARTER if k == "mue")
    rc, out = await run_codes(
        settings, "load", "--kind", "mue", str(shipped), "--effective", start.isoformat()
    )
    assert rc == 0 and "already loaded" in out, out

    broken = tmp_path / "broken.csv"
    broken.write_text(shipped.read_text() + "99999,lots,1 Line Edit,Oops\n")
    rc, out = await run_codes(settings, "load", "--kind", "mue", str(broken), "--effective", "2026-01-01")
    assert rc != 0 and "line" in out, out
    conn = await connect_as("claims", settings)
    try:
        assert await conn.fetchval("SELECT count(*) FROM code_data_loads WHERE kind = 'mue'") == 1
    finally:
        await conn.close()

    rc, out = await run_codes(settings, "list")
    assert rc == 0 and all(kind in out for kind, _, _ in STARTER), out


async def test_the_shipped_starter_set_is_loaded_by_the_migrations(settings):
    conn = await connect_as("claims", settings)
    try:
        rows = await conn.fetch("SELECT kind, effective_date, row_count FROM code_data_loads ORDER BY kind")
    finally:
        await conn.close()
    assert {(r["kind"], r["effective_date"]) for r in rows} == {(k, e) for k, _, e in STARTER}
    assert all(r["row_count"] >= 100 for r in rows)


async def test_wrong_primary_is_caught_from_our_copy_of_the_eligibility_check(claims, settings):
    """SBX001's 271 names SBX002 as primary (2120C NM1*PRP): a primary claim to SBX001 is held."""
    async with claims(events=False) as (_, client):
        body = make_claim(unique("pat"))
        dos = body["lines"][0]["date_of_service"]
        await make_eligibility(
            settings, body["patient_id"], "SBX001", dos, [{"payer_id": "SBX002", "order": "primary"}]
        )
        claim_id = (await client.post("/v1/claims", json=body, headers=RW)).json()["id"]
        assert await scrub(client, claim_id) == {"wrong_primary": ["coverage_order"]}


async def test_a_batch_of_claims_reads_its_code_data_in_as_many_statements_as_one_claim(claims, settings):
    """The encounter handler scrubs a poll's claims together: the code data for all of them
    comes from a fixed number of statements, however many claims and codes there are."""

    def make_claims(n: int) -> list[Any]:
        items = []
        for i in range(n):
            data = ClaimData.model_validate(make_claim(unique("pat")))
            data.lines[1].code = ["93000", "36415", "85025", "97110", "20610"][i % 5]
            items.append((claims_domain.new_claim(data, "test"), data))
        return items

    async def statements(n: int) -> int:
        count = 0
        mine: list[Any] = []

        def counter(conn: Any, *_: Any) -> None:
            # Only this session's statements: the app's workers share the engine meanwhile.
            nonlocal count
            if mine and conn is mine[0]:
                count += 1

        engine = app.state.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            async with app.state.db.session() as session:
                mine.append((await session.connection()).sync_connection)
                await scrubbing.scrub_contexts(session, make_claims(n))
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        return count

    async with claims(events=False) as (app, _):
        assert await statements(1) == await statements(40)
