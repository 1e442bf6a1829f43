"""The clearinghouse and its payers: a claim.submitted record in, its answers out.

claim.submitted (837P) -> front-end edits -> claim.acknowledged | claim.rejected
                       -> adjudication -> remittance.received (835), immediately or
                          batched per payer and payee on the payer's cycle.

No I/O but its own store (store.py): every answer is written, with what caused it, in the
caller's store transaction, and goes out through the store's outbox (pipeline.py publishes it).
What it remembers between claims (what each payer paid, for duplicates and reversals; the event
ids it handled; pending batches) is loaded from the store, so a restart neither pays twice nor
forgets.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from deploy.payer_sandbox import claim837
from deploy.payer_sandbox.adjudication import (
    ClaimPayment,
    Context,
    Memory,
    adjudicate,
    derive,
    duplicate_key,
    find_original,
)
from deploy.payer_sandbox.config import SandboxConfig
from deploy.payer_sandbox.data import PayerRules, Tables
from deploy.payer_sandbox.remit835 import build_835, check_balanced
from deploy.payer_sandbox.store import PendingKey, SandboxStore
from shared import context, x12
from shared.consumer import dead_letter_headers
from shared.events.catalogue import (
    ClaimAcknowledged,
    ClaimRejected,
    ClaimSubmitted,
    RejectionReason,
    RemittanceReceived,
    dlq_topic,
)
from shared.events.envelope import Event, InvalidEvent, decode, new_event
from shared.events.signing import PartnerSigner

log = logging.getLogger("payer_sandbox.clearinghouse")

SOURCE = "payer-sandbox"
REMITTANCES_KEPT = 5_000


@dataclass(frozen=True)
class Remittance:
    """An 835 the sandbox published (kept for tests and /stats)."""

    payer_id: str
    trace_number: str
    x12_835: str
    pcns: tuple[str, ...]


class Clearinghouse:
    """The answering side of the sandbox, over its store. Every method that writes is called
    inside a `store.transaction()`; after one that did not commit, call `load()`."""

    def __init__(
        self,
        config: SandboxConfig,
        tables: Tables,
        store: SandboxStore,
        accept: Callable[[ClaimSubmitted], bool] | None = None,
    ) -> None:
        self.config = config
        self.tables = tables
        self.store = store
        self.accept = accept
        self.payers = _payers_run(config, tables)
        # The clearinghouse's key signs its answers; the services believe only signed ones.
        self.signer = PartnerSigner.from_dir(config.signing_keys_dir)
        self.memory: dict[str, Memory] = {}
        self._seen: set[str] = set()
        self.pending: dict[PendingKey, list[ClaimPayment]] = {}
        self._payee_names: dict[str, str] = {}
        # The latest 835s, for tests and operators (bounded: volume runs send many).
        self.remittances: deque[Remittance] = deque(maxlen=REMITTANCES_KEPT)
        self.counts: Counter[str] = Counter()
        self.load()

    def load(self) -> None:
        """What the store remembers (at start, and after a transaction that did not commit)."""
        self.memory = self.store.memories()
        self._seen = self.store.handled_events()
        self.pending = self.store.pending()
        self._payee_names = self.store.payee_names()
        if not self.remittances:
            for payer_id, trace, text, pcns in self.store.recent_remittances(REMITTANCES_KEPT):
                self.remittances.append(Remittance(payer_id, trace, text, tuple(pcns)))

    def counters(self) -> dict[str, Any]:
        return {
            **dict(self.counts),
            "remittances": self.counts["remittances_sent"],
            "pending_in_batches": sum(len(v) for v in self.pending.values()),
            **self.store.counts(),
        }

    def on_record(self, record: Any) -> None:
        """One claim.submitted record (call inside a store transaction)."""
        try:
            event = decode(record.topic, record.key, record.value, record.headers)
        except InvalidEvent as exc:
            self.counts["undecodable"] += 1
            log.warning("dead-lettering an undecodable claim.submitted at offset %s", record.offset)
            headers = dead_letter_headers(
                record, group=self.config.group_id, error=f"decode: {exc}", attempts=1
            )
            self.store.to_publish(dlq_topic(record.topic), record.key, record.value, headers)
            return
        event_id = str(event.id)
        if event_id in self._seen:
            self.counts["duplicate_events"] += 1
            return
        # The claim's correlation id follows it into the 277CA and the 835 events, as the
        # platform's own hops do, so one encounter can be traced to its payment.
        context.start(event.correlation_id, event.traceparent)
        if self.handle(event):
            self._seen.add(event_id)
            self.store.handled(event_id, str(event.data.claim_id))  # type: ignore[attr-defined]

    def _addressed_to_us(self, receiver_id: str | None) -> bool:
        """Is the interchange addressed (ISA08) to one of our clearinghouse ids? One whose
        receiver cannot be read is ours to reject, since no clearinghouse can tell where it
        was going."""
        return (
            self.config.receiver_ids is None or receiver_id is None or receiver_id in self.config.receiver_ids
        )

    def handle(self, event: Event) -> bool:
        """One claim: edits, acknowledgment or rejection, adjudication, remittance. Returns
        whether the claim was ours to answer. Call inside a store transaction."""
        submitted: ClaimSubmitted = event.data  # type: ignore[assignment]
        if self.accept is not None and not self.accept(submitted):
            self.counts["not_accepted"] += 1
            return False
        payer = self.payers.get(submitted.payer_id)
        if payer is None:
            self.counts["ignored_other_payer"] += 1
            return False
        try:
            claim = claim837.parse_837(submitted.x12_837)
        except x12.X12Error as exc:
            if not self._addressed_to_us(_receiver_of(submitted.x12_837)):
                self.counts["not_addressed"] += 1
                return False
            self.counts["claims"] += 1
            self.counts["rejected"] += 1
            self._reject(submitted, [claim837.Rejection("A7:21", f"the 837 is not readable: {exc}")])
            return True
        if not self._addressed_to_us(claim.receiver_id):
            self.counts["not_addressed"] += 1
            return False
        self.counts["claims"] += 1
        ctx = Context(
            seed=self.config.seed,
            claim_id=str(submitted.claim_id),
            submitted_on=submitted.submitted_at.date(),
            coverage_order=submitted.coverage_order,
            original_pccn=submitted.original_payer_claim_control_number,
            random_denial_share=payer.random_denial_share,
        )
        problems, pccn = self.decide(
            claim, payer, ctx, expected_pcn=submitted.patient_control_number, payer_id=submitted.payer_id
        )
        if problems:
            self._reject(submitted, problems)
            return True
        self._emit(
            ClaimAcknowledged(
                claim_id=submitted.claim_id,
                patient_control_number=submitted.patient_control_number,
                payer_claim_control_number=pccn,
                acknowledged_at=datetime.now(UTC),
                payer_id=payer.payer_id,
            )
        )
        return True

    def decide(
        self,
        claim: claim837.Claim837,
        payer: PayerRules,
        ctx: Context,
        *,
        expected_pcn: str,
        payer_id: str,
        mailbox: str = "",
        remit: bool = True,
    ) -> tuple[list[claim837.Rejection], str]:
        """The front-end edits, then (when they pass) adjudication: the payments are queued
        for the payer's 835 (to Kafka, or to `mailbox`'s from/ folder). Returns the rejections
        (empty when accepted) and the payer claim control number. `remit=False`: the caller
        flushes a payer that pays at once itself (after its own acknowledgment). Call inside a
        store transaction."""
        problems = claim837.validate(claim, expected_pcn=expected_pcn)
        scenario = self.tables.scenario(claim.member_id) if claim.member_id else None
        if claim.member_id and (scenario is None or (scenario.aaa and scenario.aaa.code == "75")):
            problems.append(claim837.Rejection("A3:33", "subscriber and subscriber id not found"))
        if claim.payer_id and claim.payer_id != payer_id:
            problems.append(
                claim837.Rejection("A7:21", "NM1*PR payer id does not match the submission's payer")
            )
        if claim.payer_responsibility in ("S", "T") and not claim.prior_adjudicated:
            problems.append(
                claim837.Rejection("A7:21", "secondary claim without the prior payer's adjudication")
            )
        memory = self.memory.setdefault(payer.payer_id, Memory())
        if not problems and claim.frequency_code == "8" and find_original(claim, ctx, memory) is None:
            problems.append(
                claim837.Rejection("A7:21", "void (frequency 8) of a claim this payer has not paid")
            )
        if problems:
            self.counts["rejected"] += 1
            return problems, ""
        assert scenario is not None
        payments = adjudicate(claim, ctx, tables=self.tables, payer=payer, scenario=scenario, memory=memory)
        self.store.adjudicated(payments, duplicate_key(claim, payer.payer_id))
        new = [p for p in payments if p.status != "22"]
        self.counts["acknowledged"] += 1
        self._payee_names.setdefault(claim.billing_npi, claim.billing_name)
        key = (payer.payer_id, claim.billing_npi, mailbox)
        self.pending.setdefault(key, []).extend(payments)
        self.store.queue(key, claim.billing_name, payments)
        if remit and payer.remittance_mode != "batched":
            self.flush(keys=[key])
        return [], new[0].pccn if new else payments[0].pccn

    def _reject(self, submitted: ClaimSubmitted, problems: list[claim837.Rejection]) -> None:
        self._emit(
            ClaimRejected(
                claim_id=submitted.claim_id,
                patient_control_number=submitted.patient_control_number,
                reasons=[RejectionReason(code=p.code, message=p.message[:500]) for p in problems],
                rejected_at=datetime.now(UTC),
                payer_id=submitted.payer_id,
            )
        )

    def _emit(self, payload: Any) -> None:
        """An event to publish: encoded once (its id fixed) into the outbox, in the caller's
        store transaction, so it goes out if and only if what caused it is stored."""
        topic, key, value, headers = self.signer.encode(new_event(payload, source=SOURCE))
        self.store.to_publish(topic, key, value, headers)

    def flush(self, keys: list[PendingKey] | None = None, force: bool = False) -> list[Remittance]:
        """Build one 835 per (payer, payee, mailbox) with everything pending for it, into the
        outbox (Kafka) or the mailbox's answer files. Call inside a store transaction."""
        published = []
        chosen = list(self.pending) if keys is None or force else keys
        for key in chosen:
            payments = self.pending.get(key)
            if not payments:
                continue
            payer_id, payee_npi, mailbox = key
            rules = self.payers[payer_id]
            pccns = sorted(p.pccn + p.status for p in payments)
            trace = f"SBX{derive(self.config.seed, 'trace', payer_id, *pccns) % 10**15:015d}"
            control_number = self.store.next_control_number()
            text = build_835(
                payments,
                payer=rules,
                payee_name=self._payee_names.get(payee_npi) or self.tables.payee_name,
                payee_npi=payee_npi or self.tables.payee_default_npi,
                trace_number=trace,
                control_number=control_number,
                now=datetime.now(UTC).replace(tzinfo=None),
            )
            check_balanced(text)  # never publish money that does not add up
            if mailbox:
                name = answer_name(control_number, "835", datetime.now(UTC))
                self.store.add_output(mailbox, name, "835", text, None)
            else:
                self._emit(
                    RemittanceReceived(
                        trace_number=trace, payer_id=payer_id, x12_835=text, received_at=datetime.now(UTC)
                    )
                )
            self.store.remitted(key, trace, control_number, text, payments)
            del self.pending[key]
            remittance = Remittance(payer_id, trace, text, tuple(p.pcn for p in payments))
            self.remittances.append(remittance)
            self.counts["remittances_sent"] += 1
            self.counts["claims_remitted"] += len(payments)
            published.append(remittance)
        return published


