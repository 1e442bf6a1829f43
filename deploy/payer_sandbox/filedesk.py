"""The clearinghouse's file desk: 837 files in from each mailbox's `to/`, answer files out to
its `from/`.

    to/<name>  --take-->  files_in row (committed)  --answer-->  TA1 | 999 + 277CA (+ 835s)
                                                                 in files_out, same transaction
               --deliver-->  from/.<name>.tmp  --os.replace-->  from/<name>, marked written

Taking: a file is read, its row (name, sha256, mailbox, ISA13, text) committed, and only then
removed from `to/`; `*.part`, dot files and files a session still has open for writing are
not settled yet and wait. The same name with the same content again is ignored (a client
retrying an upload it was not sure of); the same ISA13 with other content is answered TA1 R
025. Answering: the envelope (TA1, ack999.py), each functional group's sets (999,
check837.py), each accepted set's claims through today's front-end edits and adjudication
(clearinghouse.py `decide`, keyed on the patient control number and the payer, since a file
carries no claim id), one 277CA (ack277.py) for the file, then the 835s of payers that pay at
once. Everything a file causes commits with its state change, so a crash re-answers it whole
or not at all; delivering is idempotent (a written file is rewritten the same on restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from deploy.payer_sandbox import claim837, claim837i
from deploy.payer_sandbox.ack277 import ClaimAnswer, write_277ca
from deploy.payer_sandbox.ack999 import (
    Envelope,
    GroupAck,
    envelope_of,
    ta1_note,
    unpadded,
    write_999,
    write_ta1,
)
from deploy.payer_sandbox.adjudication import Context
from deploy.payer_sandbox.check837 import ElementNote, SegmentNote, SetAck, check_set, envelope_check
from deploy.payer_sandbox.clearinghouse import Clearinghouse, answer_name, due_keys
from deploy.payer_sandbox.config import SandboxConfig
from deploy.payer_sandbox.data import Tables
from deploy.payer_sandbox.keys import DEFAULT_PORT, ensure_dev_keys
from deploy.payer_sandbox.mailbox import Mailbox, load_users
from deploy.payer_sandbox.store import PendingKey, SandboxStore
from shared import x12

log = logging.getLogger("payer_sandbox.filedesk")

COVERAGE = {"P": "primary", "S": "secondary", "T": "tertiary"}
Dated = tuple[date, str, claim837.Claim837]  # GS04, ST02, a claim of that set
Other = tuple[x12.FunctionalGroup, list[x12.TransactionSet]]  # a handled group, its accepted sets
# Functional groups that are not 837 claims are answered by a handler registered here by GS01
# (e.g. "HR": claimstatus.py's batch 276 -> 277 files). The 999 acknowledges their sets'
# envelopes (ST/SE); the handler, called in the file's transaction after the 999, writes its
# answers with `desk.output(user, kind, file_id, build)`.
GroupHandler = Callable[["FileDesk", str, int, Envelope, list[x12.TransactionSet]], None]
GROUP_HANDLERS: dict[str, GroupHandler] = {}
DEFAULT_ID = "SANDBOXCH"


class FileDesk:
    """Takes, answers and delivers files for every user of `mailbox`."""

    def __init__(self, clearinghouse: Clearinghouse, mailbox: Mailbox) -> None:
        self.clearinghouse = clearinghouse
        self.store = clearinghouse.store
        self.config = clearinghouse.config
        self.mailbox = mailbox
        self._task: asyncio.Task[None] | None = None
        self._last: dict[str, float] = {}

    def launch(self, poll_seconds: float = 0.2) -> None:
        self._task = asyncio.create_task(self._run(poll_seconds), name="payer-sandbox-filedesk")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self.store.path == ":memory:":
            with contextlib.suppress(Exception), self.store.transaction():
                self.clearinghouse.flush(force=True)  # nothing would remember pending batches
            with contextlib.suppress(Exception):
                self.deliver()

    async def _run(self, poll_seconds: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                self.step(loop.time())
            except Exception:
                log.exception("the file desk failed a round; trying again")
            await asyncio.sleep(poll_seconds)

    def step(self, now: float) -> None:
        """One round: take settled files, answer what is recorded, run due 835 cycles, deliver."""
        self.take()
        self.answer_recorded()
        due = due_keys(self.clearinghouse, self._last, now)
        if due:
            try:
                with self.store.transaction():
                    self.clearinghouse.flush(keys=due)
            except Exception:
                self.clearinghouse.load()
                raise
        self.deliver()

    # --- taking ------------------------------------------------------------------------

    def take(self) -> None:
        for user in list(self.mailbox.users):
            inbox = self.mailbox.folder(user) / "to"
            if not inbox.is_dir():
                continue
            for path in sorted(inbox.iterdir(), key=lambda p: p.name):
                if not path.is_file() or path.name.startswith(".") or path.name.endswith(".part"):
                    continue
                if self.mailbox.transfers.writing(path):
                    continue  # still being uploaded
                self._take(user, path)

    def _take(self, user: str, path: Path) -> None:
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        text = data.decode("utf-8", errors="replace")
        with self.store.transaction():
            if self.store.file_known(user, path.name, sha):
                self.clearinghouse.counts["files_repeated"] += 1
            else:
                envelope = envelope_of(text)
                self.store.file_received(
                    user, path.name, sha, envelope.control_number if envelope else None, text
                )
                self.clearinghouse.counts["files_received"] += 1
        path.unlink(missing_ok=True)  # only once its row is committed

    # --- answering ---------------------------------------------------------------------

    def answer_recorded(self) -> None:
        for file_id, user, sha, text in self.store.files_to_answer():
            try:
                with self.store.transaction():
                    self.answer(file_id, user, sha, text)
            except Exception:
                self.clearinghouse.load()  # what the failed transaction changed in memory
                log.exception("answering mailbox file %s failed; answering TA1 R 024", file_id)
                self._failed(file_id, user, text)

    def _failed(self, file_id: int, user: str, text: str) -> None:
        """A file the desk could not answer (a sandbox bug, or content no check foresaw):
        TA1 R 024 rather than blocking the files behind it."""
        envelope = envelope_of(text)
        ours, now = self._our_id(envelope), datetime.now(UTC)
        rejected = functools.partial(write_ta1, envelope, code="R", note="024", ours=ours, now=now)
        with self.store.transaction():
            self.output(user, "TA1", file_id, lambda n: rejected(control_number=n))
            self.store.file_answered(file_id, "failed")

    def _our_id(self, envelope: Envelope | None) -> str:
        ids = self.config.receiver_ids
        if envelope is not None and (ids is None or envelope.receiver_id in ids):
            return envelope.receiver_id
        return sorted(ids)[0] if ids else DEFAULT_ID

    def output(self, user: str, kind: str, file_id: int | None, build: Callable[[int], str]) -> None:
        """An answer file into files_out (its ISA13 is the store's next control number)."""
        control_number = self.store.next_control_number()
        text = build(control_number)
        self.store.add_output(user, answer_name(control_number, kind, datetime.now(UTC)), kind, text, file_id)
        self.clearinghouse.counts[f"sent_{kind}"] += 1

    def _envelope_problem(self, file_id: int, user: str, sha: str, envelope: Envelope | None) -> str | None:
        if envelope is None:
            return "022"
        if self.store.icn_reused(file_id, user, envelope.control_number, sha):
            return "025"
        ids = self.config.receiver_ids
        if ids is not None and envelope.receiver_id not in ids:
            return "008"
        account = self.mailbox.users.get(user)
        if account is not None and envelope.usage != account.usage:
            return "020"
        return None

    def answer(self, file_id: int, user: str, sha: str, text: str) -> None:
        """Everything one file causes (call inside a store transaction)."""
        now = datetime.now(UTC)
        text, padded = unpadded(text)
        if padded:
            self.clearinghouse.counts["files_padded"] += 1  # read through, counted (no PHI)
        envelope = envelope_of(text)
        ours = self._our_id(envelope)
        note = self._envelope_problem(file_id, user, sha, envelope)
        inter: x12.Interchange | None = None
        if note is None:
            try:
                inter = x12.parse(text, strict=False, per_set=True)
            except x12.X12Error as exc:
                note = ta1_note(exc)
        if inter is not None:
            for warning in inter.warnings:
                if warning.segment in ("IEA", "GE"):
                    note = note or ta1_note(warning)
        if note is not None or inter is None or envelope is None:
            rejected = functools.partial(
                write_ta1, envelope, code="R", note=note or "022", ours=ours, now=now
            )
            self.output(user, "TA1", file_id, lambda n: rejected(control_number=n))
            self.store.file_answered(file_id, "rejected")
            return
        if envelope.ack_requested:
            accepted = functools.partial(write_ta1, envelope, code="A", note="000", ours=ours, now=now)
            self.output(user, "TA1", file_id, lambda n: accepted(control_number=n))
        groups, claims, others = self._read_groups(inter)
        self.output(
            user, "999", file_id, lambda n: write_999(groups, envelope, ours=ours, control_number=n, now=now)
        )
        for group, accepted in others:  # e.g. 276 batch inquiries (claimstatus.py)
            GROUP_HANDLERS[group.functional_id](self, user, file_id, envelope, accepted)
        answers, keys = self._decide(user, envelope, claims)
        if answers:
            ca = functools.partial(
                write_277ca, answers, ours=ours, partner=envelope.sender_id, received=now,
                batch_trace=envelope.control_number, usage=envelope.usage, now=now,
            )  # fmt: skip
            self.output(user, "277CA", file_id, lambda n: ca(control_number=n))
        immediate = [k for k in keys if self.clearinghouse.payers[k[0]].remittance_mode != "batched"]
        if immediate:
            self.clearinghouse.flush(keys=immediate)
        self.store.file_answered(file_id, "answered")

    def _read_groups(self, inter: x12.Interchange) -> tuple[list[GroupAck], list[Dated], list[Other]]:
        """The 999 verdict per group and set; the claims of the accepted 837 sets (with the
        group's date and the set's control number); the accepted sets of groups a registered
        handler answers (GROUP_HANDLERS, by GS01)."""
        groups: list[GroupAck] = []
        claims: list[Dated] = []
        others: list[Other] = []
        for group in inter.groups:
            day = _gs_date(group.gs)
            handled = group.functional_id in GROUP_HANDLERS
            acks: list[SetAck] = []
            accepted: list[x12.TransactionSet] = []
            for tx in group.transactions:
                ack = envelope_check(tx, inter.warnings) if handled else check_set(tx, inter.warnings)
                if ack.accepted and handled:
                    accepted.append(tx)
                elif ack.accepted:
                    try:
                        reader = claim837i.parse_set if claim837i.is_institutional(tx) else claim837.parse_set
                        for claim in reader(tx, receiver_id=inter.receiver_id):
                            claims.append((day, tx.control_number, claim))
                    except x12.X12Error as exc:
                        ack.notes.append(_note_of(exc, tx))
                        ack.set_codes.append("5")
                acks.append(ack)
            groups.append(GroupAck(group.functional_id, group.control_number, group.version, acks))
            if accepted:
                others.append((group, accepted))
        return groups, claims, others

    def _decide(
        self, user: str, envelope: Envelope, claims: list[Dated]
    ) -> tuple[list[ClaimAnswer], list[PendingKey]]:
        answers: list[ClaimAnswer] = []
        keys: list[PendingKey] = []
        for n, (day, set_number, claim) in enumerate(claims, start=1):
            trace = f"{envelope.control_number}-{set_number}-{n}"
            payer = self.clearinghouse.payers.get(claim.payer_id)
            if payer is None:
                self.clearinghouse.counts["rejected"] += 1
                answers.append(ClaimAnswer(claim, claim.payer_id, claim.payer_name, trace, codes=["A3:116"]))
                continue
            ctx = Context(
                seed=self.config.seed,
                claim_id=claim.pcn,
                submitted_on=day,
                coverage_order=COVERAGE.get(claim.payer_responsibility, "primary"),
                original_pccn=claim.original_reference,
                random_denial_share=payer.random_denial_share,
            )
            problems, pccn = self.clearinghouse.decide(
                claim, payer, ctx, expected_pcn=claim.pcn, payer_id=payer.payer_id, mailbox=user, remit=False
            )
            if not problems:
                keys.append((payer.payer_id, claim.billing_npi, user))
            answers.append(
                ClaimAnswer(
                    claim, payer.payer_id, payer.name, trace, pccn or None, [p.code for p in problems]
                )
            )
        return answers, list(dict.fromkeys(keys))

    # --- delivering --------------------------------------------------------------------

    def deliver(self) -> None:
        """Write stored answers to their `from/` (temp name, then os.replace), mark each written."""
        for output_id, user, name, text in self.store.unwritten_outputs():
            outbox = self.mailbox.folder(user) / "from"
            outbox.mkdir(parents=True, exist_ok=True)
            tmp = outbox / f".{name}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, outbox / name)
            with self.store.transaction():
                self.store.output_written(output_id)


def _gs_date(gs: x12.Segment) -> date:
    """GS04 (CCYYMMDD), the day the claims were submitted; today when unreadable."""
    try:
        return x12.read_d8(gs, 4)
    except x12.X12Error:
        return datetime.now(UTC).date()


def _note_of(error: x12.X12Error, tx: x12.TransactionSet) -> SegmentNote:
    """An IK3 (and IK4) for an element shared.x12 could not read (IK304 8, IK403 6/7)."""
    position = (error.position - tx.st.position + 1) if error.position else len(tx.segments) + 2
    elements = (ElementNote(error.element, "", "6"),) if error.element else ()
    return SegmentNote(error.segment or "SE", position, "", "8", elements)


class Files:
    """The mailbox and its file desk, as the app runs them (started in its lifespan)."""

    def __init__(self, mailbox: Mailbox, desk: FileDesk) -> None:
        self.mailbox = mailbox
        self.desk = desk

    @classmethod
    async def start(cls, config: SandboxConfig, tables: Tables) -> Files:
        """Keys (made once), users, the SFTP server, and the desk over the sandbox's store."""
        state = Path(config.mailbox_state_dir)
        keys = ensure_dev_keys(state, port=config.sftp_port or DEFAULT_PORT)
        users = load_users(Path(config.mailbox_users_file or keys.users_file))
        mailbox = Mailbox(
            Path(config.mailbox_root or state / "mailboxes"),
            users,
            read_delay_ms=config.sftp_read_delay_ms,
            write_delay_ms=config.sftp_write_delay_ms,
        )
        await mailbox.start(config.sftp_host, config.sftp_port, keys.host_key)
        clearinghouse = Clearinghouse(config, tables, SandboxStore(config.state_path))
        desk = FileDesk(clearinghouse, mailbox)
        desk.launch(config.file_poll_seconds)
        return cls(mailbox, desk)

    async def stop(self) -> None:
        await self.desk.stop()
        await self.mailbox.close()
        self.desk.store.close()
