"""The EHR partner: a generator of `encounter.completed` events (a simulated clinic day).

    python -m deploy.payer_sandbox.ehr --count 1000 --rate 200 --seed 7
    python -m deploy.payer_sandbox.ehr --count 20000 --rate 0          # bulk: as fast as Kafka takes it

N patients (each with demographics and coverage on a sandbox payer, member ids from the
scenario table's generated-member pattern SBXG000000..), their visits and the charges of
each visit (an E/M code, sometimes labs, an ECG, a vaccine or an X-ray) at the clinic's
charge-master prices; `--institutional-share` of them are the hospital's (837I stays and visits,
ehr_hospital.py). The same seed gives the same sequence of encounters; `--run-id`
namespaces the ids so two runs with one seed do not collide (default: the seed).

Like a real partner's interface engine it does not give up when the broker is away (not up
yet, restarting): connecting, and every send that failed, are retried with backoff
(ehr_delivery.py, on shared/retry.py) until `--deadline` seconds after the start. A resent
encounter is the same event (same id), so the claims service's inbox takes it once.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from deploy.payer_sandbox.adjudication import derive
from deploy.payer_sandbox.config import SandboxConfig
from deploy.payer_sandbox.ehr_delivery import connect, send_paced, send_until
from deploy.payer_sandbox.ehr_hospital import institutional_encounter, npi
from shared.config import Settings
from shared.events.catalogue import EHR, Address, Coverage, EncounterCompleted, EncounterLine, Person
from shared.events.envelope import new_event
from shared.events.signing import PartnerSigner
from shared.kafka import KafkaAccess, kafka_access

SOURCE = "ehr-sandbox"
DEADLINE_SECONDS = 300.0

FIRST = [
    "ALEX", "BLAIR", "CASEY", "DREW", "EMERY", "FRANKIE", "GLEN", "HAYDEN", "IVY", "JORDAN", "KAI", "LEE",
]  # fmt: skip
LAST = ["SMITH", "JOHNSON", "GARCIA", "BROWN", "NGUYEN", "PATEL", "KIM", "MARTIN", "LOPEZ", "CLARK", "WRIGHT"]
STREETS = ["MAIN ST", "OAK AVE", "PINE RD", "MAPLE DR", "CEDAR LN", "ELM ST"]
CITIES = [("SPRINGFIELD", "IL", "62701"), ("MADISON", "WI", "53703"), ("AUSTIN", "TX", "78701")]
# ICD-10-CM (public): common primary-care diagnoses. Z00.00 (adult exam) is for ages 15 and up;
# a child's routine exam is Z00.129 (ICD-10-CM tabular list, Z00.0 and Z00.12).
DIAGNOSES = ["I10", "E119", "J069", "Z0000", "M5450", "R051", "K219", "F419", "E785", "N390", "J029", "R109"]
# Charge master: the clinic's price per code (above every payer's allowed amount).
CHARGES = {
    "99202": "120.00", "99203": "180.00", "99204": "270.00", "99212": "95.00", "99213": "150.00",
    "99214": "220.00", "99215": "300.00", "36415": "15.00", "85025": "40.00", "80053": "55.00",
    "93000": "60.00", "90471": "30.00", "90686": "45.00", "71046": "90.00",
}  # fmt: skip
VISITS = [("99213", 40), ("99214", 30), ("99212", 8), ("99215", 7), ("99203", 8), ("99204", 5), ("99202", 2)]
EXTRAS = [  # (codes, probability) added to a visit
    (("36415", "85025"), 0.25),
    (("80053",), 0.15),
    (("93000",), 0.08),
    (("90471", "90686"), 0.10),
    (("71046",), 0.06),
]
PAYERS = [("SBX001", 0.75), ("SBX003", 0.25)]
SECONDARY_SHARE = 0.05  # patients with SBX002 as secondary coverage
# Table members a demo may mix in (--scenario-share): deductible met, inactive, terminated,
# prior authorization, primary with secondary. Their claims show denials and COB.
SCENARIO_MEMBERS = ["SBX10002", "SBX20001", "SBX20002", "SBX30001", "SBX40002"]


def partner_signer() -> PartnerSigner:
    """The partners' keys as the sandbox holds them (PARTNER_SIGNING_KEYS_DIR, else the ones
    `make up` made under .state): what signs encounters like the EHR's interface engine."""
    return PartnerSigner.from_dir(SandboxConfig().signing_keys_dir)


PROVIDERS = [npi(123456789), npi(198765432), npi(145678901)]
BILLING_NPI = PROVIDERS[0]


