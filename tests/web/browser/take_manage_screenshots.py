"""Screenshots of the server managers' pages, phone (390 × 844) and desktop (1440 × 900), light and dark.

    .venv/bin/python tests/web/browser/take_manage_screenshots.py docs/screenshots

Sandbox + bot + dashboard offline (as `zilean run`): the owner names the DJ role and adds rules, a few
tracks play through Discord commands, then each page is photographed as the owner. The weeks before
today have no real plays in a fresh world, so the stats chart gets a few weeks of made-up history
(written straight into play_history, marked as such here) to show what the chart looks like.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[2]))

from browser_kit import DESKTOP, PHONE, launched_browser, logged_in_context
from e2e_stack import Stack, running_stack
from sqlalchemy import update

from zilean.core.track import Track
from zilean.db.connector import utcnow
from zilean.db.schema import play_history


async def set_the_scene(stack: Stack) -> None:
    driver, db, g = stack.driver, stack.bot.bus.db, stack.driver.guild_id
    await driver.say("owner", f"=settings djrole <@&{driver.dj_role}>")
    await driver.say("owner", f"=permissions set <@&{g}> skip deny")
    await driver.say("owner", f"=permissions set <@{driver.users['bob']}> play allow")
    await driver.say("owner", "=settings maxqueue 5")
    await driver.join_voice("alice")
    await driver.join_voice("bob")
    for name in ("short660.flac", "markdown.flac", "tone440.flac"):
        await driver.say("alice", f"=play local:{name}")
    await driver.say("bob", "=skip")
    await driver.say("alice", "=volume 80")
    # Made-up earlier weeks for the chart (see the module docstring).
    for week in range(1, 9):
        for i in range((week * 7) % 11 + 3):
            who = driver.users["alice" if i % 3 else "bob"]
            length = 200_000 + 9_000 * i
            track = Track(f"Demo song {i % 5}", f"local:demo{i % 5}.flac", "local", length, requester_id=who)
            await db.history.record(g, track)
            async with db.connector.write() as conn:
                newest = (await db.history.recent(g, 1))[0].id
                when = utcnow() - timedelta(weeks=week, hours=i)
                await conn.execute(
                    update(play_history).where(play_history.c.id == newest).values(played_at=when)
                )


async def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_stack(Path(tmp)) as stack, launched_browser() as browser:
            await set_the_scene(stack)
            g = stack.driver.guild_id
            pages = {
                "manage-permissions": f"/guilds/{g}/permissions?member={stack.driver.users['bob']}",
                "manage-settings": f"/guilds/{g}/settings",
                "manage-audit": f"/guilds/{g}/audit",
                "manage-stats": f"/guilds/{g}/stats",
                "manage-mine": f"/guilds/{g}/mine",
            }
            for size_name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
                for scheme in ("light", "dark"):
                    for name, path in pages.items():
                        user = "alice" if name == "manage-mine" else "owner"
                        ctx = await logged_in_context(
                            browser, stack.web.app, stack.web.base_url, stack.driver.users[user], user,
                            viewport=viewport, color_scheme=scheme,
                        )  # fmt: skip
                        page = await ctx.new_page()
                        await page.goto(path)
                        target = out / f"{name}-{size_name}-{scheme}.png"
                        await page.screenshot(path=str(target))
                        print(target, flush=True)
                        await ctx.close()


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    target.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(target))
