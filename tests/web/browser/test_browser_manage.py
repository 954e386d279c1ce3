"""The server managers' pages in a real browser against sandbox + the real bot + the dashboard.

One stack for the module, a known state for each test (`fresh`: nothing playing, no one in voice,
default settings, no rules, an empty audit log; `dj_role` and `audited_changes` on top), so each
test passes alone and in any order: the owner names the DJ role on the settings page; the DJ
denies skip to @everyone in the matrix; a plain member's `=skip` in Discord is refused with the
policy's reason and the explainer names the @everyone rule; a member without the settings
permission gets 404 and 403; the audit log shows the web change (origin web) and the Discord
command (origin discord); settings saved on the web change the bot (prefix, default volume, idle
timeout); axe finds nothing serious.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from browser_kit import DESKTOP, PHONE, logged_in_context, no_horizontal_scroll, serious_axe_violations
from e2e_stack import Stack, running_stack
from fresh_stack import fresh_guild
from playwright.async_api import Browser, Page, expect

from polling import until
from zilean.sandbox.testing import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

ANSWER = 60_000  # ms the bot may take to answer on a machine shared with a busy test run


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path_factory.mktemp("manage")) as running:
        yield running


@pytest_asyncio.fixture(autouse=True, loop_scope="module")
async def fresh(stack: Stack) -> Stack:
    """Every test starts from the guild as a newcomer finds it, with no one in voice."""
    await fresh_guild(stack)
    return stack


@pytest_asyncio.fixture(loop_scope="module")
async def dj_role(fresh: Stack) -> Stack:
    """`fresh` with the DJ role named (so the dj may manage the server), through the bot."""
    await fresh.bot.sessions.update_settings(fresh.driver.guild_id, dj_role_id=fresh.driver.dj_role)
    return fresh


@pytest_asyncio.fixture(loop_scope="module")
async def listeners(fresh: Stack) -> Stack:
    """The DJ role named, alice and bob in Music and the bot playing the tone there (alice asked)."""
    stack = fresh
    await fresh_guild(stack, in_voice=("alice", "bob"))  # waits until the bot and the directory see them
    await stack.bot.sessions.update_settings(stack.driver.guild_id, dj_role_id=stack.driver.dj_role)
    reply = await stack.driver.say("alice", "=play local:tone440.flac", within=60)
    assert "Tone 440" in reply.text, reply.text
    await stack.driver.wait_voice(lambda s: s["connected"], within=60)
    return stack


@pytest_asyncio.fixture(loop_scope="module")
async def audited_changes(browser: Browser, listeners: Stack) -> Stack:
    """`listeners` plus one change from each side in the audit log: the dj denies skip to @everyone on
    the web (the JSON API, as the matrix saves it), and bob's refused `=skip` counts as a vote in Discord."""
    stack, g = listeners, listeners.driver.guild_id
    dj = await page_as(browser, stack, "dj")
    await dj.goto(url(stack, "permissions"))
    token = await dj.locator("meta[name=csrf-token]").get_attribute("content")
    body = {"rules": [{"target_kind": "role", "target_id": str(g), "skip": "deny"}]}
    saved = await dj.request.put(
        f"/api/servers/{g}/permissions", data=body, headers={"X-CSRF-Token": token or ""}, timeout=ANSWER
    )
    assert saved.status == 200, await saved.text()
    await dj.context.close()
    refused = await stack.driver.say("bob", "=skip", within=60)
    assert "This server's rules don't let you skip outright" in refused.text, refused.text

    async def both_recorded() -> bool:
        entries = await stack.bot.bus.db.audit.recent(g)
        return {(e.origin, e.action) for e in entries} >= {("web", "permissions"), ("discord", "skip_vote")}

    await until(both_recorded, within=30, what="the audit log holding the web and the Discord change")
    return stack


async def page_as(browser: Browser, stack: Stack, user: str, **options: object) -> Page:
    context = await logged_in_context(
        browser, stack.web.app, stack.web.base_url, stack.driver.users[user], user, viewport=PHONE, **options
    )
    return await context.new_page()