@dataclass(frozen=True)
class Patient:
    patient_id: str
    person: Person
    coverages: list[Coverage]


def make_patients(rng: random.Random, n: int, run_id: str, scenario_share: float = 0.0) -> list[Patient]:
    """Patients with generated member ids (numbered from an offset derived from the run id,
    so runs do not share members), a `scenario_share` of them with a table member instead."""
    offset = derive(0, "members", run_id) % 1_000_000
    patients = []
    for i in range(n):
        city, state, zip_code = rng.choice(CITIES)
        person = Person(
            first_name=rng.choice(FIRST),
            last_name=rng.choice(LAST),
            birth_date=date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 80)),
            gender=rng.choice(["F", "M"]),
            address=Address(
                line1=f"{rng.randrange(1, 9999)} {rng.choice(STREETS)}",
                city=city,
                state=state,
                postal_code=zip_code,
            ),
        )
        payer = rng.choices([p for p, _ in PAYERS], weights=[w for _, w in PAYERS])[0]
        member_id = f"SBXG{(offset + i) % 1_000_000:06d}"
        if scenario_share and rng.random() < scenario_share:
            member_id = rng.choice(SCENARIO_MEMBERS)
            payer = "SBX001"
        coverages = [Coverage(payer_id=payer, member_id=member_id, order="primary", group_number="GRP1001")]
        if rng.random() < SECONDARY_SHARE:
            coverages.append(
                Coverage(payer_id="SBX002", member_id=member_id, order="secondary", group_number="GRP2001")
            )
        patients.append(Patient(f"pat-{run_id}-{i:06d}", person, coverages))
    return patients


def _for_age(diagnoses: list[str], birth_date: date, day: date) -> list[str]:
    """A real EHR codes a child's checkup as a child's: swap the adult exam for the pediatric
    one (the claims scrubber's age edit holds an adult exam on a patient under 15)."""
    age = day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
    return ["Z00129" if code == "Z0000" and age < 15 else code for code in diagnoses]


