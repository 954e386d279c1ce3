"""The pages in a real Chromium, on a dashboard with a realistic guild (no bot: the offline banner shows).

Phone and desktop layout, touch target size, axe-core, CSP cleanliness, the progress bar that runs
without requests, toasts, keyboard and drag reorder, load-on-scroll, and the no-JavaScript path.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from browser_kit import (
    DESKTOP,
    SMALL_PHONE,
    Served,
    logged_in_context,
    no_horizontal_scroll,
    serious_axe_violations,
    small_targets,
)
from playwright.async_api import Browser, BrowserContext, Page, Route, expect
from showcase import GUILD, QUEUE_LENGTH, VIEWER, showcase_dashboard

from zilean.web.pages.views import QUEUE_PAGE

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

PATHS = ("/", "/guilds", f"/guilds/{GUILD}", "/guilds/12345")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def dashboard(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with showcase_dashboard(tmp_path_factory.mktemp("showcase")) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def context(browser: Browser, dashboard: Served) -> AsyncIterator[BrowserContext]:
    ctx = await logged_in_context(
        browser, dashboard.app, dashboard.base_url, VIEWER, "alice", viewport=SMALL_PHONE
    )
    yield ctx
    await ctx.close()


async def open_page(context: BrowserContext, path: str) -> tuple[Page, list[str]]:
    """A page at `path` and the CSP / script errors its console reports."""
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await page.goto(path)
    return page, problems


async def test_every_page_fits_a_small_phone_with_big_enough_targets(context: BrowserContext) -> None:
    for path in PATHS:
        page, problems = await open_page(context, path)
        assert await no_horizontal_scroll(page), path
        assert await small_targets(page) == [], path
        assert [p for p in problems if "404" not in p] == [], path  # the 404 page logs its own status
        await page.close()


async def test_axe_finds_no_serious_violation_light_or_dark(browser: Browser, dashboard: Served) -> None:
    for scheme in ("light", "dark"):
        for viewport in (SMALL_PHONE, DESKTOP):
            ctx = await logged_in_context(
                browser,
                dashboard.app,
                dashboard.base_url,
                VIEWER,
                "alice",
                viewport=viewport,
                color_scheme=scheme,
            )
            for path in PATHS:
                page = await ctx.new_page()
                await page.goto(path)
                assert await serious_axe_violations(page) == [], (scheme, viewport, path)
            await ctx.close()
    logged_out = await browser.new_context(base_url=dashboard.base_url)
    page = await logged_out.new_page()
    await page.goto("/")
    assert await serious_axe_violations(page) == []
    await logged_out.close()


async def test_the_progress_bar_advances_in_the_browser_without_requests(context: BrowserContext) -> None:
    page, problems = await open_page(context, f"/guilds/{GUILD}")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    elapsed = page.locator("[data-elapsed]")
    first = await elapsed.text_content()
    await expect(elapsed).not_to_have_text(first or "", timeout=5_000)
    seek = page.locator("#seek")
    assert int(await seek.input_value()) >= 83
    assert [url for url in requests if "/live" not in url and "/static/" not in url] == []
    assert problems == []


async def test_a_control_answers_with_a_toast(context: BrowserContext) -> None:
    page, _ = await open_page(context, f"/guilds/{GUILD}")
    await page.get_by_role("button", name="Stop and clear the queue").click()
    await expect(page.locator(".toast.error")).to_contain_text("the bot is offline")


async def test_the_queue_moves_by_keyboard(context: BrowserContext) -> None:
    page, _ = await open_page(context, f"/guilds/{GUILD}")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.post_data or "") if r.method == "POST" else None)
    down = page.locator(".qe").first.get_by_role("button", name="Move down")
    await down.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(".toast")).to_have_count(1)
    assert any("to=2" in body and "entry_id=" in body for body in posts), posts


async def test_a_control_swapped_in_by_a_live_update_works_at_once(context: BrowserContext) -> None:
    """A live update replaces the controls; a change in the same moment still posts (htmx wires
    swapped-in forms when it settles, so any settle delay is a window where a tap is lost)."""
    page, _ = await open_page(context, f"/guilds/{GUILD}")
    async with page.expect_request(lambda r: r.method == "POST" and "/do/volume" in r.url) as request:
        await page.evaluate(
            """() => {
                const box = document.getElementById("controls");
                // the spec the SSE extension swaps with: the element's, from htmx's defaults
                const spec = {swapStyle: "innerHTML", settleDelay: htmx.config.defaultSettleDelay};
                htmx.swap(box, box.innerHTML, spec);
                const slider = document.getElementById("volume");
                slider.value = "150";
                slider.dispatchEvent(new Event("change", {bubbles: true}));
            }"""
        )
    assert "volume=150" in ((await request.value).post_data or "")


async def test_dragging_a_row_posts_its_new_place(context: BrowserContext) -> None:
    page, _ = await open_page(context, f"/guilds/{GUILD}")
    rows = page.locator(".qe")
    first_id = await rows.nth(0).get_attribute("data-entry-id")
    handle = rows.nth(0).locator(".handle")
    await handle.scroll_into_view_if_needed()
    target = await rows.nth(2).bounding_box()
    box = await handle.bounding_box()
    assert box and target
    # The move is held in flight while we look: the bot is offline here, so its refusal (which puts
    # the rows back as the server has them) would otherwise race the check of the moved row.
    held: asyncio.Future[Route] = asyncio.get_running_loop().create_future()
    await page.route("**/do/move", lambda route: held.set_result(route))
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(box["x"] + 10, target["y"] + target["height"] * 0.75, steps=8)
    await page.mouse.up()
    async with asyncio.timeout(30):
        route = await held
    body = route.request.post_data or ""
    assert route.request.method == "POST" and f"entry_id={first_id}" in body and "to=3" in body, body
    assert await rows.nth(2).get_attribute("data-entry-id") == first_id  # moved on screen at once
    await route.continue_()
    await expect(page.locator(".toast.error")).to_contain_text("the bot is offline")
    await expect(rows.nth(0)).to_have_attribute("data-entry-id", first_id)  # refused: put back


async def test_the_queue_loads_more_when_scrolled(context: BrowserContext) -> None:
    page, _ = await open_page(context, f"/guilds/{GUILD}")
    rows = page.locator(".qe")
    await expect(rows).to_have_count(QUEUE_PAGE)
    await page.locator(".more").scroll_into_view_if_needed()
    await expect(rows).to_have_count(min(2 * QUEUE_PAGE, QUEUE_LENGTH))
    assert re.search(r"^\s*51\s*$", await rows.nth(QUEUE_PAGE).locator(".pos").inner_text())


async def test_without_javascript_controls_post_and_come_back(browser: Browser, dashboard: Served) -> None:
    ctx = await logged_in_context(
        browser, dashboard.app, dashboard.base_url, VIEWER, "alice", java_script_enabled=False
    )
    page = await ctx.new_page()
    await page.goto(f"/guilds/{GUILD}")
    await page.get_by_role("button", name="Skip").click()
    await expect(page).to_have_url(re.compile(rf"/guilds/{GUILD}\?said="))
    await expect(page.locator(".flash")).to_contain_text("the bot is offline")
    await page.get_by_role("button", name="Set").click()  # the volume's submit button shows without JS
    await expect(page.locator(".flash")).to_contain_text("the bot is offline")
    await ctx.close()
