"""End to end in a real browser: the sandbox (Discord), the real bot and the dashboard, as `zilean run`.

One stack for the module (starting it is the slow part), a known state for each test: `fresh` (the
bot out of voice, nothing queued, defaults everywhere, alice alone in Music), `playing_steps` on
top of it (the 60-s steps track on repeat), and people logged in afresh (`alice`, `bob`). So each
test passes alone and in any order: log in, join, play, pause, volume, a second viewer, reorder, a
Discord skip, then the refusals (CSRF, a member who leaves, the limiter) and logout.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from browser_kit import PHONE
from e2e_stack import Stack, running_stack
from fresh_stack import fresh_guild
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from bot.bot_harness import SOURCE_AMPLITUDE, level

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

SOURCE_RMS = SOURCE_AMPLITUDE / 2**0.5
LIVE = 30_000  # ms a live change may take to show (a bound for a condition, not a measured time)
ANSWER = 60_000  # ms the bot may take to answer a control on a machine shared with a busy test run


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    # Every test logs its people in afresh: more logins a minute than one person would need.
    async with running_stack(tmp_path_factory.mktemp("stack"), rate_limit_logins_per_min=1000) as running:
        yield running


async def log_in(browser: Browser, stack: Stack, username: str) -> tuple[BrowserContext, Page]:
    """A person opens the dashboard and logs in through the sandbox's OAuth2 page."""
    context = await browser.new_context(base_url=stack.web.base_url, viewport=PHONE)
    page = await context.new_page()
    await page.goto("/")
    await page.get_by_role("link", name="Login with Discord").click()
    await page.wait_for_url(f"{stack.sandbox.base_url}/oauth2/authorize*")
    await page.select_option("select[name=user_id]", str(stack.driver.users[username]))
    await page.get_by_role("button", name="Authorize").click()
    await page.wait_for_url(f"{stack.web.base_url}/guilds")
    return context, page


async def on_live_player(page: Page, stack: Stack) -> None:
    """Open the player and wait until its live stream is connected (changes from now on reach it)."""
    await page.goto(player_url(stack))
    await expect(page.locator("#live-state")).to_have_text("Live", timeout=LIVE)


@pytest_asyncio.fixture(loop_scope="module")
async def fresh(stack: Stack) -> Stack:
    """The guild as a newcomer finds it (bot out of voice, nothing queued, defaults), alice in Music."""
    await fresh_guild(stack, in_voice=("alice",))
    return stack


@pytest_asyncio.fixture(loop_scope="module")
async def playing_steps(fresh: Stack) -> Stack:
    """`fresh` with the bot in Music playing the 60-s steps track on repeat (the queue stays put)."""
    driver = fresh.driver
    reply = await driver.say("alice", "=play local:steps.flac", within=60)
    assert "Steps" in reply.text, reply.text
    await driver.packets_flowing(within=60)
    reply = await driver.say("alice", "=loop one", within=60)
    assert re.search("loop|repeat|one", reply.text, re.I), reply.text
    return fresh


@pytest_asyncio.fixture(loop_scope="module")
async def alice(browser: Browser, fresh: Stack) -> AsyncIterator[Page]:
    """Alice logged in afresh, on the guild's player page."""
    context, page = await log_in(browser, fresh, "alice")
    await on_live_player(page, fresh)
    yield page
    await context.close()


@pytest_asyncio.fixture(loop_scope="module")
async def bob(browser: Browser, fresh: Stack) -> AsyncIterator[Page]:
    """Bob logged in afresh, on the guild's player page."""
    context, page = await log_in(browser, fresh, "bob")
    await on_live_player(page, fresh)
    yield page
    await context.close()


def player_url(stack: Stack) -> str:
    return f"{stack.web.base_url}/guilds/{stack.driver.guild_id}"


async def answered(page: Page, control: Locator, pattern: str, status: int = 200) -> str:
    """Use a control; the bot's answer (status and toast text, from HX-Trigger) matches `pattern`."""
    await control.wait_for()
    async with page.expect_response(lambda r: "/do/" in r.url, timeout=ANSWER) as info:
        await control.click()
    response = await info.value
    message = (
        json.loads(await response.header_value("hx-trigger") or "{}").get("toast", {}).get("message", "")
    )
    assert response.status == status and re.search(pattern, message, re.I), (response.status, message)
    return str(message)


async def toast(page: Page, pattern: str) -> None:
    """A toast matching `pattern` is on screen."""
    await expect(page.locator(".toast").filter(has_text=re.compile(pattern, re.I))).not_to_have_count(
        0, timeout=LIVE
    )


async def packets_stop(stack: Stack) -> int:
    """Wait until the receiver gets no new packets between two looks; returns the count."""
    previous = -1
    for _ in range(60):
        count = int((await stack.driver.voice())["packets"])
        if count == previous:
            return count
        previous = count
        await asyncio.sleep(0.5)
    raise AssertionError("packets kept arriving")


