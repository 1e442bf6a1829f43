"""The ops page, in a real browser (issue 16, item 8).

An operator opens /ops in headless Chromium (Debian's chromium, driven by Selenium), pastes a
token, and sees every service's health, consumer lag, outbox backlog, stuck work and dead
letters. A poison encounter parked by the claims service is fixed at its cause (the provider is
registered) and replayed by clicking Replay; the claims service's own API then says it was
replayed by that operator, and the claim is made once. The test saves the page as a screenshot
(`make ops-screenshot` writes it to docs/ops-page.png, the one docs/ops.md shows).

Everything is real: the five services and the console on their own ports (uvicorn), the shared
PostgreSQL and Kafka, the browser. Selenium blocks, so its steps run in a thread while the
services answer on the test's event loop.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from shared.auth import mint_token
from tests.claims.helpers import make_npi, make_provider, put_provider
from tests.conftest import eventually, service_definition, token
from tests.ops.helpers import (
    SOURCE,
    letter_row,
    make_chromium,
    ops_console,
    platform,
    publish,
    publish_garbage,
    refresh_until,
    screenshot,
    sign_in,
    strict_claims,
    wait_until,
)
from tests.shared.helpers import claims_take_encounters_from, closed_port, make_encounter

NO_VALUE = "\u2013"  # what the page shows where a service has no such figure (ops.js)

# The screenshot goes where OPS_SCREENSHOT says (`make ops-screenshot` points it at
# docs/ops-page.png); by default into .state, so `make test` leaves the tracked file alone.
SCREENSHOT = Path(
    os.environ.get("OPS_SCREENSHOT") or Path(__file__).resolve().parents[2] / ".state" / "ops-page.png"
)
OPERATOR = f"operator-{uuid.uuid4().hex[:6]}"
OPS_READ = token("ops:read")
LETTERS = "/v1/ops/dead-letters"


async def letters_of(claims: httpx.AsyncClient, *event_ids: uuid.UUID) -> dict[str, dict[str, Any]]:
    """The claims service's dead letters on encounter.completed (any state), by event id, once
    all of `event_ids` are parked."""

    async def listed() -> dict[str, dict[str, Any]] | None:
        resp = await claims.get(LETTERS, params={"status": "any"}, headers=OPS_READ)
        assert resp.status_code == 200, resp.text
        found = {item["event_id"]: item for item in resp.json()["items"]}
        return found if {str(i) for i in event_ids} <= set(found) else None

    return await eventually(listed, timeout=60, what="dead letters parked")


def read_page(driver: WebDriver) -> dict[str, Any]:
    """What the operator sees: health per service, the numbers in each service's row, the lag
    and stuck-work rows, and the dead letters with their states and buttons."""
    services = {}
    for row in driver.find_elements(By.CSS_SELECTOR, "#services tbody tr[data-health]"):
        cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        services[row.get_attribute("data-service")] = {
            "health": row.get_attribute("data-health"),
            "lag": cells[2],
            "outbox": cells[3],
            "dead_letters": cells[5],
            "stuck": cells[6],
            "why": cells[7],
        }
    letters = {
        row.get_attribute("data-letter"): {
            "status": row.get_attribute("data-status"),
            "buttons": [b.text for b in row.find_elements(By.TAG_NAME, "button")],
            "text": row.text,
        }
        for row in driver.find_elements(By.CSS_SELECTOR, "#letters tbody tr[data-letter]")
    }
    lag = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#lag tbody tr")]
    stuck = [r.get_attribute("data-queue") for r in driver.find_elements(By.CSS_SELECTOR, "#stuck tbody tr")]
    return {"services": services, "letters": letters, "lag": lag, "stuck": [q for q in stuck if q]}


def claims_parked(count: int) -> Any:
    """A check: the claims row of the health table counts this many dead letters."""

    def check(driver: WebDriver) -> bool:
        return read_page(driver)["services"]["claims"]["dead_letters"] == str(count)

    return check


def click_replay(driver: WebDriver, letter_id: str) -> str:
    """Click the letter's Replay button; the page's message once the replay answered."""
    letter_row(driver, letter_id).find_element(By.CSS_SELECTOR, "button.replay").click()
    wait_until(driver, lambda d: "Replayed" in d.find_element(By.ID, "message").text, "replay confirmed")
    return driver.find_element(By.ID, "message").text


def shown_status(driver: WebDriver, letter_id: str, status: str) -> str:
    wait_until(
        driver, lambda d: letter_row(d, letter_id).get_attribute("data-status") == status, f"letter {status}"
    )
    return letter_row(driver, letter_id).text


async def test_an_operator_sees_every_service_and_replays_a_dead_letter_by_clicking(
    settings, servers, producer, admin
):
    npi = make_npi()
    encounter = make_encounter(npi)
    operator = mint_token(["ops:read", "ops:replay"], subject=OPERATOR, settings=settings)
    # Stuck work (dead letters included) is counted every second instead of every 30.
    settings = settings.model_copy(update={"stuck_work_every_seconds": 1.0})
    with claims_take_encounters_from(SOURCE):
        async with (
            platform(settings, claims=strict_claims()) as urls,
            ops_console(settings, urls) as ops,
            httpx.AsyncClient(base_url=urls["claims"], timeout=30) as claims,
        ):
            poisoned = await publish(producer, encounter)
            garbage = await publish_garbage(producer, make_encounter(make_npi()))
            parked = await letters_of(claims, poisoned, garbage)
            rule, schema = parked[str(poisoned)], parked[str(garbage)]
            assert (rule["reason"], schema["reason"]) == ("rule", "schema")
            # The operator fixes the cause first: the billing provider goes into the registry.
            assert (await put_provider(claims, make_provider(npi))).status_code in (200, 201)

            driver = await asyncio.to_thread(make_chromium)
            try:
                await asyncio.to_thread(sign_in, driver, ops, operator)
                await asyncio.to_thread(refresh_until, driver, claims_parked(2), "claims: 2 dead letters")
                page = await asyncio.to_thread(read_page, driver)
                assert set(page["services"]) == {
                    "eligibility",
                    "claims",
                    "payments",
                    "notifications",
                    "gateway",
                    "frontoffice",
                }
                for name, seen in page["services"].items():
                    assert seen["health"] in ("pass", "warn"), (name, seen)
                    assert seen["outbox"].isdigit(), (name, seen)  # the backlog, from the overview
                    # A service that consumes nothing (the front office's skeleton) has no lag: a dash.
                    consumes = bool(service_definition(name).handlers)
                    assert seen["lag"].isdigit() if consumes else seen["lag"] == NO_VALUE, (name, seen)
                # Parked dead letters are stuck work: claims warns, and says why.
                assert page["services"]["claims"]["health"] == "warn"
                assert page["services"]["claims"]["stuck"].endswith("queues warn")
                assert "stuck:claims:dead-letters" in page["services"]["claims"]["why"]
                assert any(row.startswith("claims ") and "encounter.completed" in row for row in page["lag"])
                assert page["stuck"], "stuck-work queues are listed"
                assert page["letters"][rule["id"]]["status"] == "parked"
                assert page["letters"][rule["id"]]["buttons"] == ["Replay", "Discard"]
                assert "billing provider is not in the registry" in page["letters"][rule["id"]]["text"]
                assert page["letters"][schema["id"]]["status"] == "parked"

                message = await asyncio.to_thread(click_replay, driver, rule["id"])
                assert str(poisoned) in message and "encounter.completed" in message

                # The claims service's own API: replayed once, by the operator whose token it was.
                letter = (await letters_of(claims, poisoned))[str(poisoned)]
                assert (letter["status"], letter["replays"], letter["decided_by"]) == (
                    "replayed",
                    1,
                    OPERATOR,
                )
                audit = await claims.get(
                    "/v1/audit", params={"resource_type": "dead_letter", "actor": OPERATOR}, headers=OPS_READ
                )
                assert audit.status_code == 200, audit.text
                assert {(e["action"], e["resource_id"]) for e in audit.json()} >= {("replay", rule["id"])}
                # The fix plus the replay made the claim, once.
                claims_made = "SELECT count(*) FROM claims.claims WHERE encounter_id = $1"
                await eventually(
                    lambda: admin.fetchval(claims_made, encounter.encounter_id), timeout=30, what="claim made"
                )
                assert await admin.fetchval(claims_made, encounter.encounter_id) == 1

                # The page shows it replayed, by whom, and keeps the other one parked.
                row = await asyncio.to_thread(shown_status, driver, rule["id"], "replayed")
                assert OPERATOR in row
                after = await asyncio.to_thread(read_page, driver)
                assert after["letters"][schema["id"]]["status"] == "parked"
                # Once the services counted again, claims has the undecodable one parked, only.
                await asyncio.to_thread(refresh_until, driver, claims_parked(1), "claims: 1 dead letter")
                await asyncio.to_thread(screenshot, driver, SCREENSHOT)
            finally:
                await asyncio.to_thread(driver.quit)
    assert await asyncio.to_thread(os.path.getsize, SCREENSHOT) > 10_000


async def test_a_service_that_does_not_answer_is_shown_down_and_the_page_still_renders(settings):
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts, never answers: the console's call times out

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    urls = {
        name: f"http://127.0.0.1:{closed_port()}"
        for name in ("eligibility", "claims", "payments", "gateway", "frontoffice")
    }
    urls["notifications"] = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with (
        server,
        ops_console(settings, urls, timeout_seconds=0.5) as ops,
        httpx.AsyncClient(base_url=ops) as client,
    ):
        page = await client.get("/ops")
        assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
        assert all(name in page.text for name in urls)
        assert (await client.get("/v1/console/overview")).status_code == 401

        answer = await client.get("/v1/console/overview", headers=OPS_READ)
        assert answer.status_code == 200, answer.text
        views = {v["service"]: v for v in answer.json()["services"]}
        assert {name: v["health"] for name, v in views.items()} == dict.fromkeys(urls, "down")
        assert views["claims"]["problem"] == "unreachable (ConnectError)"
        assert views["notifications"]["problem"] == "no answer within 0.5 s"

        letters = (await client.get("/v1/console/dead-letters", headers=OPS_READ)).json()
        assert letters["items"] == [] and not any(s["listed"] for s in letters["sources"])

        letter = f"/v1/console/dead-letters/claims/{uuid.uuid4()}"
        assert (await client.post(f"{letter}/replay", headers=OPS_READ)).status_code == 403
        refused = await client.post(f"{letter}/replay", headers=token("ops:read", "ops:replay"))
        assert refused.status_code == 503 and refused.json()["retryable"] is True
        unknown = await client.post(
            f"/v1/console/dead-letters/billing/{uuid.uuid4()}/replay", headers=token()
        )
        assert unknown.status_code == 404
