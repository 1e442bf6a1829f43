"""The practice the sandbox EHR charts for: its providers, registered in the claims service's
provider registry as a practice's staff would, through the API (PUT /v1/providers/{npi}).

    python -m deploy.payer_sandbox.practice [--claims-url http://127.0.0.1:8002]

The EHR's encounters name providers by NPI only (`ehr.BILLING_NPI` bills, any of
`ehr.PROVIDERS` renders); a claim takes the names, the billing address with ZIP+4, the tax id
and the taxonomies from the registry, and the scrubber holds a claim whose providers the
registry lacks. `make up` registers them once the services are ready, and `make demo` and the
end-to-end suite again before they send encounters (PUT of the same record changes nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import httpx

from deploy.payer_sandbox import ehr_hospital
from deploy.payer_sandbox.ehr import BILLING_NPI, PROVIDERS
from deploy.processes import PROCESSES
from shared.auth import mint_token
from shared.config import Settings

CLAIMS_URL = next(f"http://127.0.0.1:{p.port}" for p in PROCESSES if p.name == "claims")
TAXONOMY_FAMILY_MEDICINE = "207Q00000X"
TAXONOMY_INTERNAL_MEDICINE = "207R00000X"

# The group practice bills (837P 2010AA: organization name, street address with ZIP+4, EIN,
# taxonomy) and also stands as the rendering provider when the EHR names its NPI; two
# physicians render (2310B: last and first name, taxonomy). The EHR's hospital (its 837I
# encounters) follows: the facility that bills and its attending and operating physicians.
REGISTRY: list[dict[str, Any]] = [
    {
        "npi": BILLING_NPI,
        "entity_type": "organization",
        "name": "SANDBOX FAMILY PRACTICE",
        "taxonomy": TAXONOMY_FAMILY_MEDICINE,
        "tax_id": "561234567",
        "tax_id_type": "EI",
        "address": {"line1": "100 MAIN ST", "city": "SPRINGFIELD", "state": "IL", "postal_code": "627011234"},
        "roles": ["billing", "rendering"],
    },
    {
        "npi": PROVIDERS[1],
        "entity_type": "person",
        "name": "CARTER",
        "first_name": "MORGAN",
        "taxonomy": TAXONOMY_FAMILY_MEDICINE,
        "roles": ["rendering"],
    },
    {
        "npi": PROVIDERS[2],
        "entity_type": "person",
        "name": "NGUYEN",
        "first_name": "RILEY",
        "taxonomy": TAXONOMY_INTERNAL_MEDICINE,
        "roles": ["rendering"],
    },
    *ehr_hospital.REGISTRY,
]


async def register(
    claims_url: str = CLAIMS_URL,
    *,
    subject: str = "practice-setup",
    transport: httpx.AsyncBaseTransport | None = None,
    settings: Settings | None = None,
) -> list[int]:
    """PUT every provider of the sandbox practice into the registry; the status of each
    (201 registered, 200 already there and replaced). Raises on any other answer. `transport`
    reaches an app in the same process (tests); its token is a development token (`settings`,
    default the process's: development mode, see shared.auth.mint_token)."""
    token = mint_token(["claims:write"], subject=subject, settings=settings)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=claims_url, timeout=10, transport=transport) as http:
        statuses = []
        for record in REGISTRY:
            resp = await http.put(f"/v1/providers/{record['npi']}", json=record, headers=headers)
            resp.raise_for_status()
            statuses.append(resp.status_code)
    return statuses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.payer_sandbox.practice", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--claims-url", default=CLAIMS_URL, help=f"the claims service (default {CLAIMS_URL})")
    args = parser.parse_args(argv)
    try:
        statuses = asyncio.run(register(args.claims_url))
    except httpx.HTTPError as exc:
        print(f"practice: could not register the sandbox practice's providers: {exc}", file=sys.stderr)
        return 1
    new = statuses.count(201)
    print(f"practice: {len(statuses)} providers in the registry ({new} new) at {args.claims_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