def answer_name(control_number: int, kind: str, now: datetime) -> str:
    """An answer file's name: SBX_{ISA13}_{UTC timestamp}_{TA1|999|277CA|835|277}.x12. Semantic
    (Stedi-like) and free of PHI; a partner must still read the file to know what it is."""
    return f"SBX_{control_number % 10**9:09d}_{now.strftime('%Y%m%d%H%M%S')}_{kind}.x12"


def due_keys(clearinghouse: Clearinghouse, last: dict[str, float], now: float) -> list[PendingKey]:
    """The pending batches whose payer's cycle has come (batched payers), starting a payer's
    cycle clock at its first pending claim; `last` is the caller's clock per payer."""
    due = []
    for key in list(clearinghouse.pending):
        rules = clearinghouse.payers.get(key[0])
        if rules is None or rules.remittance_mode != "batched":
            continue
        started = last.setdefault(key[0], now)
        if now - started >= rules.cycle_seconds:
            due.append(key)
    for payer_id in {key[0] for key in due}:
        last[payer_id] = now
    return due


def _payers_run(config: SandboxConfig, tables: Tables) -> dict[str, PayerRules]:
    """The payers this instance adjudicates, with the config's overrides of payers.json applied
    (once, not per claim)."""
    changes: dict[str, Any] = {}
    if config.remittance_mode:
        changes["remittance_mode"] = config.remittance_mode
    if config.cycle_seconds is not None:
        changes["cycle_seconds"] = config.cycle_seconds
    if config.random_denial_share is not None:
        changes["random_denial_share"] = Decimal(config.random_denial_share)
    return {
        payer_id: replace(rules, **changes)
        for payer_id, rules in tables.payers.items()
        if config.payers is None or payer_id in config.payers
    }


def _receiver_of(text: str) -> str | None:
    """ISA08 of an interchange that failed to parse further, when its ISA can still be read."""
    try:
        _, segments = x12.tokenize(text)
    except x12.X12Error:
        return None
    return segments[0].get(8).strip()