def encounters(
    seed: int,
    count: int,
    *,
    patients: int | None = None,
    day: date | None = None,
    run_id: str | None = None,
    scenario_share: float = 0.0,
    institutional_share: float = 0.0,
) -> Iterator[EncounterCompleted]:
    """The encounters of a simulated clinic, deterministic for a seed; `institutional_share` of
    them the hospital's (837I), at most one per patient (one stay or visit a day: a second would
    be a true duplicate). The hospital draws from a generator of its own, so a day without
    hospital encounters is the same day as before issue 20."""
    rng = random.Random(seed)
    hospital, admitted = random.Random(seed + 1_000_003), set[str]()
    run = run_id or str(seed)
    people = make_patients(rng, patients or max(1, count // 2), run, scenario_share)
    visit_day = day or date.today() - timedelta(days=1)
    for i in range(count):
        patient = people[rng.randrange(len(people))]
        to_hospital = institutional_share and hospital.random() < institutional_share
        if to_hospital and patient.patient_id not in admitted:
            admitted.add(patient.patient_id)
            yield institutional_encounter(
                hospital, encounter_id=f"enc-{run}-{i:07d}", patient=patient, day=visit_day
            )
            continue
        visit = rng.choices([c for c, _ in VISITS], weights=[w for _, w in VISITS])[0]
        codes = [visit]
        for extra, probability in EXTRAS:
            if rng.random() < probability:
                codes.extend(extra)
        n_dx = rng.choice([1, 1, 2, 3])
        diagnoses = _for_age(rng.sample(DIAGNOSES, n_dx), patient.person.birth_date, visit_day)
        lines = [
            EncounterLine(
                code=code,
                modifiers=["25"] if code.startswith("992") and len(codes) > 2 else [],
                units=1,
                charge=Decimal(CHARGES[code]),
                diagnosis_pointers=[1 + (j % n_dx)],
            )
            for j, code in enumerate(codes)
        ]
        yield EncounterCompleted(
            encounter_id=f"enc-{run}-{i:07d}",
            patient_id=patient.patient_id,
            payer_id=patient.coverages[0].payer_id,
            billing_provider_npi=BILLING_NPI,
            rendering_provider_npi=rng.choice(PROVIDERS),
            date_of_service=visit_day - timedelta(days=rng.choice([0, 0, 0, 1, 2])),
            place_of_service="11",
            diagnoses=diagnoses,
            lines=lines,
            patient=patient.person,
            coverages=patient.coverages,
        )


@dataclass(frozen=True)
class RunResult:
    count: int
    seconds: float
    target_rate: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")


async def publish(
    kafka: KafkaAccess,
    count: int,
    *,
    rate: float,
    seed: int = 7,
    patients: int | None = None,
    day: date | None = None,
    run_id: str | None = None,
    topic: str | None = None,
    scenario_share: float = 0.0,
    institutional_share: float = 0.0,
    on_sent: Callable[[], None] | None = None,
    deadline_seconds: float = DEADLINE_SECONDS,
    signer: PartnerSigner | None = None,
) -> RunResult:
    """Publish `count` encounters at `rate` per second (0 = bulk, as fast as possible).

    Pacing is against the start time (encounter i is due at i / rate), so a slow moment
    is caught up instead of lowering the whole run's rate; the clock stops when the broker
    has acknowledged the last one. `topic` overrides encounter.completed (benchmarks);
    `on_sent` is called after each encounter is handed to the producer (progress bars).
    A broker that is away is waited for, up to `deadline_seconds` from the start. Each encounter
    is signed with the EHR's key (`signer`, default `partner_signer()`)."""
    deadline = time.monotonic() + deadline_seconds
    sign = (signer or partner_signer()).encode
    # Encode ahead, so the paced loop only sends (and a resend is the same event).
    records = [
        sign(new_event(e, source=SOURCE))
        for e in encounters(
            seed,
            count,
            patients=patients,
            day=day,
            run_id=run_id,
            scenario_share=scenario_share,
            institutional_share=institutional_share,
        )
    ]
    producer = await connect(kafka, deadline)
    try:
        started = time.perf_counter()
        failed = await send_paced(producer, records, started, rate=rate, topic=topic, on_sent=on_sent)
        for i in sorted(failed):
            event_topic, key, value, headers = records[i]
            await send_until(producer, topic or event_topic, key, value, headers, deadline)
        elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
    return RunResult(count, elapsed, rate)


def ehr_access(bootstrap: str | None = None) -> KafkaAccess:
    """The EHR's access to the broker: KAFKA_USERNAME/KAFKA_PASSWORD (and the rest of the
    KAFKA_* settings) when the environment names a principal, else the development broker's
    `ehr` principal on its TLS listener (.state/kafka, deploy/kafka_auth.py); `bootstrap`
    overrides the address."""
    if os.environ.get("KAFKA_USERNAME"):
        found = kafka_access(Settings())
    else:
        from deploy import kafka_auth

        found = kafka_auth.access(EHR)
    return replace(found, bootstrap=bootstrap) if bootstrap else found


def _parser() -> argparse.ArgumentParser:
    """The command line: how many encounters, how fast, which patients and day, which broker."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy.payer_sandbox.ehr", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--count", type=int, default=1000, help="encounters to publish (default 1000)")
    parser.add_argument(
        "--rate", type=float, default=200, help="encounters per second; 0 = bulk (default 200)"
    )
    parser.add_argument("--seed", type=int, default=7, help="same seed, same encounters (default 7)")
    parser.add_argument("--patients", type=int, default=None, help="distinct patients (default count/2)")
    parser.add_argument(
        "--scenario-share",
        type=float,
        default=0.0,
        help="share of patients with a scenario-table member id (denials, COB) instead of a generated one",
    )
    parser.add_argument(
        "--institutional-share",
        type=float,
        default=0.0,
        help="share of encounters that are the hospital's (inpatient, outpatient, emergency; 837I)",
    )
    parser.add_argument(
        "--date", type=date.fromisoformat, default=None, help="clinic day, YYYY-MM-DD (default yesterday)"
    )
    parser.add_argument(
        "--run-id", default=None, help="namespace of encounter/patient ids (default: the seed)"
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=DEADLINE_SECONDS,
        help=f"seconds to keep retrying while the broker is away (default {DEADLINE_SECONDS:g})",
    )
    parser.add_argument(
        "--bootstrap",
        default=None,
        help="Kafka bootstrap servers (default: the partners' TLS listener, see ehr_access)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    result = asyncio.run(
        publish(
            ehr_access(args.bootstrap),
            args.count,
            rate=args.rate,
            seed=args.seed,
            patients=args.patients,
            day=args.date,
            run_id=args.run_id,
            scenario_share=args.scenario_share,
            institutional_share=args.institutional_share,
            deadline_seconds=args.deadline,
        )
    )
    target = f"{result.target_rate:g}/s" if result.target_rate > 0 else "bulk"
    print(
        f"published {result.count} encounter.completed in {result.seconds:.2f} s: "
        f"{result.rate:.0f}/s (target {target})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
