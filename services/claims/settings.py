"""Claims settings (env prefix CLAIMS_): who we are on the wire, policy, and where data files live.

Kept out of shared/config.py because only this service reads them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path(__file__).parent / "data"


class ClaimsSettings(BaseSettings):
    """Submitter identity for the 837P envelope, policy switches and operator-supplied code sets."""

    model_config = SettingsConfigDict(env_prefix="CLAIMS_", env_file=None, extra="ignore")

    submitter_id: str = "REVCYCLE"
    submitter_name: str = "REVCYCLE BILLING"
    submitter_contact: str = "BILLING OFFICE"
    submitter_phone: str = "8005550100"
    receiver_id: str = "SANDBOXCH"
    receiver_name: str = "SANDBOX CLEARINGHOUSE"
    usage_indicator: str = Field(default="T", pattern="^[PT]$")
    # Policy: submit clean claims made from encounter.completed without a person's review,
    # and bill the next payer automatically. None = take the value from data/policy.json.
    auto_submit_encounter_claims: bool | None = None
    auto_submit_secondary: bool | None = None
    # Sources (CloudEvents `source`) of encounter.completed this practice takes claims from,
    # comma-separated; empty takes every source. Other EHRs' encounters on the broker are ignored.
    encounter_sources: str = ""
    # Codes valid on any date, one per line (text after a comma or tab is ignored), on top of
    # the code set versions loaded from CMS files (services.claims.codesets): a quick addition;
    # the practice's licensed CPT list is better loaded as a version (make codes-load KIND=cpt).
    code_set_file: Path | None = None
    data_dir: Path = DATA_DIR
    # Stuck work: a claim still `submitted` (no 277CA accept or reject) this many hours after it
    # was sent is stuck at the clearinghouse (a 277CA normally answers within a day).
    stuck_submitted_hours: float = Field(default=48.0, gt=0)


@lru_cache
def get_claims_settings() -> ClaimsSettings:
    return ClaimsSettings()
