"""The counting rules of `make chaos` (bench/chaos.py): pure functions over what one fault run
left behind, so the rules can be read and tested without a platform.

A `Snapshot` holds one run's rows as the platform's own stores record them (claims, payments'
postings and outbox, notifications' deliveries, the payer sandbox's own SQLite record, and what
the mail and SMS sink received); `count(snapshot)` turns it into the row the table prints.

The definitions (bench/README.md repeats them):

- duplicates: claims beyond the first for one encounter (originals only: a secondary claim or a
  corrected claim is a claim of its own, not a duplicate);
- lost, the sum of
  - encounters sent that have no claim,
  - claims the sandbox paid or denied in an 835 it sent whose patient control number payments
    never posted,
  - claims payments posted that claims still shows as waiting on the payer (submitted, accepted),
  - patients never told: a live insurance posting the patient is told about (not a denial or a
    reversal) with no delivery sent for its `payment.posted`;
- double postings: live insurance postings (neither a reversal nor reversed) beyond the first
  for one claim;
- double notifications: messages at the sink beyond the first for one recipient address, channel,
  template and business event (the event's type and key, e.g. `payment.posted` of claim X: a
  second posting's notice is a double, even though it has its own event id);
- manual action: anything parked (dead letters, unmatched or possible-duplicate payments) or a
  run that did not converge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

WAITING = frozenset({"submitted", "accepted"})  # the claim waits on the payer
NOT_TOLD = frozenset({"4", "22"})  # denials are staff work; a reversal is followed by the correction


@dataclass
class Snapshot:
    """One fault run's rows. Every list holds plain dicts, as the SQL and HTTP answers give them."""

    sent: list[str] = field(default_factory=list)  # encounter ids the EHR sent
    # id, encounter_id, patient_control_number, status, primary_claim_id, original_claim_id
    claims: list[dict[str, Any]] = field(default_factory=list)
    # the sandbox's own record: pcn, status (CLP02), trace (None until it went out in an 835)
    sandbox_payments: list[dict[str, Any]] = field(default_factory=list)
    # id, claim_id, patient_control_number, status_code, reverses_posting_id, account_id
    postings: list[dict[str, Any]] = field(default_factory=list)
    # event id -> (event type, event key) of every event the services published (their outboxes)
    events: dict[str, tuple[str, str]] = field(default_factory=dict)
    # id, recipient_id, channel, template, cause_event_id, status
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    # what the sink received: channel ("email"/"sms"), address, delivery_id
    sink: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: int = 0
    unmatched: int = 0
    possible_duplicates: int = 0
    converged: bool = True
    converge_seconds: float | None = None


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    fault: str
    sent: int
    claims: int
    duplicates: int
    lost: int
    lost_detail: dict[str, int]
    double_postings: int
    double_notifications: int
    dead_letters: int
    converge_seconds: float | None
    converged: bool
    manual: list[str]
    seen: dict[str, int] = field(default_factory=dict)  # sizes of what was read (the JSON shows them)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicates or self.double_postings or self.double_notifications) and (
            not self.manual
        )


def _extra(keys: Iterable[Any]) -> int:
    """How many beyond the first, over every key seen more than once."""
    return sum(n - 1 for n in Counter(keys).values() if n > 1)


def duplicates(claims: list[dict[str, Any]]) -> int:
    originals = (
        c["encounter_id"]
        for c in claims
        if c.get("encounter_id") and not c.get("primary_claim_id") and not c.get("original_claim_id")
    )
    return _extra(originals)


