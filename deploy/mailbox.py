"""`make up`'s gateway and the payer sandbox's SFTP mailbox: the development keys (made once by
deploy/payer_sandbox/keys.py, so a restart keeps the host key the gateway pinned) and the
gateway's partners.json naming the sandbox (docs/clearinghouse.md describes every field).
Every claim the claims service addresses to the sandbox (ISA08 SANDBOXCH) goes through it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deploy.system import STATE

SANDBOX_STATE = STATE / "payer-sandbox"
PARTNERS_FILE = STATE / "gateway" / "partners.json"
SFTP_PORT = 2222  # deploy/payer_sandbox/keys.py DEFAULT_PORT (that module needs the venv: asyncssh)
HTTP_PORT = 8010  # the sandbox's HTTP API (deploy/processes.py): POST /x12/276 answers a 277
USER = "gateway"  # keys.py DEFAULT_USER
CLAIMS_RECEIVER_ID = "SANDBOXCH"  # the claims service's default ISA08 (services/claims/settings.py)


def sandbox_partner(state: Path = SANDBOX_STATE, host: str = "127.0.0.1") -> dict[str, Any]:
    """The sandbox as the gateway's one trading partner, its host key pinned."""
    from deploy.payer_sandbox.keys import ensure_dev_keys  # asyncssh: only in the venv

    keys = ensure_dev_keys(state, port=SFTP_PORT)
    return {
        "id": "sandbox",
        "name": "Payer sandbox clearinghouse",
        "host": host,
        "port": SFTP_PORT,
        "username": USER,
        "key_file": str(keys.client_key),
        "host_key": keys.host_public_key,
        "to_folder": "to",
        "from_folder": "from",
        "after_download": "delete",
        "isa_sender_id": "REVCYCLE",
        "isa_receiver_id": CLAIMS_RECEIVER_ID,
        "gs_sender_id": "REVCYCLE",
        "gs_receiver_id": CLAIMS_RECEIVER_ID,
        "usage_indicator": "T",  # the sandbox's user is a test user (mailbox-users.json)
        "receiver_ids": [CLAIMS_RECEIVER_ID],
        # A development clearinghouse answers at once: short polls and batch windows keep the
        # demo's day and the benchmarks' stages in seconds (a real one: minutes, docs/clearinghouse.md).
        "poll_seconds": 1,
        "batch_max_claims": 500,
        "batch_max_seconds": 2,
        "default_payer_id": None,
        # 276/277 claim status in real time (005010X212): the payer answers over HTTP, as the
        # sandbox answers a 270 with a 271.
        "claim_status": {
            "mode": "realtime",
            "url": f"http://{host}:{HTTP_PORT}/x12/276",
            "timeout_seconds": 10,
        },
    }


def write_partners_file(
    path: Path = PARTNERS_FILE, state: Path = SANDBOX_STATE, host: str = "127.0.0.1"
) -> Path:
    """Write (or rewrite, so it follows the keys) the gateway's partners.json."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([sandbox_partner(state, host)], indent=2) + "\n")
    return path


def program_extras(name: str) -> dict[str, str]:
    """The environment the gateway and the sandbox need for the mailbox."""
    if name.startswith("gateway"):
        return {"GATEWAY_PARTNERS_FILE": str(PARTNERS_FILE)}
    if name.startswith("payer-sandbox"):
        return {
            "SANDBOX_MAILBOX": "1",
            "SANDBOX_SFTP_PORT": str(SFTP_PORT),
            "SANDBOX_MAILBOX_DIR": str(SANDBOX_STATE),
        }
    return {}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m deploy.mailbox STATE_DIR [--host H] [--out PATH]`: the keys under STATE_DIR and
    the gateway's partners.json (default STATE_DIR/partners.json). `make up` runs it with the
    venv's Python (the keys need asyncssh; deploy/infra.py is standard library only); docker
    compose's mailbox-keys job with `--host payer-sandbox`."""
    parser = argparse.ArgumentParser(prog="python -m deploy.mailbox")
    parser.add_argument("state", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    path = write_partners_file(args.out or args.state / "partners.json", args.state, args.host)
    print(f"mailbox keys and {path} ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
