"""The sandbox's /sandbox page renders Discord markdown and mentions in a real Chromium, and never injects
markup (here for the browser fixture; the page itself is zilean.sandbox's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page

from zilean.sandbox import Sandbox
from zilean.sandbox.server import SandboxConfig

pytestmark = pytest.mark.asyncio(loop_scope="module")

FORMATTED = (
    "**Now:** *it* __under__ ~~gone~~ `<b>code</b>` [site](https://example.test/a?b=1) "
    "<@{alice}> <@!{bob}> <@&{dj}> <#{general}> https://example.test/bare."
)
HOSTILE = (
    '<img src=x onerror="window.pwned=1"> **<script>window.pwned=2</script>** '
    "[click](javascript:window.pwned=3) <a href=javascript:alert(1)>a</a> &lt;i&gt;"
)
FENCED = "```py\n**not bold** <@{alice}>\n```\n> quoted **line**\nafter"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def page_with_messages(browser: Browser) -> AsyncIterator[Page]:
    """The sandbox page showing three user messages and one bot embed."""
    async with Sandbox(config=SandboxConfig(voice=False)) as sandbox:
        world = sandbox.world
        guild = world.first_guild
        ids = {
            "alice": world.user_named("alice").id,
            "bob": world.user_named("bob").id,
            "dj": world.role_named(guild.id, "DJ").id,
            "general": world.channel_named("general").id,
        }
        async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=10) as http:
            for text in (FORMATTED, HOSTILE, FENCED):
                body = {
                    "channel_id": str(ids["general"]),
                    "user_id": str(ids["alice"]),
                    "content": text.format(**ids),
                }
                (await http.post("/_sandbox/messages", json=body)).raise_for_status()
            embed = {
                "title": "**Queued** <script>x</script>",
                "url": "javascript:window.pwned=4",
                "description": "**Now:** *Tone* by <@{alice}>".format(**ids),
                "fields": [{"name": "__Up next__", "value": "`1.` [Song](https://example.test/s)"}],
            }
            (
                await http.post(
                    f"/api/v10/channels/{ids['general']}/messages",
                    json={"content": "", "embeds": [embed]},
                    headers={"Authorization": f"Bot {sandbox.token}"},
                )
            ).raise_for_status()
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(f"{sandbox.base_url}/sandbox")
        await page.wait_for_function("document.querySelectorAll('#messages .msg').length === 4")
        try:
            yield page
        finally:
            await context.close()


async def message(page: Page, index: int) -> Any:
    """What the n-th message's content shows: its text and the elements the renderer made."""
    return await page.evaluate(
        """(i) => {
        const row = document.querySelectorAll('#messages .msg')[i];
        const box = row.querySelector('.content');
        const all = (sel) => [...row.querySelectorAll(sel)].map((n) => n.textContent);
        return {
            text: box.textContent,
            strong: all('strong'), em: all('em'), u: all('u'), s: all('s'), code: all('code'),
            pre: all('pre'), quote: all('blockquote'), mention: all('.mention'),
            links: [...row.querySelectorAll('a')].map((a) => [a.textContent, a.getAttribute('href')]),
            tags: [...row.querySelectorAll('*')].map((n) => n.tagName.toLowerCase()),
        };
    }""",
        index,
    )


async def test_formatting_and_mentions_render(page_with_messages: Page) -> None:
    shown = await message(page_with_messages, 0)
    assert shown["strong"] == ["Now:"] and shown["em"] == ["it"] and shown["u"] == ["under"]
    assert shown["s"] == ["gone"] and shown["code"] == ["<b>code</b>"]
    assert shown["mention"] == ["@Alice", "@Bob", "@DJ", "#general"]
    assert ["site", "https://example.test/a?b=1"] in shown["links"]
    assert ["https://example.test/bare", "https://example.test/bare"] in shown["links"]  # "." left out
    assert "<@" not in shown["text"] and "**" not in shown["text"]


async def test_markup_in_messages_stays_text(page_with_messages: Page) -> None:
    shown = await message(page_with_messages, 1)
    assert "img" not in shown["tags"] and "script" not in shown["tags"]
    assert '<img src=x onerror="window.pwned=1">' in shown["text"]
    assert shown["strong"] == ["<script>window.pwned=2</script>"]
    assert all(not (href or "").startswith("javascript:") for _, href in shown["links"])
    assert "&lt;i&gt;" in shown["text"]  # entities are not decoded either
    assert await page_with_messages.evaluate("window.pwned") is None


async def test_code_blocks_and_quotes(page_with_messages: Page) -> None:
    shown = await message(page_with_messages, 2)
    assert len(shown["pre"]) == 1 and shown["pre"][0].startswith("**not bold** <@")  # shown as typed
    assert shown["strong"] == ["line"] and shown["quote"] == ["quoted line"]
    assert shown["mention"] == []  # nothing is rendered inside a code block


async def test_embeds_render_markdown_but_not_markup(page_with_messages: Page) -> None:
    embed = await page_with_messages.evaluate(
        """() => {
        const box = document.querySelectorAll('#messages .msg')[3].querySelector('.embed');
        const all = (sel) => [...box.querySelectorAll(sel)].map((n) => n.textContent);
        return {strong: all('strong'), em: all('em'), u: all('u'), code: all('code'),
                mention: all('.mention'),
                links: [...box.querySelectorAll('a')].map((a) => [a.textContent, a.getAttribute('href')]),
                scripts: box.querySelectorAll('script').length};
    }"""
    )
    assert embed["strong"] == ["Queued", "Now:"] and embed["em"] == ["Tone"] and embed["u"] == ["Up next"]
    assert embed["mention"] == ["@Alice"] and embed["code"] == ["1."] and embed["scripts"] == 0
    assert embed["links"] == [["Song", "https://example.test/s"]]  # the javascript: title URL is dropped


async def test_the_page_opened_at_the_printed_key_url_works(browser: Browser) -> None:
    config = SandboxConfig(voice=False, control_key="k-" + "7" * 20)
    async with Sandbox(config=config) as sandbox:
        context = await browser.new_context()
        try:
            page = await context.new_page()
            await page.goto(sandbox.page_url)
            assert page.url == f"{sandbox.base_url}/sandbox"  # the key left the address bar
            await page.wait_for_function(
                "document.getElementById('guild-name').textContent === 'Zilean Sandbox'"
            )
            await page.fill("#input", "hello from the page")
            await page.press("#input", "Enter")
            await page.wait_for_function("document.querySelectorAll('#messages .msg').length === 1")
            other = await browser.new_context()  # no cookie: refused
            try:
                response = await (await other.new_page()).goto(f"{sandbox.base_url}/sandbox")
                assert response is not None and response.status == 401
            finally:
                await other.close()
        finally:
            await context.close()