def url(stack: Stack, section: str = "") -> str:
    return f"/guilds/{stack.driver.guild_id}" + (f"/{section}" if section else "")


async def save(page: Page, button: str) -> None:
    """Submit a form; the bot answers through the bus and the page comes back with its words."""
    async with page.expect_navigation(timeout=ANSWER):
        await page.get_by_role("button", name=button).click()


async def test_the_owner_names_the_dj_role_on_the_settings_page(browser: Browser, stack: Stack) -> None:
    owner = await page_as(browser, stack, "owner")
    await owner.goto(url(stack, "settings"))
    await owner.get_by_label("DJ role").select_option(str(stack.driver.dj_role))
    await save(owner, "Save settings")
    await expect(owner.locator(".notice")).to_contain_text("DJ role set", timeout=ANSWER)
    settings = await stack.bot.store.settings.get(stack.driver.guild_id)
    assert settings.dj_role_id == stack.driver.dj_role
    await owner.context.close()


async def test_a_dj_denies_skip_to_everyone_and_a_member_is_refused_with_the_reason(
    browser: Browser, dj_role: Stack
) -> None:
    stack = dj_role
    g = stack.driver.guild_id
    dj = await page_as(browser, stack, "dj")
    await dj.goto(url(stack))
    await dj.get_by_role("link", name="Permissions").click()
    await dj.locator(f"#role-{g}-skip").select_option("deny")
    await save(dj, "Save rules")
    await expect(dj.locator(".notice")).to_contain_text("skip → deny", timeout=ANSWER)
    await expect(dj.locator(f"#role-{g}-skip")).to_have_value("deny")
    # Discord: two listeners, bob's skip is refused outright with the policy's reason (and counts as a vote).
    await stack.driver.join_voice("alice")
    await stack.driver.join_voice("bob")
    await stack.driver.say("alice", "=play local:tone440.flac")
    refused = await stack.driver.say("bob", "=skip")
    assert "This server's rules don't let you skip outright" in refused.text, refused.text
    # The explainer names the rule, from the same policy code.
    await dj.get_by_label("Find a member").fill("bob")
    await dj.get_by_role("button", name="Find").click()
    await dj.get_by_role("link", name=re.compile("Explain")).first.click()
    skip_row = dj.locator("tr[data-action=skip]")
    await expect(skip_row).to_contain_text("Vote only")
    await expect(skip_row).to_contain_text("@everyone rule")
    await expect(skip_row).to_contain_text("The rule for @everyone denies it.")
    await expect(dj.locator("tr[data-action=play]")).to_contain_text("Allowed")
    assert await no_horizontal_scroll(dj)
    await dj.context.close()


async def test_the_json_api_saves_rules_through_the_bot(browser: Browser, listeners: Stack) -> None:
    stack = listeners
    g, bob = stack.driver.guild_id, stack.driver.users["bob"]
    dj = await page_as(browser, stack, "dj")
    await dj.goto(url(stack, "permissions"))
    token = await dj.locator("meta[name=csrf-token]").get_attribute("content")
    body = {"rules": [{"target_kind": "user", "target_id": str(bob), "clear": "allow"}]}
    saved = await dj.request.put(
        f"/api/servers/{g}/permissions", data=body, headers={"X-CSRF-Token": token or ""}, timeout=ANSWER
    )
    assert saved.status == 200, await saved.text()
    rule = await stack.bot.store.permissions.get(g, "user", bob)
    assert rule is not None and rule.can_clear is True
    explained = await dj.request.get(f"/api/servers/{g}/permissions/explain?user_id={bob}")
    clear = next(a for a in (await explained.json())["actions"] if a["action"] == "clear")
    assert (clear["allowed"], clear["rule"]) == (True, "member_rule")
    reset = {"rules": [{"target_kind": "user", "target_id": str(bob), "clear": "default"}]}
    await dj.request.put(f"/api/servers/{g}/permissions", data=reset, headers={"X-CSRF-Token": token or ""})
    await dj.context.close()