async def test_log_in_through_the_sandbox_and_see_the_guild(browser: Browser, fresh: Stack) -> None:
    stack = fresh
    context, alice = await log_in(browser, stack, "alice")
    guild = stack.sandbox.world.guilds[stack.driver.guild_id]
    link = alice.get_by_role("link", name=guild.name)
    await expect(link).to_be_visible()
    await link.click()
    await alice.wait_for_url(player_url(stack))
    await expect(alice.get_by_role("heading", name=guild.name)).to_be_visible()
    await context.close()


async def test_join_my_voice_channel_then_play_and_hear_it(stack: Stack, alice: Page) -> None:
    await stack.driver.join_voice("alice")
    await alice.reload()
    await answered(alice, alice.get_by_role("button", name="Join my voice channel"), "joined|connected|music")
    await alice.get_by_label("Link, search words or local: query").fill("steps")
    await alice.get_by_role("button", name="Add", exact=True).click()
    message = await answered(alice, alice.get_by_role("button", name="Add Steps"), "steps")
    await toast(alice, re.escape(message))  # the bot's reply, shown to the person
    await stack.driver.packets_flowing()
    await expect(alice.locator(".np-title")).to_contain_text("Steps", timeout=LIVE)  # live, no reload
    # Repeat this 60 s track from now on, so the queue stays put however slow the machine is.
    await answered(alice, alice.get_by_role("button", name="One (loop)"), "loop|repeat|one")


@pytest.mark.usefixtures("playing_steps")
async def test_pause_from_the_page_stops_the_packets(stack: Stack, alice: Page) -> None:
    await answered(alice, alice.get_by_role("button", name="Pause"), "paus")
    stopped = await packets_stop(stack)
    await asyncio.sleep(1.0)
    assert (await stack.driver.voice())["packets"] == stopped
    await expect(alice.get_by_role("button", name="Resume")).to_be_visible(timeout=LIVE)
    await answered(alice, alice.get_by_role("button", name="Resume"), "resum")
    await stack.driver.packets_flowing()


@pytest.mark.usefixtures("playing_steps")
async def test_the_volume_slider_at_200_gives_half_the_source_level(stack: Stack, alice: Page) -> None:
    async with alice.expect_response(lambda r: "/do/volume" in r.url, timeout=ANSWER) as info:
        await alice.locator("#volume").fill("200")
    assert (await info.value).status == 200
    start = (await stack.driver.voice())["packets"]
    await stack.driver.wait_voice(lambda s: s["packets"] >= start + 60)
    assert level(await stack.driver.listen(0.8)) == pytest.approx(0.5 * SOURCE_RMS, rel=0.10)


@pytest.mark.usefixtures("playing_steps")
async def test_a_second_browser_sees_each_change_live(stack: Stack, alice: Page, bob: Page) -> None:
    queue = bob.get_by_role("button", name="Queue (loop)")
    await expect(queue).to_have_attribute("aria-pressed", "false")
    await answered(alice, alice.get_by_role("button", name="Queue (loop)"), "loop|repeat|queue")
    await expect(queue).to_have_attribute("aria-pressed", "true", timeout=LIVE)
    await answered(alice, alice.get_by_role("button", name="One (loop)"), "loop|repeat|one")
    await expect(bob.get_by_role("button", name="One (loop)")).to_have_attribute(
        "aria-pressed", "true", timeout=LIVE
    )
    await expect(alice.get_by_role("button", name="One (loop)")).to_have_attribute("aria-pressed", "true")
    async with alice.expect_response(lambda r: "/do/volume" in r.url, timeout=ANSWER) as info:
        await alice.locator("#volume").fill("200")
    assert (await info.value).status == 200
    await expect(bob.locator("#volume-out")).to_have_text("200 %", timeout=LIVE)
    echo = bob.get_by_role("button", name="echo", exact=True)
    await answered(alice, alice.get_by_role("button", name="echo", exact=True), "echo")
    await expect(echo).to_have_attribute("aria-pressed", "true", timeout=LIVE)
    await answered(alice, alice.get_by_role("button", name="echo", exact=True), "")
    await expect(echo).to_have_attribute("aria-pressed", "false", timeout=LIVE)


