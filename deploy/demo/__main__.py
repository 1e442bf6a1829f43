"""A day in the clinic, on the running platform (`make up`, then `make demo`).

    python -m deploy.demo [--encounters 300] [--rate 50] [--scenario-share 0.2]
                          [--institutional-share 0.15] [--seed 7]

1. registers the sandbox practice's providers in the claims service's provider registry (the
   EHR's encounters name them by NPI only), and the practice's billing manager and the day's
   patients in notifications;
2. the sandbox EHR sends the day's encounters (`encounter.completed`), with a share of
   patients on scenario members so there are denials and secondary claims, and a share of
   encounters the hospital's (inpatient stays, outpatient and emergency visits: 837I claims);
3. waits until the pipeline settles: every encounter became a claim, no claim is still
   waiting on a payer, no email or SMS is still pending;
4. prints the billing manager's report. Every number comes from the services' own report
   endpoints (claims KPIs, A/R aging and denials queue, payments collections, notifications
   deliveries, the gateway's files up and down through the clearinghouse's SFTP mailbox),
   never from this script's counters; they cover everything the platform holds for today
   (the mailbox: since `make up` first ran; `make clean-state && make up` first for a clean
   slate).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from deploy import infra
from deploy.payer_sandbox import ehr, practice
from shared.auth import mint_token
from shared.config import DEVELOPMENT, Settings

ROOT = Path(__file__).resolve().parents[2]
# What `make up` runs (deploy/infra.py's one list): services, payer sandbox, SMTP sink.
URLS = {p.name: f"http://127.0.0.1:{p.port}" for p in infra.PROCESSES}
SCOPES = [
    *(f"{s}:{v}" for s in ("claims", "payments", "notifications") for v in ("read", "write")),
    "payments:admin",
    "gateway:read",
]
# The demo runs on the local platform, in development mode: its tokens come from the local
# issuer under .state, like `make token`'s (the services `make up` started verify them).
SETTINGS = Settings(revcycle_env=DEVELOPMENT)
AUTH = {"Authorization": f"Bearer {mint_token(SCOPES, subject='demo-billing-manager', settings=SETTINGS)}"}
IN_FLIGHT = ("submitted", "accepted")
CARC = {
    row["code"]: row["description"]
    for row in csv.DictReader(
        line for line in (ROOT / "services/claims/data/carc.csv").read_text().splitlines() if line[:1] != "#"
    )
}


class PlatformDown(RuntimeError):
    pass


async def check_platform(http: httpx.AsyncClient) -> None:
    for p in infra.PROCESSES:
        base = URLS[p.name]
        try:
            ok = (await http.get(base + p.health, timeout=3)).status_code == 200
        except httpx.HTTPError:
            ok = False
        if not ok:
            raise PlatformDown(f"{p.name} is not ready at {base}: start the platform with `make up` first")


async def get(http: httpx.AsyncClient, service: str, path: str, **params: Any) -> Any:
    resp = await http.get(URLS[service] + path, params=params or None, headers=AUTH)
    resp.raise_for_status()
    return resp.json()


async def register(http: httpx.AsyncClient, patients: list[str]) -> None:
    """The billing manager (denials, rejections) and each patient's email and phone."""
    staff = {"kind": "staff", "email": "billing.manager@practice.example", "roles": ["billing", "manager"]}
    (
        await http.put(
            f"{URLS['notifications']}/v1/recipients/demo-billing-manager", json=staff, headers=AUTH
        )
    ).raise_for_status()
    limit = asyncio.Semaphore(16)

    async def one(i: int, patient_id: str) -> None:
        body = {
            "kind": "patient",
            "email": f"{patient_id}@patients.example",
            "phone": f"+1555{i % 10_000_000:07d}",
            "timezone": "UTC",
        }
        async with limit:
            resp = await http.put(
                f"{URLS['notifications']}/v1/recipients/{patient_id}", json=body, headers=AUTH
            )
            resp.raise_for_status()
        bar.update()

    with tqdm(total=len(patients), desc="patients registered ", unit=" pt", leave=True) as bar:
        await asyncio.gather(*(one(i, p) for i, p in enumerate(patients)))


