"""Sandbox settings from the environment; every knob has a default that works locally."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# Where `make up`'s sandbox keeps what it answered and paid (git-ignored, like the rest of .state/).
DEFAULT_STATE_PATH = Path(__file__).resolve().parents[2] / ".state" / "payer-sandbox.sqlite3"
# The SFTP mailbox's host key, development client key and users (keys.py), and its folders.
DEFAULT_MAILBOX_DIR = Path(__file__).resolve().parents[2] / ".state" / "payer-sandbox"
# The partners' private signing keys `make up` makes once (shared.events.signing): the sandbox
# plays the EHR, so it signs encounters as the EHR would.
DEFAULT_SIGNING_KEYS_DIR = Path(__file__).resolve().parents[2] / ".state" / "partner-keys" / "private"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class SandboxConfig:
    """How one sandbox instance behaves. Claims come only as 837 files in its SFTP mailbox
    (`mailbox`), and every answer is a file; without the mailbox it answers 270s only."""

    seed: int = 7
    slow_delay_ms: int | None = None
    # Overrides of payers.json for every payer (None keeps each payer's own value).
    remittance_mode: str | None = None
    cycle_seconds: float | None = None
    random_denial_share: str | None = None
    # Payer ids whose claims this instance adjudicates (None = every payer in payers.json).
    payers: frozenset[str] | None = field(default=None)
    # The clearinghouse ids (ISA08 of the 837) this instance answers to, like a real
    # clearinghouse that processes only interchanges addressed to it; None = any. This is what
    # lets a test's sandbox refuse interchanges meant for `make up`'s (TA1 R 008).
    receiver_ids: frozenset[str] | None = field(default=frozenset({"SANDBOXCH"}))
    log_level: str = "INFO"
    # Its own store (deploy/payer_sandbox/store.py): a SQLite file, so a restart neither pays a
    # claim twice nor forgets one. None keeps it in memory (in-process test sandboxes).
    state_path: str | None = None
    # Where the EHR's private key is (PARTNER_SIGNING_KEYS_DIR).
    signing_keys_dir: str = field(
        default_factory=lambda: _env("PARTNER_SIGNING_KEYS_DIR", str(DEFAULT_SIGNING_KEYS_DIR)) or ""
    )

    # The SFTP mailbox and its file desk (filedesk.py): 837 files in, TA1/999/277CA/835 out.
    mailbox: bool = False
    sftp_host: str = "127.0.0.1"
    sftp_port: int = 2222  # 0: any free port (tests); /health reports the real one
    sftp_read_delay_ms: int = 0  # sleep per read request (crash tests)
    sftp_write_delay_ms: int = 0  # sleep per write request
    mailbox_state_dir: str = str(DEFAULT_MAILBOX_DIR)
    mailbox_root: str | None = None  # default <mailbox_state_dir>/mailboxes
    mailbox_users_file: str | None = None  # default keys.py's mailbox-users.json
    file_poll_seconds: float = 0.2

    @classmethod
    def from_env(cls) -> SandboxConfig:
        delay = _env("SANDBOX_SLOW_DELAY_MS")
        cycle = _env("SANDBOX_REMITTANCE_CYCLE_SECONDS")
        return cls(
            seed=int(_env("SANDBOX_SEED", "7") or 7),
            slow_delay_ms=int(delay) if delay else None,
            remittance_mode=_env("SANDBOX_REMITTANCE_MODE"),
            cycle_seconds=float(cycle) if cycle else None,
            random_denial_share=_env("SANDBOX_RANDOM_DENIAL_SHARE"),
            receiver_ids=frozenset(
                r.strip() for r in (_env("SANDBOX_RECEIVER_IDS", "SANDBOXCH") or "").split(",") if r.strip()
            )
            or None,
            log_level=_env("LOG_LEVEL", "INFO") or "INFO",
            state_path=_env("SANDBOX_STATE_PATH", str(DEFAULT_STATE_PATH)),
            mailbox=(_env("SANDBOX_MAILBOX", "1") or "1").lower() in ("1", "true", "on", "yes"),
            sftp_host=_env("SANDBOX_SFTP_HOST", "127.0.0.1") or "127.0.0.1",
            sftp_port=int(_env("SANDBOX_SFTP_PORT", "2222") or 2222),
            sftp_read_delay_ms=int(_env("SANDBOX_SFTP_READ_DELAY_MS", "0") or 0),
            sftp_write_delay_ms=int(_env("SANDBOX_SFTP_WRITE_DELAY_MS", "0") or 0),
            mailbox_state_dir=_env("SANDBOX_MAILBOX_DIR", str(DEFAULT_MAILBOX_DIR))
            or str(DEFAULT_MAILBOX_DIR),
            mailbox_root=_env("SANDBOX_MAILBOX_ROOT"),
            mailbox_users_file=_env("SANDBOX_MAILBOX_USERS"),
            file_poll_seconds=float(_env("SANDBOX_FILE_POLL_SECONDS", "0.2") or 0.2),
        )
