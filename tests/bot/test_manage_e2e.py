"""Server managers' settings in the real bot (sandbox + discord.py): the audit trail says where each action
came from (Discord, the dashboard through the bus, the CLI), settings changes keep before/after, and the
new per-member limits and vote-skip ratio are enforced with a clear refusal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from bot_harness import Driver

from polling import until_value
from zilean.db import Database, open_database
from zilean.db.bus import Bus, BusOptions
from zilean.db.records import AuditEntry

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bus(running_bot: Any) -> AsyncIterator[Bus]:
    """A dashboard-side Bus on the bot's database, with the bot's bus worker running."""
    from zilean.bot.bus_bridge import start_bus_worker

    db = await open_database(running_bot.settings.database_url)
    web_bus = Bus(db, BusOptions(poll_interval_s=0.02))
    await web_bus.start()
    worker = await start_bus_worker(running_bot, web_bus)
    try:
        yield web_bus
    finally:
        await worker.stop()
        await web_bus.close()
        await db.close()


async def entries(db: Database, guild_id: int, action: str) -> list[AuditEntry]:
    return [e for e in await db.audit.recent(guild_id, limit=200) if e.action == action]


async def until_logged(db: Database, guild_id: int, action: str, origin: str) -> AuditEntry:
    """The newest entry for `action` from `origin` (the bot writes it right after replying)."""
    for _ in range(200):
        found = [e for e in await entries(db, guild_id, action) if e.origin == origin]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {action!r} entry from {origin}: {await db.audit.recent(guild_id)}")


async def test_the_audit_log_says_where_each_action_came_from(driver: Driver, bus: Bus) -> None:
    g, alice = driver.guild_id, driver.users["alice"]
    await driver.join_voice("alice")
    assert "Tone 440" in (await driver.say("alice", "=play local:tone440.flac")).text
    await driver.say("alice", "=volume 80")
    web = await bus.send(g, "volume", {"percent": 90}, user_id=alice, timeout_s=60)
    assert web.status == "done", web.outcome
    cli = await bus.submit(g, "pause", {}, user_id=alice, origin="cli")
    assert (await bus.wait(cli.id, 60)).status == "done"
    discord_volume = await until_logged(bus.db, g, "volume", "discord")
    web_volume = await until_logged(bus.db, g, "volume", "web")
    assert (discord_volume.actor_id, discord_volume.detail) == (alice, {"percent": 80})
    assert (web_volume.actor_id, web_volume.detail) == (alice, {"percent": 90})
    assert (await until_logged(bus.db, g, "pause", "cli")).actor_id == alice
    assert (await until_logged(bus.db, g, "play", "discord")).detail["title"] == "Tone 440"
    assert not await entries(bus.db, g, "queue")  # showing something is not audited
    await driver.say("alice", "=queue")
    await driver.say("owner", "=stop")


async def test_a_button_press_is_audited(driver: Driver, bus: Bus) -> None:
    await driver.join_voice("alice")
    await driver.say("alice", "=play local:tone440.flac")
    card = await driver.bot_message_after(0, containing="Now playing")
    await driver.press("alice", str(card.message_id), "zilean:np:pause")
    pressed = await until_logged(bus.db, driver.guild_id, "button_pause", "discord")
    assert pressed.actor_id == driver.users["alice"]
    await driver.say("owner", "=stop")


async def test_a_settings_change_from_the_web_keeps_before_and_after(driver: Driver, bus: Bus) -> None:
    g, owner = driver.guild_id, driver.users["owner"]
    done = await bus.send(g, "settings", {"changes": {"volume": 60, "idle_timeout_s": 120}}, user_id=owner)
    assert done.status == "done", done.outcome
    logged = [e for e in await entries(bus.db, g, "settings") if e.origin == "web"]
    assert {e.detail["after"].get("volume") for e in logged} >= {60}
    volume = next(e for e in logged if "volume" in e.detail["after"])
    assert volume.detail == {"before": {"volume": 100}, "after": {"volume": 60}}
    await bus.send(g, "settings", {"changes": {"volume": 100, "idle_timeout_s": 300}}, user_id=owner)


async def test_track_length_and_queue_limits_refuse_members_but_not_djs(driver: Driver, bus: Bus) -> None:
    g, owner = driver.guild_id, driver.users["owner"]
    changes = {"max_track_length_s": 10}
    assert (await bus.send(g, "settings", {"changes": changes}, user_id=owner)).status == "done"
    await driver.join_voice("alice")
    long = await driver.say("alice", "=play local:tone440.flac")
    assert "0:30 long" in long.text and "up to 0:10" in long.text, long.text
    assert "Short 660" in (await driver.say("alice", "=play local:short660.flac")).text
    changes = {"max_track_length_s": None, "max_queue_per_member": 1}
    assert (await bus.send(g, "settings", {"changes": changes}, user_id=owner)).status == "done"
    await driver.say("alice", "=play local:tone440.flac")  # waits behind the short one: 1 queued
    full = await driver.say("alice", "=play local:tone440.flac")
    assert "allows 1 per member" in full.text, full.text
    await driver.say("owner", f"=settings djrole <@&{driver.dj_role}>")
    await driver.join_voice("dj")
    for _ in range(2):  # DJs are not bound by the per-member limit
        queued = await driver.say("dj", "=play local:tone440.flac")
        assert "Tone 440" in queued.text and "per member" not in queued.text, queued.text
    await bus.send(g, "settings", {"changes": {"max_queue_per_member": None}}, user_id=owner)
    await driver.say("owner", "=settings djrole")
    await driver.say("owner", "=stop")


async def test_deny_skip_for_everyone_is_refused_with_the_policys_reason(driver: Driver, bus: Bus) -> None:
    g, owner = driver.guild_id, driver.users["owner"]
    await driver.join_voice("alice")
    await driver.join_voice("bob")
    await driver.say("alice", "=play local:tone440.flac")
    rule = {"target_kind": "role", "target_id": g, "rules": {"can_skip": False}}
    assert (await bus.send(g, "permission", rule, user_id=owner)).status == "done"
    refused = await driver.say("bob", "=skip")
    assert "This server's rules don't let you skip outright" in refused.text and "1/2" in refused.text
    logged = await until_logged(bus.db, g, "permissions", "web")
    assert logged.detail["before"] == {"skip": "default"} and logged.detail["after"] == {"skip": "deny"}
    ratio = await bus.send(g, "settings", {"changes": {"vote_skip_ratio": 0.25}}, user_id=owner)
    assert ratio.status == "done", ratio.outcome
    # More than a quarter of two listeners is one vote: bob's own vote now passes.
    assert "Vote passed (1/1)" in (await driver.say("bob", "=skip")).text
    await bus.send(g, "settings", {"changes": {"vote_skip_ratio": 0.5}}, user_id=owner)
    await driver.say("owner", f"=permissions reset <@&{g}>")
    await driver.say("owner", "=stop")


async def test_fair_queue_from_the_dashboard_reaches_the_bot(driver: Driver, bus: Bus) -> None:
    g, owner = driver.guild_id, driver.users["owner"]

    async def fair_queue_entries() -> list[dict[str, object]]:
        logged = await entries(bus.db, g, "settings")
        return [e.detail for e in logged if e.origin == "web" and "fair_queue" in e.detail.get("after", {})]

    try:
        done = await bus.send(g, "settings", {"changes": {"fair_queue": True}}, user_id=owner)
        assert done.status == "done" and "Fair queue is on" in (done.outcome or ""), done.outcome
        assert "Fair queue: on" in (await driver.say("owner", "=settings")).text
        logged = await until_value(fair_queue_entries, bool, what="the fair-queue change in the audit log")
        assert logged[0] == {"before": {"fair_queue": False}, "after": {"fair_queue": True}}
    finally:
        await bus.send(g, "settings", {"changes": {"fair_queue": False}}, user_id=owner)


async def test_autoplay_from_the_dashboard_reaches_the_bot(
    driver: Driver, bus: Bus, running_bot: Any
) -> None:
    g, owner = driver.guild_id, driver.users["owner"]
    try:
        done = await bus.send(g, "settings", {"changes": {"autoplay": True}}, user_id=owner)
        assert done.status == "done" and "Autoplay is on" in (done.outcome or ""), done.outcome
        assert "Autoplay: on" in (await driver.say("owner", "=settings")).text
        assert (await running_bot.store.settings.get(g)).autoplay is True
    finally:
        await bus.send(g, "settings", {"changes": {"autoplay": False}}, user_id=owner)