async def send_encounters(args: argparse.Namespace, run_id: str, bootstrap: str | None) -> None:
    """The EHR's day, paced at --rate (encounter i is due at i / rate from the start)."""
    with tqdm(total=args.encounters, desc="encounters sent     ", unit=" enc") as bar:
        await ehr.publish(
            ehr.ehr_access(bootstrap),
            args.encounters,
            rate=args.rate,
            seed=args.seed,
            patients=args.patients,
            run_id=run_id,
            scenario_share=args.scenario_share,
            institutional_share=args.institutional_share,
            on_sent=bar.update,
        )


def status_counts(kpis: dict[str, Any]) -> Counter[str]:
    return Counter(kpis.get("claims_by_status", {}))


async def settle(http: httpx.AsyncClient, before: dict[str, Any], expected: int, timeout: float) -> bool:
    """Until every encounter is a claim, none waits on a payer, no message is pending.

    A claim is settled once adjudicated or held back by the scrubber (a draft with errors, such
    as the EHR's same visit billed twice); secondaries created on the way count too."""
    base = status_counts(before)
    base_flight = sum(base[s] for s in IN_FLIGHT)
    deadline = time.monotonic() + timeout
    quiet = 0
    with tqdm(total=expected, desc="claims settled      ", unit=" clm") as bar:
        while time.monotonic() < deadline:
            kpis = await get(http, "claims", "/v1/reports/kpis")
            deliveries = await get(http, "notifications", "/v1/reports/deliveries")
            now = status_counts(kpis)
            pending = sum(c.get("pending", 0) for c in deliveries["by_channel"].values())
            created = kpis["claims_created"] - before["claims_created"]
            flying = sum(now[s] for s in IN_FLIGHT)
            bar.n = max(0, min(created - max(0, flying - base_flight), expected))
            bar.refresh()
            quiet = quiet + 1 if created >= expected and flying <= base_flight and pending == 0 else 0
            if quiet >= 2:
                return True
            await asyncio.sleep(0.5)
    return False


def pct(rate: dict[str, Any] | None) -> str:
    if not rate or rate.get("rate") is None:
        return "n/a"
    return f"{100 * rate['rate']:.1f}%  ({rate['numerator']}/{rate['denominator']})"


def money(value: Any) -> str:
    return f"${Decimal(str(value)):,.2f}"


