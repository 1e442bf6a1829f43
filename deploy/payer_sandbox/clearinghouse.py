"""The clearinghouse and its payers: a claim of an 837 file in, its answers out.

claim (837P set, filedesk.py) -> front-end edits -> accepted | rejected (the 277CA, ack277.py)
                              -> adjudication -> 835 file, immediately or batched per payer,
                                 payee and mailbox on the payer's cycle.

No I/O but its own store (store.py): every answer is written, with what caused it, in the
caller's store transaction, as an answer file the file desk delivers to the mailbox's from/.
What it remembers between claims (what each payer paid, for duplicates and reversals; pending
batches) is loaded from the store, so a restart neither pays twice nor forgets.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from deploy.payer_sandbox import claim837, claim837i
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
from deploy.payer_sandbox.institutional import adjudicate_institutional
from deploy.payer_sandbox.rates import default_rates
from deploy.payer_sandbox.remit835 import build_835, check_balanced
from deploy.payer_sandbox.store import PendingKey, SandboxStore

log = logging.getLogger("payer_sandbox.clearinghouse")

SOURCE = "payer-sandbox"
REMITTANCES_KEPT = 5_000


@dataclass(frozen=True)
class Remittance:
    """An 835 the sandbox wrote (kept for tests and /stats)."""

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
    ) -> None:
        self.config = config
        self.tables = tables
        self.store = store
        self.rates = default_rates()
        self.payers = _payers_run(config, tables)
        self.memory: dict[str, Memory] = {}
        self.pending: dict[PendingKey, list[ClaimPayment]] = {}
        self._payee_names: dict[str, str] = {}
        # The latest 835s, for tests and operators (bounded: volume runs send many).
        self.remittances: deque[Remittance] = deque(maxlen=REMITTANCES_KEPT)
        self.counts: Counter[str] = Counter()
        self.load()

    def load(self) -> None:
        """What the store remembers (at start, and after a transaction that did not commit)."""
        self.memory = self.store.memories()
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

    def decide(
        self,
        claim: claim837.Claim837,
        payer: PayerRules,
        ctx: Context,
        *,
        expected_pcn: str,
        payer_id: str,
        mailbox: str,
        remit: bool = True,
    ) -> tuple[list[claim837.Rejection], str]:
        """The front-end edits, then (when they pass) adjudication: the payments are queued
        for the payer's 835 (to `mailbox`'s from/ folder). Returns the rejections
        (empty when accepted) and the payer claim control number. `remit=False`: the caller
        flushes a payer that pays at once itself (after its own acknowledgment). Call inside a
        store transaction."""
        if claim.institutional is not None:
            problems = claim837i.validate(claim, expected_pcn=expected_pcn)
        else:
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
        if claim.institutional is not None:
            payments = adjudicate_institutional(
                claim, ctx, payer=payer, scenario=scenario, memory=memory, rates=self.rates
            )
        else:
            payments = adjudicate(
                claim, ctx, tables=self.tables, payer=payer, scenario=scenario, memory=memory
            )
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

    def flush(self, keys: list[PendingKey] | None = None, force: bool = False) -> list[Remittance]:
        """Build one 835 per (payer, payee, mailbox) with everything pending for it, into the
        mailbox's answer files. Call inside a store transaction."""
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
            name = answer_name(control_number, "835", datetime.now(UTC))
            self.store.add_output(mailbox, name, "835", text, None)
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
