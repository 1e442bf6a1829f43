"""A trading partner's configuration (GATEWAY_PARTNERS_FILE, a JSON list; docs/clearinghouse.md).

Secrets are never in the file, only where they are (`password_env`, `password_file`,
`key_file`): they are read when the gateway connects, are `SecretStr` in memory, and never
appear in logs, problems or `GET /v1/partners`. The server's host key is pinned (`host_key`
or `known_hosts_file`): a gateway that cannot tell its clearinghouse from an attacker on the
network must not hand it claims.

File names are formats with only these variables, so no name can carry PHI:
`{partner}`, `{icn}` (ISA13, int), `{gcn}` (GS06, int), `{ts}` (UTC datetime), `{kind}`
(837, 276), `{uuid}`.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

NAME_VARIABLES = frozenset({"partner", "icn", "gcn", "ts", "kind", "uuid"})
ISA_ID = r"^[A-Za-z0-9 ._\-]{1,15}$"


class ClaimStatusConfig(BaseModel):
    """How this partner answers 276 claim-status inquiries (005010X212)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["realtime", "batch", "off"] = "off"
    url: str | None = None  # real time: where a 276 is POSTed and a 277 comes back
    timeout_seconds: float = Field(default=30.0, gt=0)


class TradingPartner(BaseModel):
    """One clearinghouse mailbox and how to speak to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    name: str = Field(min_length=1, max_length=80)
    # Where and who: the SFTP server, the user, and the secret's source (one of them).
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1, max_length=64)
    password_env: str | None = None
    password_file: Path | None = None
    key_file: Path | None = None
    key_passphrase_env: str | None = None
    host_key: str | None = None  # "ssh-ed25519 AAAA..." pinned
    known_hosts_file: Path | None = None
    # Folders and their handling.
    to_folder: str = "to"
    from_folder: str = "from"
    after_download: Literal["leave", "delete", "move"] = "delete"
    archive_folder: str | None = None  # for after_download=move
    upload_mode: Literal["rename", "direct"] = "rename"
    temp_suffix: str = ".part"
    file_names: dict[str, str] = Field(
        default_factory=lambda: {
            "837": "{partner}_{icn:09d}_{ts:%Y%m%d%H%M%S}.837",
            "276": "{partner}_{icn:09d}_{ts:%Y%m%d%H%M%S}.276",
        }
    )
    # The envelope we write (ISA05/06, ISA07/08, GS02/03, ISA15, ISA14).
    isa_sender_qualifier: str = Field(default="ZZ", min_length=2, max_length=2)
    isa_sender_id: str = Field(pattern=ISA_ID)
    isa_receiver_qualifier: str = Field(default="ZZ", min_length=2, max_length=2)
    isa_receiver_id: str = Field(pattern=ISA_ID)
    gs_sender_id: str = Field(min_length=2, max_length=15)
    gs_receiver_id: str = Field(min_length=2, max_length=15)
    usage_indicator: Literal["T", "P"] = "P"
    ack_requested: bool = False
    # Which claims go here: the ISA08 receiver ids the claims service writes into its 837s.
    receiver_ids: frozenset[str] = Field(min_length=1)
    # Pace: mailbox polling, how long a name must be still before it is taken, batching.
    poll_seconds: float = Field(default=60.0, gt=0)
    settle_seconds: float = Field(default=0.0, ge=0)
    batch_max_claims: int = Field(default=5000, ge=1, le=5000)
    batch_max_seconds: float = Field(default=300.0, gt=0)
    control_number_start: int = Field(default=1, ge=1, le=999_999_999)
    # 835s: which of our payer ids an N1*PR / REF*2U names; the default when none matches.
    payer_map: dict[str, str] = Field(default_factory=dict)
    default_payer_id: str | None = None
    claim_status: ClaimStatusConfig = Field(default_factory=ClaimStatusConfig)

    @field_validator("file_names")
    @classmethod
    def _names_use_known_variables(cls, value: dict[str, str]) -> dict[str, str]:
        for kind, pattern in value.items():
            fields = {f for _, f, _, _ in string.Formatter().parse(pattern) if f}
            unknown = fields - NAME_VARIABLES
            if unknown:
                raise ValueError(f"file_names[{kind}] uses unknown variables {sorted(unknown)}")
        return value

    @model_validator(mode="after")
    def _one_secret_and_a_pinned_host(self) -> TradingPartner:
        sources = [s for s in (self.password_env, self.password_file, self.key_file) if s]
        if len(sources) != 1:
            raise ValueError("exactly one of password_env, password_file, key_file is required")
        if not (self.host_key or self.known_hosts_file):
            raise ValueError("host_key or known_hosts_file is required: the server's key is pinned")
        if self.after_download == "move" and not self.archive_folder:
            raise ValueError("after_download=move needs archive_folder")
        return self


class Credentials(BaseModel):
    """A partner's secret, read at connect time from where the configuration points."""

    model_config = ConfigDict(frozen=True)

    password: SecretStr | None = None
    key_file: Path | None = None
    key_passphrase: SecretStr | None = None