async def report(http: httpx.AsyncClient) -> str:
    # Claims created in the last 90 days, professional and institutional apart too.
    kpis = await get(http, "claims", "/v1/reports/kpis", by_claim_type="true")
    aging = await get(http, "claims", "/v1/reports/ar-aging")
    queue = (await get(http, "claims", "/v1/denials", limit=500))["items"]
    collections = await get(http, "payments", "/v1/reports/collections")
    deliveries = await get(http, "notifications", "/v1/reports/deliveries")
    mailbox = await get(http, "gateway", "/v1/reports/mailbox")
    by_status = status_counts(kpis)
    out: list[str] = []
    w = out.append
    w("")
    w(
        f"Billing manager's report, {kpis['date_to']} "
        f"(claims created {kpis['date_from']}..{kpis['date_to']}), from the services' reports"
    )
    w("=" * 96)
    w("Claims")
    w(
        f"  created {kpis['claims_created']:>6}   submitted {kpis['claims_submitted']:>6}   "
        f"paid {by_status['paid']:>6}   partial {by_status['partial']:>5}   denied {by_status['denied']:>5}"
    )
    others = {s: n for s, n in sorted(by_status.items()) if s not in ("paid", "partial", "denied")}
    if others:
        w("  other statuses: " + ", ".join(f"{s} {n}" for s, n in others.items()))
    out += claim_type_lines(kpis, collections)
    w("")
    w("Rates")
    w(f"  clean-claim rate        {pct(kpis['clean_claim_rate'])}")
    w(f"  first-pass resolution   {pct(kpis['first_pass_resolution_rate'])}")
    w(f"  denial rate             {pct(kpis['denial_rate'])}")
    collected = (
        Decimal(collections["insurance_payments"])
        + Decimal(collections["patient_payments"])
        - Decimal(collections["refunds"])
    )
    collectible = Decimal(collections["charges"]) - Decimal(collections["contractual_adjustments"])
    ncr = collections["net_collection_rate"]
    w(
        f"  net collection rate     {'n/a' if ncr is None else f'{100 * ncr:.1f}%'}"
        f"  (collected {money(collected)} of {money(collectible)} collectible, payments ledger today)"
    )
    w(f"  days in A/R             {kpis['days_in_ar'] if kpis['days_in_ar'] is not None else 'n/a'}")
    w("")
    w("Denial reasons (by CARC, share of adjudicated claims; action from the open work queue)")
    open_by_reason = Counter((d["group_code"], d["reason_code"], d["action"]) for d in queue)
    if not kpis["denial_rate_by_reason"]:
        w("  none")
    for reason, r in sorted(kpis["denial_rate_by_reason"].items(), key=lambda kv: -kv[1]["numerator"]):
        actions = sorted({a for (_, code, a) in open_by_reason if code == reason})
        desc = CARC.get(reason, "")
        w(
            f"  CARC {reason:<4} {r['numerator']:>5} claims  {100 * (r['rate'] or 0):5.1f}%  "
            f"action: {', '.join(actions) or '-':<22} {desc[:60]}"
        )
    w(f"  open in the work queue: {len(queue)}" + (" (first 500)" if len(queue) >= 500 else ""))
    w("")
    w(f"A/R aging (open claim balances by days since service, as of {aging['as_of']})")
    buckets = ("0-30", "31-60", "61-90", "91-120", "120+")
    w("  payer    " + "".join(f"{b:>16}" for b in buckets) + f"{'total':>16}")

    def cell(bucket: dict[str, Any]) -> str:
        return f"{money(bucket['balance'])} /{bucket['claims']}"

    for payer in aging["payers"]:
        cells = "".join(f"{cell(payer['buckets'][b]):>16}" for b in buckets)
        w(f"  {payer['payer_id']:<8} {cells}{cell(payer['total']):>16}")
    w(f"  {'all':<8} {'':>{16 * len(buckets)}}{cell(aging['total']):>16}")
    w("")
    w("Money (payments ledger, today)")
    c = {
        k: money(v)
        for k, v in collections.items()
        if k not in ("date_from", "date_to", "net_collection_rate", "by_claim_type")
    }
    w(
        f"  charges {c['charges']}   insurance paid {c['insurance_payments']}   "
        f"contractual {c['contractual_adjustments']}   denied/other {c['other_adjustments']}"
    )
    w(
        f"  moved to patients {money(collections['transferred_to_patient'])}   patient payments "
        f"{money(collections['patient_payments'])}   open: insurance {money(collections['insurance_ar'])}, "
        f"patients {money(collections['patient_ar'])}"
    )
    w("")
    w(
        f"Notifications (today): {deliveries['notifications']} messages "
        + ", ".join(f"{k} {v}" for k, v in sorted(deliveries["by_audience"].items()))
    )
    for channel, statuses in sorted(deliveries["by_channel"].items()):
        w(f"  {channel:<6} " + ", ".join(f"{s} {n}" for s, n in sorted(statuses.items())))
    w("  by template: " + ", ".join(f"{t} {n}" for t, n in deliveries["by_template"].items()))
    w("")
    out += mailbox_lines(mailbox)
    return "\n".join(out)


def claim_type_lines(kpis: dict[str, Any], collections: dict[str, Any]) -> list[str]:
    """Professional (837P) and institutional (837I) claims apart: claims' KPIs split by claim
    type, and payments' money when its report splits it too."""
    parts = kpis.get("by_claim_type") or {}
    money_parts = collections.get("by_claim_type") or {}
    lines = ["  by claim type:"]
    for claim_type, part in parts.items():
        status = Counter(part["claims_by_status"])
        lines.append(
            f"    {claim_type:<13} created {part['claims_created']:>5}   submitted "
            f"{part['claims_submitted']:>5}   paid {status['paid']:>5}   partial {status['partial']:>4}   "
            f"denied {status['denied']:>4}"
        )
        lines.append(
            f"    {'':<13} charges {money(part['charges'])}   clean-claim rate "
            f"{pct(part['clean_claim_rate'])}   denial rate {pct(part['denial_rate'])}"
        )
        paid = money_parts.get(claim_type)
        if paid:
            lines.append(
                f"    {'':<13} insurance paid {money(paid['insurance_payments'])}   moved to patients "
                f"{money(paid['transferred_to_patient'])}   (payments ledger, today)"
            )
    return lines if parts else []


