"""The registry's copy of who an account's patient and guarantor are (issue 19, "Address change").

`patient.updated` carries the front office registry's whole record with a per-patient revision.
Payments keeps the highest revision per account, and the registry outranks the EHR's
`encounter.completed` once it has spoken: an older revision, or an encounter arriving after the
move with the old address, never puts the old address back. The next statement and the
collections agency's export carry the current address; a statement already issued keeps the
address it was issued with."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from shared.events.catalogue import Demographics
from tests.conftest import unique
from tests.payments.helpers import (
    ALL,
    get_dunning,
    make_patient_update,
    make_person,
    post_charge,
    post_cycle,
    post_statement_run,
    publish_encounter,
    publish_frontoffice,
    wait_for_parties,
    wait_handled,
)

FIRST = date(2026, 2, 2)


async def get_statement(client, statement_id: str) -> dict:
    resp = await client.get(f"/v1/statements/{statement_id}", headers=ALL)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def export_referral(client, account: str) -> tuple[dict, dict]:
    """The account's referral in today's export, as JSON and as the CSV row."""
    params = {"date_from": str(date.today())}
    document = await client.get(
        "/v1/collections/export", params=params, headers={**ALL, "Accept": "application/json"}
    )
    assert document.status_code == 200, document.text
    (referral,) = [r for r in document.json()["referrals"] if r["account_id"] == account]
    text = (await client.get("/v1/collections/export", params=params, headers=ALL)).text
    (row,) = [r for r in csv.DictReader(io.StringIO(text.split("\n\n")[0])) if r["account_id"] == account]
    return referral, row


async def statement_ids(admin, account: str) -> set[str]:
    rows = await admin.fetch("SELECT id FROM payments.statements WHERE account_id = $1", account)
    return {str(r["id"]) for r in rows}


async def test_address_change_the_next_statement_and_the_collections_export_carry_the_new_address(
    service, producer, admin
):
    account = unique("acct")
    async with service("payments") as (_, client):
        # The EHR's encounter: Pat Doe at 12 Elm St, paying for herself.
        await publish_encounter(producer, account, make_person("Pat", "Doe", line1="12 Elm St"))
        await wait_for_parties(admin, account)
        assert (await post_charge(client, account, "80.00", "2026-01-20")).status_code == 201
        first = await post_statement_run(client, account, str(FIRST))
        assert first.status_code == 200, first.text
        (first_id,) = first.json()["issued"]
        before = await get_statement(client, first_id)
        assert before["recipient"]["address_lines"][0] == "12 Elm St"

        # She moves: the registry publishes revision 2 with the new address.
        moved = await publish_frontoffice(producer, make_patient_update(account, 2, "400 Oak Ave"))
        await wait_handled(admin, moved)

        # The next statement of her dunning sequence (30 days on) is addressed to the new home.
        cycle = await post_cycle(client, str(FIRST + timedelta(days=30)))
        (second_id,) = set(cycle["statements_issued"]) & await statement_ids(admin, account) - {first_id}
        after = await get_statement(client, second_id)
        assert after["recipient"] == {
            "name": "Pat Doe",
            "address_lines": ["400 Oak Ave", "Springfield, IL 62704"],
        }
        # What was issued stays as issued.
        assert (await get_statement(client, first_id))["recipient"]["address_lines"][0] == "12 Elm St"

        # The rest of the sequence, to the agency: the export carries the current address.
        for days in (60, 90, 120, 150):
            await post_cycle(client, str(FIRST + timedelta(days=days)))
        assert (await get_dunning(client, account))["status"] == "referred"
        referral, row = await export_referral(client, account)
        assert referral["debtor"]["address"]["line1"] == "400 Oak Ave"
        assert referral["debtor"]["address"]["postal_code"] == "62704"
        assert "400 Oak Ave" in row["debtor_address"] and "12 Elm St" not in row["debtor_address"]


async def test_an_older_revision_or_a_later_encounter_never_rolls_the_address_back(service, producer, admin):
    account = unique("acct")
    mother = Demographics(
        first_name="Jane", last_name="Doe", birth_date=date(1960, 1, 1), phone="+15555550142"
    )
    async with service("payments") as (_, client):
        # Revision 3 (the newest: her mother answers for the bill) arrives before revision 2
        # (a redelivery from before the move), and then an encounter the EHR typed with the old
        # address.
        newest = make_patient_update(account, 3, "400 Oak Ave", guarantor=mother, relationship_code="19")
        older = make_patient_update(account, 2, "12 Elm St")
        handled = [await publish_frontoffice(producer, newest), await publish_frontoffice(producer, older)]
        await wait_handled(admin, *handled)
        await publish_encounter(producer, account, make_person("Pat", "Doe", line1="12 Elm St"))
        await wait_for_parties(admin, account)

        kept = await admin.fetchrow(
            "SELECT revision, patient, guarantor, relationship FROM payments.registry_parties "
            "WHERE account_id = $1",
            account,
        )
        assert kept["revision"] == 3 and kept["relationship"] == "parent"
        assert '"400 Oak Ave"' in kept["patient"]
        assert "1960" not in kept["guarantor"] and "1961" not in kept["patient"]  # no birth dates kept

        assert (await post_charge(client, account, "45.00", "2026-01-20")).status_code == 201
        run = await post_statement_run(client, account, str(FIRST))
        (statement_id,) = run.json()["issued"]
        statement = await get_statement(client, statement_id)
        # Addressed to the guarantor (her mother, who has no address on file: the registry
        # sent none), naming whose visits these are.
        assert statement["recipient"] == {"name": "Jane Doe", "address_lines": []}
        assert statement["patient_name"] == "Pat Doe"

        # A newer revision does replace it: she is her own guarantor again, at a third address.
        latest = await publish_frontoffice(producer, make_patient_update(account, 4, "7 Birch Rd"))
        await wait_handled(admin, latest)
        row = await admin.fetchrow(
            "SELECT revision, relationship FROM payments.registry_parties WHERE account_id = $1", account
        )
        assert (row["revision"], row["relationship"]) == (4, "self")
