"""Put a browser module's shared stack into a known state before each test (tests run in random order).

The stack (sandbox + real bot + dashboard) is module-scoped because starting it is the slow part;
its guild state is not shared: `fresh_guild(stack, in_voice)` leaves the bot out of voice with
nothing queued, defaults everywhere (settings, volume, effects, loop, permission rules), an empty
history and audit log, every member of the default world back in the guild, and exactly the
members named in `in_voice` in the Music channel, seen so by the bot and by the dashboard's directory.
"""

from __future__ import annotations

from collections.abc import Iterable

from e2e_stack import Stack
from sqlalchemy import delete

from polling import until
from zilean.db.records import DEFAULT_IDLE_TIMEOUT_S
from zilean.db.schema import audit_log, play_history

MEMBERS = ("owner", "dj", "alice", "bob")


async def fresh_guild(stack: Stack, in_voice: Iterable[str] = ()) -> None:
    """Reset the guild through the bot and the sandbox's control API; wait until both sides agree."""
    bot, driver, g = stack.bot, stack.driver, stack.driver.guild_id
    guild = bot.get_guild(g)
    assert guild is not None, "the bot does not see the test guild"
    await bot.sessions.leave(guild)  # stop, forget the queue, disconnect (as `=leave`)
    await driver.wait_voice(lambda s: not s["connected"], within=30)
    await bot.sessions.update_settings(
        g,
        prefix=None,
        volume=100,
        effects=(),
        loop_mode="off",
        dj_role_id=None,
        idle_timeout_s=DEFAULT_IDLE_TIMEOUT_S,
        always_on=False,
        announce_channel_id=None,
    )
    for rule in await bot.store.permissions.rules(g):
        await bot.store.permissions.delete(g, rule.target_kind, rule.target_id)
    async with bot.bus.db.connector.write() as conn:  # history buttons and audit counts start from none
        await conn.execute(delete(play_history).where(play_history.c.guild_id == g))
        await conn.execute(delete(audit_log).where(audit_log.c.guild_id == g))
    assert stack.sandbox.voice is not None
    stack.sandbox.voice.reset_stats(g)
    wanted = set(in_voice)
    world_guild = stack.sandbox.world.guilds[g]
    for name in MEMBERS:
        user_id = driver.users[name]
        if user_id not in world_guild.members:  # a test made them leave the guild
            body = {"guild_id": str(g), "user_id": str(user_id), "action": "join"}
            (await driver.http.post("/_sandbox/members", json=body)).raise_for_status()
        if name in wanted:
            await driver.join_voice(name)
        else:
            await driver.leave_voice(name)

    def bot_agrees() -> bool:
        for name in MEMBERS:
            member = guild.get_member(driver.users[name])
            if member is None:
                return False
            channel = member.voice.channel.id if member.voice and member.voice.channel else None
            if channel != (driver.voice_channel if name in wanted else None):
                return False
        return True

    await until(bot_agrees, within=30, what="the bot seeing the members where the test needs them")

    async def directory_agrees() -> bool:
        found = await bot.bus.db.directory.members(g, [driver.users[n] for n in MEMBERS])
        if len(found) != len(MEMBERS):
            return False
        return all(
            found[driver.users[n]].voice_channel_id == (driver.voice_channel if n in wanted else None)
            for n in MEMBERS
        )

    await until(directory_agrees, within=30, what="the directory seeing the members there")