def mailbox_lines(mailbox: dict[str, Any]) -> list[str]:
    """The gateway's GET /v1/reports/mailbox: X12 files up to the clearinghouse's SFTP mailbox
    and down from it, and the claims they carried (every partner, since the first `make up`)."""
    up: Counter[str] = Counter()
    up_claims: Counter[str] = Counter()
    for row in mailbox["files_up"]:
        up[f"{row['kind']} {row['state']}"] += row["files"]
        up_claims[row["kind"]] += row["claims"]
    down: Counter[str] = Counter()
    for row in mailbox["files_down"]:
        down[f"{row['kind']} {row['state']}"] += row["files"]
    acks: Counter[str] = Counter()
    for row in mailbox["claims"]:
        acks[f"{row['state']}/{row['ack_state']}"] += row["claims"]
    return [
        "Clearinghouse mailbox (the gateway's files over SFTP, since the platform first started)",
        "  files up:   "
        + (", ".join(f"{k} {n}" for k, n in sorted(up.items())) or "none")
        + (f"  ({', '.join(f'{k}: {n} claims' for k, n in sorted(up_claims.items()))})" if up_claims else ""),
        "  files down: " + (", ".join(f"{k} {n}" for k, n in sorted(down.items())) or "none"),
        "  claims by state/acknowledgment: "
        + (", ".join(f"{k} {n}" for k, n in sorted(acks.items())) or "none"),
    ]


async def main(args: argparse.Namespace) -> int:
    run_id = args.run_id or f"demo{uuid.uuid4().hex[:6]}"
    patients = args.patients or max(1, args.encounters // 2)
    args.patients = patients
    async with httpx.AsyncClient(timeout=30) as http:
        try:
            await check_platform(http)
        except PlatformDown as exc:
            print(f"demo: {exc}", file=sys.stderr)
            return 2
        print(
            f"A clinic day: {args.encounters} encounters for {patients} patients at {args.rate:g}/s, "
            f"{100 * args.scenario_share:.0f}% on scenario members, "
            f"{100 * args.institutional_share:.0f}% hospital encounters (run {run_id})"
        )
        # The practice's providers in the claims service's registry: the EHR sends NPIs only.
        await practice.register(URLS["claims"], subject="demo-billing-manager", settings=SETTINGS)
        await register(http, [f"pat-{run_id}-{i:06d}" for i in range(patients)])
        before = await get(http, "claims", "/v1/reports/kpis")
        await send_encounters(args, run_id, args.bootstrap)
        settled = await settle(http, before, args.encounters, args.timeout)
        if not settled:
            print(
                f"demo: the pipeline had not settled after {args.timeout:g} s; the report shows where it is"
            )
        print(await report(http))
    return 0 if settled else 1


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--encounters", type=int, default=300, help="encounters in the day (default 300)")
    parser.add_argument("--patients", type=int, default=None, help="distinct patients (default encounters/2)")
    parser.add_argument("--rate", type=float, default=50, help="encounters per second (default 50)")
    parser.add_argument(
        "--scenario-share",
        type=float,
        default=0.2,
        help="share of patients on scenario members: denials, COB (default 0.2)",
    )
    parser.add_argument(
        "--institutional-share",
        type=float,
        default=0.15,
        help="share of encounters that are the hospital's: inpatient stays, outpatient and emergency "
        "visits, billed on 837I (default 0.15)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--run-id", default=None, help="namespace of the day's ids (default: random)")
    parser.add_argument(
        "--timeout", type=float, default=180, help="seconds to wait for the pipeline (default 180)"
    )
    parser.add_argument(
        "--bootstrap", default=None, help="Kafka bootstrap servers (default: the EHR's, ehr.ehr_access)"
    )
    return asyncio.run(main(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(cli())