def live_postings(postings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insurance postings that count: not a reversal, not reversed by one."""
    reversed_ids = {p["reverses_posting_id"] for p in postings if p.get("reverses_posting_id")}
    return [p for p in postings if not p.get("reverses_posting_id") and p["id"] not in reversed_ids]


def double_postings(postings: list[dict[str, Any]]) -> int:
    return _extra(p["claim_id"] for p in live_postings(postings))


def lost(s: Snapshot) -> dict[str, int]:
    """Each way of losing work, counted apart (the table prints the sum, the JSON the parts)."""
    with_claim = {c["encounter_id"] for c in s.claims if c.get("encounter_id")}
    posted_pcns = {p["patient_control_number"] for p in s.postings}
    sent_in_835 = {p["pcn"] for p in s.sandbox_payments if p.get("trace") and p["status"] != "22"}
    live = live_postings(s.postings)
    waiting = {c["id"] for c in s.claims if c["status"] in WAITING}
    posted_claims = {p["claim_id"] for p in live}
    told = {
        s.events[d["cause_event_id"]][1]
        for d in s.deliveries
        if d["status"] == "sent" and s.events.get(d["cause_event_id"], ("",))[0].startswith("payment.posted")
    }
    to_tell = {p["claim_id"] for p in live if p["status_code"] not in NOT_TOLD and p.get("account_id")}
    return {
        "no_claim": len(set(s.sent) - with_claim),
        "paid_not_posted": len(sent_in_835 - posted_pcns),
        "posted_not_in_claims": len(posted_claims & waiting),
        "patient_not_told": len(to_tell - told),
    }


def double_notifications(s: Snapshot) -> int:
    """Messages at the sink beyond the first per (address, channel, template, business event)."""
    by_id = {d["id"]: d for d in s.deliveries}
    keys = []
    for m in s.sink:
        d = by_id.get(m["delivery_id"])
        if d is None:
            continue  # another run's message, or not one of the platform's
        event_type, event_key = s.events.get(d["cause_event_id"], ("", d["cause_event_id"]))
        keys.append((m["channel"], m["address"], d["template"], event_type.rsplit(".v", 1)[0], event_key))
    return _extra(keys)


def count(fault: str, s: Snapshot) -> Row:
    """The table's row for one fault run."""
    parts = lost(s)
    manual = []
    if s.dead_letters:
        manual.append(f"{s.dead_letters} dead letters")
    if s.unmatched:
        manual.append(f"{s.unmatched} unmatched payments")
    if s.possible_duplicates:
        manual.append(f"{s.possible_duplicates} possible duplicate payments")
    if not s.converged:
        manual.append("not converged")
    return Row(
        fault=fault,
        sent=len(s.sent),
        claims=len(s.claims),
        duplicates=duplicates(s.claims),
        lost=sum(parts.values()),
        lost_detail={k: v for k, v in parts.items() if v},
        double_postings=double_postings(s.postings),
        double_notifications=double_notifications(s),
        dead_letters=s.dead_letters,
        converge_seconds=s.converge_seconds,
        converged=s.converged,
        manual=manual,
        seen={
            "postings": len(s.postings),
            "live_postings": len(live_postings(s.postings)),
            "deliveries_sent": sum(1 for d in s.deliveries if d["status"] == "sent"),
            "sink_messages": len(s.sink),
            "sandbox_payments": len(s.sandbox_payments),
            "claims_held_by_scrubber": sum(1 for c in s.claims if c["status"] == "draft"),
        },
    )


HEADER = (
    "| fault | encounters sent | claims | duplicates | lost | double postings | double notifications "
    "| dead letters | time to converge | manual action needed |"
)


def markdown(rows: list[Row]) -> str:
    """The table: one row per fault; lost parts and manual reasons spelled out in the cells."""
    lines = [HEADER, "|" + "---|" * 10]
    for r in rows:
        lost_cell = str(r.lost)
        if r.lost_detail:
            lost_cell += (
                " (" + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in r.lost_detail.items()) + ")"
            )
        if r.converged and r.converge_seconds is not None:
            converge = f"{r.converge_seconds:.0f} s"
        else:
            converge = "not converged"
        manual = "no" if not r.manual else "yes: " + ", ".join(r.manual)
        cells = [
            r.fault,
            str(r.sent),
            str(r.claims),
            str(r.duplicates),
            lost_cell,
            str(r.double_postings),
            str(r.double_notifications),
            str(r.dead_letters),
            converge,
            manual,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
