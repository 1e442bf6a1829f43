"""835 posting benchmark: one generated 835 with 10,000 CLPs.

`python -m bench.payments [--claims 10000] [--repeat 3] [--no-pyx12]` measures, in one run:

  A. parse only, our parser (`services.payments.remittances.x12.parse_835`, on shared/x12);
  B. parse only, x12sdk (`X12ModelReader(...).models()`, typed pydantic 005010X221A1 models);
  C. parse + validate with pyx12 (`x12n_document` against its 835 map; the full walk it does);
  D. posting: the real `receipts.usecases.receive()` (kept, then posted) on PostgreSQL (payments schema,
     as the payments_svc role): matching by patient control number, ledger rows, claim
     postings, unmatched rows and one `payment.posted` outbox row per claim, then COMMIT.

Parse times are the best of `--repeat` runs. It prints claims/s for D and the ratios B÷A and
C÷A. It reports and never judges (no assertions).

Isolation: its own database (`<db>_bench_payments`, dropped and recreated), so running
services and tests are not disturbed; the outbox rows it writes are never published.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import urlsplit

import httpx

from bench.common import drop_database, fresh_database
from services.payments.receipts.usecases import receive
from services.payments.remittances.x12 import parse_835
from services.payments.service import SERVICE
from shared import x12
from shared.app import create_app
from shared.auth import mint_token
from shared.config import Settings, service_database_url
from shared.db import Database
from shared.migrate import migrate

PAYER = "SBX001"


def generate_835(claims: int, prefix: str = "B") -> tuple[str, list[str]]:
    """A balanced 835: mostly paid claims with one service line, every 10th denied, and
    every 50th for a claim we never submitted (it lands in the unmatched queue)."""
    body: list[list[str]] = []
    total = Decimal(0)
    detail: list[list[str]] = [x12.seg("LX", "1")]
    pcns = []
    for i in range(claims):
        pcn = f"{prefix}{i:09d}"
        pcns.append(pcn)
        if i % 10 == 9:
            detail += [
                x12.seg("CLP", pcn, "4", "150", "0", "", "12", f"ICN{i}"),
                x12.seg("NM1", "QC", "1", "DOE", "JANE", "", "", "", "MI", f"M{i}"),
                x12.seg("SVC", "HC:99213", "150", "0", "", "1"),
                x12.seg("DTM", "472", "20260105"),
                x12.seg("CAS", "CO", "50", "150"),
                x12.seg("LQ", "HE", "N115"),
            ]
            continue
        detail += [
            x12.seg("CLP", pcn, "1", "150", "100", "20", "12", f"ICN{i}"),
            x12.seg("NM1", "QC", "1", "DOE", "JANE", "", "", "", "MI", f"M{i}"),
            x12.seg("SVC", "HC:99213:25", "150", "100", "", "1"),
            x12.seg("DTM", "472", "20260105"),
            x12.seg("CAS", "PR", "1", "20"),
            x12.seg("CAS", "CO", "45", "30"),
            x12.seg("AMT", "B6", "120"),
        ]
        total += 100
    body.append(
        x12.seg(
            "BPR",
            "I",
            x12.amount(total),
            "C",
            "ACH",
            "CCP",
            "01",
            "999999999",
            "DA",
            "123456",
            "1999999999",
            "",
            "01",
            "888888888",
            "DA",
            "654321",
            "20260110",
        )
    )
    body.append(x12.seg("TRN", "1", f"BENCH{uuid.uuid4().hex[:10].upper()}", "1999999999"))
    body.append(x12.seg("DTM", "405", "20260110"))
    body.append(x12.seg("N1", "PR", "SANDBOX HEALTH PLAN"))
    body.append(x12.seg("N3", "1 PLAN WAY"))
    body.append(x12.seg("N4", "CAPITAL", "NY", "10001"))
    body.append(x12.seg("REF", "2U", PAYER))
    body.append(x12.seg("PER", "BL", "EDI", "TE", "8005551212"))
    body.append(x12.seg("N1", "PE", "BENCH CLINIC", "XX", "1234567893"))
    body.append(x12.seg("N3", "2 CLINIC ROAD"))
    body.append(x12.seg("N4", "CAPITAL", "NY", "10001"))
    body.append(x12.seg("REF", "TJ", "123456789"))
    body += detail
    text = x12.build(
        [body],
        transaction_code="835",
        functional_id="HP",
        version="005010X221A1",
        sender_id=PAYER,
        receiver_id="CLINIC",
        control_number=42,
    )
    # The 835 guide marks ST03 "not used" (pyx12's map refuses it); shared.x12.build writes it.
    return text.replace("ST*835*0001*005010X221A1~", "ST*835*0001~"), pcns


def best_of(repeat: int, fn) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def parse_ours(text: str) -> None:
    (remittance,) = parse_835(text)
    assert len(remittance.claims) > 0


def parse_x12sdk(text: str) -> None:
    from x12sdk.io import X12ModelReader

    with X12ModelReader(text) as reader:
        models = list(reader.models())
    assert models


def parse_pyx12(text: str) -> None:
    import pyx12.error_handler
    import pyx12.params
    import pyx12.x12n_document

    params = pyx12.params.params()
    with tempfile.NamedTemporaryFile("w", suffix=".835", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        ok = pyx12.x12n_document.x12n_document(params, path, None, None, None)
    finally:
        os.unlink(path)
    assert ok, "pyx12 found the generated 835 invalid"


@dataclass
class Posted:
    seconds: float
    http_seconds: float
    http_status: int
    counts: dict[str, int]


async def _claim_copies(db: Database, pcns: list[str]) -> None:
    """What claim.submitted would have left: a copy of 49 of every 50 claims."""
    raw = await db.connect_raw()
    try:
        await raw.executemany(
            "INSERT INTO claim_copies (claim_id, patient_control_number, patient_id, account_id, "
            "payer_id, coverage_order, frequency_code, total_charge, date_of_service, submitted_at) "
            "VALUES ($1, $2, $3, $3, $4, 'primary', '1', 150, $5, $6)",
            [
                (uuid.uuid4(), p, f"acct-{p}", PAYER, date(2026, 1, 5), datetime.now(UTC))
                for i, p in enumerate(pcns)
                if i % 50 != 49
            ],
        )
    finally:
        await raw.close()


async def bench_posting(text: str, pcns: list[str], http_text: str, http_pcns: list[str]) -> Posted:
    """D: `receipts.usecases.receive()` (the file kept, then posted); E: the same through
    `POST /v1/remittances` (the real app over in-process ASGI, without its relay: events stay in
    the outbox)."""
    base = os.environ.get("DATABASE_URL", "postgresql://revcycle:revcycle@127.0.0.1:55432/revcycle")
    name = f"{urlsplit(base).path.lstrip('/') or 'revcycle'}_bench_payments"
    url = await fresh_database(base, name)
    settings = Settings(database_url=url, log_level="WARNING")
    await asyncio.to_thread(migrate, ["payments"], settings, topics=False)
    db = Database(service_database_url("payments", settings), "payments", pool_size=4)
    try:
        await _claim_copies(db, pcns)
        await _claim_copies(db, http_pcns)
        async with db.session() as session:
            started = time.perf_counter()
            await receive(session, text, actor="bench")
            elapsed = time.perf_counter() - started

        app = create_app(SERVICE, settings)
        app.state.db = db  # no lifespan: no relay, no consumers, nothing reaches Kafka
        headers = {
            "Authorization": f"Bearer {mint_token(['payments:write'], settings=settings)}",
            "Content-Type": "application/edi-x12",
        }
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://payments", timeout=300) as client:
            started = time.perf_counter()
            response = await client.post("/v1/remittances", content=http_text, headers=headers)
            http_elapsed = time.perf_counter() - started
        raw = await db.connect_raw()
        try:
            counts = {
                t: await raw.fetchval(f"SELECT count(*) FROM {t}")
                for t in ("claim_postings", "unmatched_claims", "ledger_entries", "outbox")
            }
        finally:
            await raw.close()
        return Posted(elapsed, http_elapsed, response.status_code, counts)
    finally:
        await db.dispose()
        await drop_database(base, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pyx12", action="store_true", help="Skip pyx12 (slowest).")
    args = parser.parse_args()

    text, pcns = generate_835(args.claims)
    print(f"835: {args.claims} CLPs, {text.count('~')} segments, {len(text) / 1e6:.1f} MB")
    ours = best_of(args.repeat, lambda: parse_ours(text))
    sdk = best_of(args.repeat, lambda: parse_x12sdk(text))
    rows = [("A our parser (shared/x12 + remittances/x12)", ours, 1.0), ("B x12sdk models", sdk, sdk / ours)]
    if not args.no_pyx12:
        py = best_of(1, lambda: parse_pyx12(text))
        rows.append(("C pyx12 x12n_document (validate)", py, py / ours))
    http_text, http_pcns = generate_835(args.claims, prefix="H")
    posted = asyncio.run(bench_posting(text, pcns, http_text, http_pcns))
    print(f"\n{'parse only':38} {'seconds':>9} {'x ours':>8}")
    for label, seconds, ratio in rows:
        print(f"{label:38} {seconds:9.3f} {ratio:8.1f}")
    print(
        f"\nD posting (parse + match + ledger + outbox, one transaction): {posted.seconds:.2f} s, "
        f"{args.claims / posted.seconds:,.0f} claims/s"
    )
    print(
        f"E POST /v1/remittances (same, plus HTTP, auth, audit, summary): {posted.http_seconds:.2f} s, "
        f"{args.claims / posted.http_seconds:,.0f} claims/s (HTTP {posted.http_status})"
    )
    print("  rows after D and E: " + ", ".join(f"{k} {v:,}" for k, v in posted.counts.items()))


if __name__ == "__main__":
    main()