async def test_a_member_without_the_settings_permission_gets_404_and_403(
    browser: Browser, stack: Stack
) -> None:
    alice = await page_as(browser, stack, "alice")
    await alice.goto(url(stack))
    await expect(alice.get_by_role("link", name="My history")).to_be_visible()
    await expect(alice.get_by_role("link", name="Permissions")).to_have_count(0)
    for section in ("permissions", "settings", "audit", "stats"):
        response = await alice.goto(url(stack, section))
        assert response is not None and response.status == 404, section
    api = await alice.request.get(f"/api/servers/{stack.driver.guild_id}/settings")
    assert api.status == 403 and "settings" in (await api.json())["error"]
    await alice.context.close()


async def test_the_audit_log_shows_where_each_change_came_from(
    browser: Browser, audited_changes: Stack
) -> None:
    stack = audited_changes
    dj = await page_as(browser, stack, "dj")
    await dj.goto(url(stack, "audit"))
    web_changes = dj.locator(".audit-entry[data-origin=web][data-action=permissions]")
    web_change = web_changes.filter(has_text="@everyone")
    await expect(web_change).to_have_count(1)
    await expect(web_change).to_contain_text("skip")
    await expect(web_change.locator("ins")).to_have_text("deny")
    await expect(dj.locator(".audit-entry[data-origin=discord][data-action=skip_vote]").first).to_be_visible()
    await dj.get_by_label("From").select_option("web")
    await dj.get_by_role("button", name="Filter").click()
    await expect(dj.locator(".audit-entry[data-origin=discord]")).to_have_count(0)
    await expect(dj.locator(".audit-entry[data-origin=web]").first).to_be_visible()
    await dj.context.close()


async def test_settings_saved_on_the_web_change_the_bot(browser: Browser, stack: Stack) -> None:
    g, bot = stack.driver.guild_id, stack.bot
    owner = await page_as(browser, stack, "owner")
    await owner.goto(url(stack, "settings"))
    await owner.get_by_label("Command prefix").fill("!")
    await owner.get_by_label("Default volume (%)").fill("70")
    await owner.get_by_label("Idle timeout (seconds)").fill("2")
    await save(owner, "Save settings")
    await expect(owner.locator(".notice")).to_contain_text("Prefix set", timeout=ANSWER)
    # A mistake is shown next to its field, and nothing is sent.
    await owner.get_by_label("Default volume (%)").fill("300")
    await save(owner, "Save settings")
    await expect(owner.locator("#volume-error")).to_be_visible()
    assert (await bot.store.settings.get(g)).volume == 70
    # Prefix: the bot answers the new one.
    assert "Prefix: `!`" in (await stack.driver.say("owner", "!settings")).text
    # Idle timeout: with nothing playing, the bot leaves after 2 s.
    await stack.driver.say("owner", "!stop")
    await wait_until(lambda: bot.get_guild(g).voice_client is None, within_s=60)
    # Default volume: a new session starts at 70 %.
    bot.sessions._sessions.pop(g, None)  # the bot forgets the old session, as after a restart
    await stack.driver.join_voice("alice")
    await stack.driver.say("alice", "!play local:tone440.flac")
    session = bot.sessions.existing(g)
    assert session is not None and session.volume == 70
    await owner.context.close()


async def test_axe_finds_nothing_serious_on_the_managers_pages(browser: Browser, stack: Stack) -> None:
    for viewport in (PHONE, DESKTOP):
        for scheme in ("light", "dark"):
            page = await page_as(browser, stack, "owner", color_scheme=scheme)
            await page.set_viewport_size(viewport)
            for section in (
                "permissions?member=" + str(stack.driver.users["bob"]),
                "settings",
                "audit",
                "stats",
                "mine",
            ):
                await page.goto(url(stack, section))
                assert await serious_axe_violations(page) == [], (section, viewport, scheme)
                assert await no_horizontal_scroll(page), (section, viewport)
            await page.context.close()