@pytest.mark.usefixtures("playing_steps")
async def test_drag_reorder_shows_in_discords_queue(stack: Stack, alice: Page, bob: Page) -> None:
    for name in ("tone440.flac", "markdown.flac", "short660.flac"):
        reply = await stack.driver.say("alice", f"=play local:{name}")
        assert "queue" in reply.text.lower() or "added" in reply.text.lower(), reply.text
    rows = alice.locator(".qe")
    await expect(rows).to_have_count(3, timeout=LIVE)
    await expect(rows.nth(2)).to_contain_text("Short 660")
    await expect(alice.locator("#queue")).to_contain_text("3 tracks")
    # Measured in one script run: a live update may re-render the rows between two Playwright calls
    # (the page holds updates only once the drag has begun), and the new rows sit where the old ones did.
    box, top = await alice.evaluate(
        """() => {
            const rows = document.querySelectorAll(".qe");
            const handle = rows[2].querySelector(".handle");
            handle.scrollIntoView({block: "center"});
            return [handle, rows[0]].map((el) => {
                const r = el.getBoundingClientRect();
                return {x: r.x, y: r.y, width: r.width, height: r.height};
            });
        }"""
    )
    await alice.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await alice.mouse.down()
    async with alice.expect_response(lambda r: "/do/move" in r.url, timeout=ANSWER) as info:
        await alice.mouse.move(box["x"] + 10, top["y"] + 5, steps=10)
        await alice.mouse.up()
    assert (await info.value).status == 200
    await expect(bob.locator(".qe").nth(0)).to_contain_text("Short 660", timeout=LIVE)  # the other viewer too
    text = (await stack.driver.say("alice", "=queue")).text
    places = [text.find(title) for title in ("Short 660", "Tone 440", "Loud")]
    assert -1 not in places and places == sorted(places), text


@pytest.mark.usefixtures("playing_steps")
async def test_a_discord_skip_updates_the_open_page_without_reload(stack: Stack, alice: Page) -> None:
    reply = await stack.driver.say("alice", "=play local:short660.flac")  # next after the repeating steps
    assert "queue" in reply.text.lower() or "added" in reply.text.lower(), reply.text
    await expect(alice.locator(".qe")).to_have_count(1, timeout=LIVE)
    await alice.evaluate("window.zileanMarker = 'still here'")
    reply = await stack.driver.say("alice", "=skip")
    assert "skip" in reply.text.lower(), reply.text
    await expect(alice.locator(".np-title")).to_contain_text("Short 660", timeout=LIVE)
    assert await alice.evaluate("window.zileanMarker") == "still here"
    again = alice.get_by_role("button", name="Queue Steps again")  # the history, live too
    await answered(alice, again, "steps")
    await expect(alice.locator(".qe").last).to_contain_text("Steps", timeout=LIVE)


@pytest.mark.usefixtures("playing_steps")
async def test_a_post_without_the_csrf_token_is_403(stack: Stack, alice: Page) -> None:
    gid = stack.driver.guild_id
    response = await alice.request.post(f"/guilds/{gid}/do/pause", form={"x": "1"})
    assert response.status == 403
    api = await alice.request.post(f"/api/servers/{gid}/pause", data={})
    assert api.status == 403
    token = await alice.locator('meta[name="csrf-token"]').get_attribute("content")
    ok = await alice.request.post(
        f"/api/servers/{gid}/volume", data={"volume": 200}, headers={"X-CSRF-Token": token or ""}
    )
    assert ok.status == 200, await ok.text()


async def test_a_member_who_leaves_gets_404_at_once(stack: Stack, bob: Page) -> None:
    gid = stack.driver.guild_id
    body: dict[str, Any] = {
        "guild_id": str(gid),
        "user_id": str(stack.driver.users["bob"]),
        "action": "leave",
    }
    (await stack.driver.http.post("/_sandbox/members", json=body)).raise_for_status()
    await expect(bob.locator("#gone")).to_contain_text("no longer a member", timeout=LIVE)  # the open page
    status = (await bob.request.get(f"/guilds/{gid}")).status
    assert status == 404
    assert (await bob.request.get(f"/api/servers/{gid}/status")).status == 404
    await bob.goto("/guilds")
    await expect(bob.get_by_role("link", name=stack.sandbox.world.guilds[gid].name)).to_have_count(0)


async def test_the_limiter_answers_429_as_a_toast(browser: Browser, fresh: Stack) -> None:
    stack = fresh
    context, page = await log_in(browser, stack, "dj")
    gid = stack.driver.guild_id
    await page.goto(f"/guilds/{gid}")
    token = await page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    limit = stack.settings.rate_limit_plays_per_min
    for _ in range(limit):
        response = await page.request.post(
            f"/guilds/{gid}/do/play",
            form={"query": "local:short660.flac"},
            headers={"X-CSRF-Token": token, "HX-Request": "true"},
        )
        assert response.status != 429
    await page.get_by_label("Link, search words or local: query").fill("tone 440")
    await page.get_by_role("button", name="Add", exact=True).click()
    await answered(page, page.get_by_role("button", name="Add Tone 440"), "too many", status=429)
    await toast(page, "too many")
    await context.close()


async def test_after_logout_the_old_cookie_opens_nothing(browser: Browser, stack: Stack, alice: Page) -> None:
    cookies = await alice.context.cookies()
    await alice.goto("/guilds")
    await alice.get_by_role("button", name="Log out").click()
    await expect(alice.get_by_role("link", name="Login with Discord")).to_be_visible()
    thief = await browser.new_context(base_url=stack.web.base_url)
    await thief.add_cookies(cookies)  # type: ignore[arg-type]
    assert (await thief.request.get("/api/servers")).status == 401
    page = await thief.new_page()
    await page.goto(f"/guilds/{stack.driver.guild_id}")
    assert not page.url.startswith(player_url(stack))
    await thief.close()
