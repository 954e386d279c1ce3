"""The lyrics panel in a real Chromium: synced lines, the one being sung highlighted as the track plays.

The showcase plays its track from 83 s on; a local fake of lrclib has synced lyrics for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from browser_kit import DESKTOP, Served, logged_in_context
from playwright.async_api import Browser, expect
from showcase import GUILD, VIEWER, showcase_dashboard

from fakes.lrclib import FakeLrclib, record, running
from zilean.core.track import Track
from zilean.db.records import PlayerState

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

# A line every 0.5 s around the showcase's position (83 s), so one is always about to be sung.
SYNCED = "\n".join(
    f"[{t // 120:02d}:{t // 2 % 60:02d}.{50 * (t % 2):02d}]Line at {t / 2:.1f}" for t in range(120, 400)
)
NEXT = Track("Next Song", "local:next.flac", "local", 60_000, artist="Claude Debussy")


@pytest.fixture(scope="module")
def lrclib() -> Iterator[FakeLrclib]:
    with running(FakeLrclib()) as fake:
        fake.records.append(record(7, "Clair de Lune", "Claude Debussy", duration=301, synced=SYNCED))
        fake.records.append(
            record(8, "Next Song", "Claude Debussy", duration=60, plain="Words of the next song")
        )
        yield fake


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def dashboard(tmp_path_factory: pytest.TempPathFactory, lrclib: FakeLrclib) -> AsyncIterator[Served]:
    async with showcase_dashboard(
        tmp_path_factory.mktemp("lyrics"), lyrics_api_base=lrclib.base_url
    ) as running:
        yield running


async def test_the_line_being_sung_is_highlighted_and_moves_on(browser: Browser, dashboard: Served) -> None:
    context = await logged_in_context(
        browser, dashboard.app, dashboard.base_url, VIEWER, "alice", viewport=DESKTOP
    )
    try:
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        await page.goto(f"/guilds/{GUILD}")
        current = page.locator("#lyrics li.current")
        await expect(page.locator("#lyrics [data-lyrics-synced]")).to_be_visible()
        await expect(current).to_have_count(1)
        first = await current.inner_text()
        sung_at = float(first.removeprefix("Line at "))
        assert 83 <= sung_at < 120, first  # the showcase's position, counted on in the page
        assert await current.get_attribute("aria-current") == "true"
        # The ticker moves the highlight on, with no request (the panel loaded once).
        await expect(current).not_to_have_text(first, timeout=5_000)
        assert float((await current.inner_text()).removeprefix("Line at ")) > sung_at
        assert await page.locator("#lyrics li.current").count() == 1
        # The next track: the panel follows each now-playing update (here swapped in as SSE does).
        db = dashboard.app.state.web.db
        await db.player_state.save(PlayerState(guild_id=GUILD, track=NEXT, anchor_at=datetime.now(UTC)))
        swap = '() => htmx.swap(document.getElementById("nowplaying"), "<p>x</p>", {swapStyle: "innerHTML"})'
        await page.evaluate(swap)
        await expect(page.locator("#lyrics .lyrics-plain")).to_have_text("Words of the next song")
        assert await page.locator("#lyrics li").count() == 0
        assert problems == []
    finally:
        await context.close()
