"""Screenshots of every dashboard page, phone (390 × 844) and desktop (1440 × 900), light and dark.

    .venv/bin/python tests/web/browser/take_screenshots.py docs/screenshots

Uses the showcase dashboard (a realistic guild in a fresh database, no bot: the offline banner shows).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from browser_kit import DESKTOP, PHONE, launched_browser, logged_in_context
from showcase import GUILD, VIEWER, showcase_dashboard

PAGES = {"home": "/", "servers": "/guilds", "player": f"/guilds/{GUILD}", "not-found": "/guilds/12345"}


async def main(out: Path, full_page: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with showcase_dashboard(Path(tmp)) as dashboard, launched_browser() as browser:
            for size_name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
                for scheme in ("light", "dark"):
                    ctx = await logged_in_context(
                        browser, dashboard.app, dashboard.base_url, VIEWER, "alice",
                        viewport=viewport, color_scheme=scheme,
                    )  # fmt: skip
                    for name, path in PAGES.items():
                        if name == "home":
                            await ctx.clear_cookies()  # the start page as a visitor sees it
                        page = await ctx.new_page()
                        await page.goto(path)
                        await page.wait_for_timeout(300)
                        target = out / f"{name}-{size_name}-{scheme}.png"
                        await page.screenshot(path=str(target), full_page=full_page)
                        print(target)
                        await page.close()
                        if name == "home":
                            await ctx.close()
                            ctx = await logged_in_context(
                                browser, dashboard.app, dashboard.base_url, VIEWER, "alice",
                                viewport=viewport, color_scheme=scheme,
                            )  # fmt: skip
                    await ctx.close()


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    target.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(target, "--full" in sys.argv))
