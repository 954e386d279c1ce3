"""Screenshots of every dashboard page, phone (390 × 844) and desktop (1440 × 900), light and dark.

    .venv/bin/python tests/web/browser/take_screenshots.py docs/screenshots [--full]

Runs the real thing offline (sandbox + bot + dashboard, as `zilean run`): a member joins voice, a
track plays and a few more are queued through Discord commands, then each page is photographed.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2]))

from browser_kit import DESKTOP, PHONE, launched_browser, logged_in_context
from e2e_stack import Stack, running_stack


async def set_the_scene(stack: Stack) -> None:
    """Something playing, a queue, a history, a changed volume, an effect and a loop mode."""
    driver = stack.driver
    await driver.join_voice("alice")
    for name in ("short660.flac", "steps.flac", "tone440.flac", "markdown.flac", "doomed.flac"):
        await driver.say("alice", f"=play local:{name}")
    await driver.packets_flowing()
    await driver.wait_voice(lambda s: s["packets"] > 200)  # short660 (2 s) has played: a history entry
    for command in ("=volume 120", "=effect add bassboost", "=loop queue"):
        await driver.say("alice", command)


async def main(out: Path, full_page: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_stack(Path(tmp)) as stack, launched_browser() as browser:
            await set_the_scene(stack)
            alice = stack.driver.users["alice"]
            pages = {
                "home": "/",
                "servers": "/guilds",
                "player": f"/guilds/{stack.driver.guild_id}",
                "not-found": "/guilds/12345",
            }
            for size_name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
                for scheme in ("light", "dark"):
                    for name, path in pages.items():
                        if name == "home":
                            ctx = await browser.new_context(
                                base_url=stack.web.base_url, viewport=viewport, color_scheme=scheme
                            )
                        else:
                            ctx = await logged_in_context(
                                browser, stack.web.app, stack.web.base_url, alice, "alice",
                                viewport=viewport, color_scheme=scheme,
                            )  # fmt: skip
                        page = await ctx.new_page()
                        await page.goto(path)
                        await page.wait_for_timeout(500)
                        target = out / f"{name}-{size_name}-{scheme}.png"
                        await page.screenshot(path=str(target), full_page=full_page)
                        print(target, flush=True)
                        await ctx.close()


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    target.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(target, "--full" in sys.argv))
