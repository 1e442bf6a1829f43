"""Plain helpers of the ops console tests: the platform's services on real ports with a claims
service that parks a poison encounter, and a headless Chromium driven by Selenium.

Selenium's calls block, and the services run on the test's own event loop: the browser steps
are plain functions the tests run in a thread (`asyncio.to_thread`), so the services keep
answering the browser meanwhile.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from deploy.serving import serving
from services.ops.settings import OpsSettings
from shared.app import ServiceDefinition, create_app
from shared.config import Settings
from shared.consumer import PermanentError, batched
from shared.events import encode, new_event
from shared.events.catalogue import EncounterCompleted
from tests.conftest import encode_signed, service_definition, sign_as, start_group_at_end

SOURCE = f"/partners/ops-test-{uuid.uuid4().hex[:8]}"
SERVICES = ("eligibility", "claims", "payments", "notifications", "gateway", "frontoffice")


def strict_claims() -> ServiceDefinition:
    """The claims service refusing (PermanentError: a dead letter with reason `rule`) an
    encounter whose billing provider is not in its registry; once the provider is registered,
    the replayed encounter makes its claim through the real handler."""
    from services.claims.providers import usecases as providers
    from services.claims.service import SERVICE
    from services.claims.submission.events import on_encounters_completed

    async def strict(session: Any, events: Any) -> None:
        known = await providers.registry(session, {e.data.billing_provider_npi for e in events})
        if any(e.data.billing_provider_npi not in known for e in events):
            raise PermanentError("billing provider is not in the registry")
        await on_encounters_completed(session, events)

    return replace(SERVICE, handlers={**SERVICE.handlers, "encounter.completed": batched(strict)})


@contextlib.asynccontextmanager
async def running(name: str, definition: ServiceDefinition, settings: Settings) -> AsyncIterator[Any]:
    """One service on a real port (uvicorn, its lifespan on), its consumer group starting at the
    end of its topics (the broker is shared: other runs' events are not this test's), no
    workers; yields (app, base URL) once its consumer has its partitions."""
    import asyncio

    await start_group_at_end(
        settings.kafka_bootstrap_servers, settings.consumer_group_prefix + name, list(definition.handlers)
    )
    app = create_app(replace(definition, workers=[]), settings)
    async with serving(app) as url:
        if app.state.consumer is not None:
            await asyncio.wait_for(app.state.consumer.assigned.wait(), 60)
        yield app, url


@contextlib.asynccontextmanager
async def platform(settings: Settings, **definitions: ServiceDefinition) -> AsyncIterator[dict[str, str]]:
    """The five services on ephemeral ports (the given definitions instead of the shipped ones);
    yields service name -> base URL."""
    urls: dict[str, str] = {}
    async with contextlib.AsyncExitStack() as stack:
        for name in SERVICES:
            definition = definitions.get(name) or service_definition(name)
            _, urls[name] = await stack.enter_async_context(running(name, definition, settings))
        yield urls


@contextlib.asynccontextmanager
async def ops_console(
    settings: Settings, urls: dict[str, str], *, timeout_seconds: float = 5.0
) -> AsyncIterator[str]:
    """The ops console on a real port, watching the services at `urls`; yields its base URL."""
    from services.ops.service import SERVICE

    app = create_app(SERVICE, settings)
    addresses = {f"{name}_url": url for name, url in urls.items()}
    app.state.ops_settings = OpsSettings(**addresses, timeout_seconds=timeout_seconds)
    async with serving(app) as url:
        yield url


async def publish(producer: Any, payload: EncounterCompleted) -> uuid.UUID:
    """An encounter as the EHR publishes it."""
    event = new_event(payload, source=SOURCE)
    topic, key, value, headers = encode_signed(event)
    await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    return event.id


async def publish_garbage(producer: Any, payload: EncounterCompleted) -> uuid.UUID:
    """A record on encounter.completed with a well-formed envelope and a body that is not JSON."""
    event = new_event(payload, source=SOURCE)
    topic, key, _, headers = encode(event)
    headers = sign_as("ehr", key, b"{not json", headers)
    await producer.send_and_wait(topic, value=b"{not json", key=key, headers=headers)
    return event.id


# --- the browser --------------------------------------------------------------------------


def make_chromium() -> WebDriver:
    """Debian's chromium and chromedriver, headless (installed by `python3 deploy/infra.py deps`,
    which CI runs). Missing is a failure, not a skip: CI must run this test."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    assert binary and driver, (
        "headless Chromium is needed: apt-get install chromium chromium-driver (python3 deploy/infra.py deps)"
    )
    options = Options()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in CI containers
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-proxy-server",  # the console is on 127.0.0.1
        "--window-size=1440,1000",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=options)


# The page redraws its tables on every refresh (its own timer too): an element read while it
# is replaced is stale, which is "not yet", not a failure (seen in CI with six services).
REDRAWN = (StaleElementReferenceException,)


def wait_until(driver: WebDriver, check: Callable[[WebDriver], Any], what: str, timeout: float = 30) -> Any:
    wait = WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=REDRAWN)
    return wait.until(check, message=f"page: {what}")


def refreshes(driver: WebDriver) -> int:
    return int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-refreshes") or 0)


def sign_in(driver: WebDriver, url: str, token: str) -> None:
    """Open the page, paste the token, wait until the tables are drawn."""
    driver.get(url + "/ops")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "use-token").click()
    wait_until(driver, lambda d: refreshes(d) >= 1, "first refresh with the token")


def letter_row(driver: WebDriver, letter_id: str) -> Any:
    return driver.find_element(By.CSS_SELECTOR, f'#letters tr[data-letter="{letter_id}"]')


def refresh_until(driver: WebDriver, check: Callable[[WebDriver], Any], what: str) -> None:
    """Click Refresh until `check` holds (the services count stuck work in rounds)."""

    def refreshed(d: WebDriver) -> Any:
        before = refreshes(d)
        d.find_element(By.ID, "refresh").click()
        redrawn = WebDriverWait(d, 10, poll_frequency=0.1, ignored_exceptions=REDRAWN)
        redrawn.until(lambda d: refreshes(d) > before)
        return check(d)

    wait_until(driver, refreshed, what)


def screenshot(driver: WebDriver, path: Any) -> None:
    """The whole page from its top: the viewport is made as tall as the document first."""
    driver.execute_script("window.scrollTo(0, 0)")
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    metrics = {"width": 1440, "height": height, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
