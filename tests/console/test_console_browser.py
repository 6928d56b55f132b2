"""The console in a real browser (Debian's Chromium, headless, driven by Playwright) against the real
broker, the simulator and a running consumer: the pages load without console errors, show the numbers
the service exports, never show a masked address or run hostile text, and a replay from the page sends
each dead-lettered e-mail exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from consumer.metrics import REGISTRY
from consumer.route import send_id
from tests.console.conftest import ARTIFACTS, HOSTILE, VICTIM, Scenario, StartConsole, wait_for
from tests.integration.harness import WELCOME_EMAIL_ID

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(chromium), headless=True)
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            problems.append(f"{message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))  # an alert() that ran
    yield page
    await context.close()
    assert problems == [], problems


def events_by_outcome(outcome: str) -> int:
    total = 0.0
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            if sample.name == "ssc_events_total" and sample.labels.get("outcome") == outcome:
                total += sample.value
    return int(total)


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_status_page_shows_the_replica_as_the_service_reports_it(
    scenario: Scenario, start_console: StartConsole, page: Page
) -> None:
    console = await start_console(scenario)

    await page.goto(console.url + "/")

    replica = page.locator("section.replica")
    assert await replica.locator("[data-state]").get_attribute("data-state") == "ready"
    sent = replica.locator('tr[data-outcome="SENT"] td.num')
    assert int((await sent.inner_text()).replace(",", "")) == events_by_outcome("SENT")
    permanent = replica.locator('tr[data-outcome="PERMANENT"] td.num')
    assert int((await permanent.inner_text()).replace(",", "")) == events_by_outcome("PERMANENT")
    row = replica.locator(f'tr[data-partition="{scenario.topic}-0"] td.num')
    assert [await c.inner_text() for c in await row.all()] == [
        "0",
        "0",
        "0",
        "0.0",
    ]  # partition, lag, uncommitted, age
    assert await replica.locator('[data-field="paused"]').inner_text() == "none"
    assert await page.locator("svg.chart").count() == 2
    await shot(page, "status")


async def test_dead_letters_are_listed_masked_and_hostile_text_stays_text(
    scenario: Scenario, start_console: StartConsole, page: Page
) -> None:
    console = await start_console(scenario)

    await page.goto(f"{console.url}/dead-letters")

    assert await page.locator('[data-field="selected"]').inner_text() == "2 of 2 records selected"
    assert await page.locator("table.letters tbody tr").count() == 2
    await shot(page, "dead-letters")
    # the two poison events are dead-lettered concurrently: find the hostile one's row by its event id
    hostile_id = scenario.poison[1]["id"]
    await page.locator("table.letters tbody tr").filter(has_text=hostile_id).locator("a").click()
    payload = await page.locator('[data-field="payload"]').inner_text()
    assert HOSTILE in payload  # shown as text ...
    assert await page.locator("main script, main img").count() == 0  # ... never as markup
    content = await page.content()
    assert VICTIM not in content
    assert "v***@example.com" in payload
    await shot(page, "dead-letter")


async def test_replay_from_the_page_sends_each_dead_lettered_email_once(
    scenario: Scenario, start_console: StartConsole, page: Page
) -> None:
    console = await start_console(scenario)
    scenario.sim.state.templates[WELCOME_EMAIL_ID] = ()  # marketing ops fixed the template
    await page.goto(f"{console.url}/dead-letters")

    await page.get_by_role("button", name="Replay the selection: dry run…").click()

    assert await page.locator('[data-field="would-replay"]').inner_text() == (
        "would replay 2 of 2 records; nothing has been published yet"
    )
    await shot(page, "replay-dry-run")
    assert len(scenario.sim.state.sends) == 3  # the dry run published nothing
    await page.get_by_role("button", name="Replay 2 records").click()
    assert (await page.locator('[data-field="replayed"]').inner_text()).startswith("replayed 2 of 2 records")
    expected = {send_id(e["source"], e["id"], "welcome") for e in scenario.events}
    await wait_for(lambda: set(scenario.sim.state.sends) == expected, 60)
    assert all(record.attempts == 1 for record in scenario.sim.state.sends.values())
    assert scenario.sim.state.duplicates_prevented == 0
