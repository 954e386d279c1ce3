"""The real bot publishes its view of the guild (the directory) and keeps it current through the sandbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from bot_harness import Driver

from polling import until_value
from zilean.db.records import GuildInfo, MemberInfo
from zilean.db.repos.directory import DirectoryRepo

pytestmark = pytest.mark.asyncio(loop_scope="module")

T = TypeVar("T")


async def eventually(read: Callable[[], Awaitable[T]], accept: Callable[[T], bool], within: float = 15) -> T:
    """Poll an async read until its value is accepted (the condition, not a fixed sleep)."""
    return await until_value(read, accept, within=within, interval=0.02)


def repo(bot: Any) -> DirectoryRepo:
    return DirectoryRepo(bot.store.connector)


async def test_the_guild_is_published_at_start(driver: Driver, running_bot: Any) -> None:
    await running_bot.directory.idle()
    directory = repo(running_bot)
    guild = await directory.guild(driver.guild_id)
    assert guild is not None and guild.name == "Zilean Sandbox"
    assert guild.owner_id == driver.users["owner"]
    assert [c.name for c in await directory.channels(driver.guild_id, "voice")] == ["Music"]
    assert [c.name for c in await directory.channels(driver.guild_id, "text")] == ["general"]
    assert {"DJ", "@everyone", "Zilean"} <= {r.name for r in await directory.roles(driver.guild_id)}
    owner = await directory.member(driver.guild_id, driver.users["owner"])
    assert owner is not None and owner.is_owner and owner.is_admin and owner.display_name == "Olivia Owner"
    dj = await directory.member(driver.guild_id, driver.users["dj"])
    assert dj is not None and dj.role_ids == (driver.dj_role,) and not dj.is_admin
    assert await directory.member_count(driver.guild_id) == 5  # four users and the bot
    assert [g.guild_id for g in await directory.guilds_of(driver.users["alice"])] == [driver.guild_id]


async def test_a_member_who_leaves_is_gone_and_one_who_joins_appears(
    driver: Driver, running_bot: Any
) -> None:
    directory = repo(running_bot)
    body = {"guild_id": str(driver.guild_id), "username": "visitor", "global_name": "Vi Sitor"}
    joined = (await driver.http.post("/_sandbox/members", json={**body, "action": "join"})).raise_for_status()
    visitor_id = int(joined.json()["user_id"])
    member = await eventually(lambda: directory.member(driver.guild_id, visitor_id), lambda m: m is not None)
    assert member is not None and member.display_name == "Vi Sitor"
    leave = {"guild_id": str(driver.guild_id), "user_id": str(visitor_id), "action": "leave"}
    (await driver.http.post("/_sandbox/members", json=leave)).raise_for_status()
    await eventually(lambda: directory.member(driver.guild_id, visitor_id), lambda m: m is None)
    assert await directory.guilds_of(visitor_id) == []


async def test_role_changes_reach_role_ids(driver: Driver, running_bot: Any) -> None:
    directory = repo(running_bot)
    bob = driver.users["bob"]
    body = {"guild_id": str(driver.guild_id), "user_id": str(bob), "role_id": str(driver.dj_role)}

    def roles_are(expected: tuple[int, ...]) -> Callable[[MemberInfo | None], bool]:
        return lambda m: m is not None and m.role_ids == expected

    (await driver.http.post("/_sandbox/roles", json={**body, "action": "add"})).raise_for_status()
    await eventually(lambda: directory.member(driver.guild_id, bob), roles_are((driver.dj_role,)))
    (await driver.http.post("/_sandbox/roles", json={**body, "action": "remove"})).raise_for_status()
    await eventually(lambda: directory.member(driver.guild_id, bob), roles_are(()))


async def test_voice_joins_and_leaves_show_in_voice_members(driver: Driver, running_bot: Any) -> None:
    directory = repo(running_bot)
    alice = driver.users["alice"]

    async def in_music() -> list[int]:
        return [m.user_id for m in await directory.voice_members(driver.guild_id, driver.voice_channel)]

    await driver.join_voice("alice")
    await eventually(in_music, lambda ids: alice in ids)
    await driver.leave_voice("alice")
    await eventually(in_music, lambda ids: alice not in ids)
    member = await directory.member(driver.guild_id, alice)
    assert member is not None and member.voice_channel_id is None


async def test_changes_are_announced_on_the_bus(driver: Driver, running_bot: Any) -> None:
    events = running_bot.store.events
    await driver.leave_voice("bob")  # whatever earlier tests did, bob's join below is a change
    await running_bot.directory.idle()  # and their own announcements are out before `last`
    last = await events.latest_id()
    await driver.join_voice("bob")

    async def directory_events() -> list[Any]:
        return [e for e in await events.after(last, guild_id=driver.guild_id) if e.kind == "directory"]

    found = await eventually(
        directory_events, lambda found: {"change": "member"} in [e.payload for e in found]
    )
    assert all(e.payload.get("change") for e in found)
    await driver.leave_voice("bob")


async def test_roles_channels_and_the_guild_itself_follow_admin_changes(
    driver: Driver, running_bot: Any
) -> None:
    directory = repo(running_bot)
    base = f"/_sandbox/guilds/{driver.guild_id}"

    async def role_names() -> set[str]:
        return {r.name for r in await directory.roles(driver.guild_id)}

    created = (await driver.http.post(f"{base}/roles", json={"name": "Mods"})).raise_for_status().json()
    await eventually(role_names, lambda names: "Mods" in names)
    role = f"{base}/roles/{created['id']}"
    body = {"guild_id": str(driver.guild_id), "user_id": str(driver.users["bob"]), "role_id": created["id"]}
    (await driver.http.post("/_sandbox/roles", json={**body, "action": "add"})).raise_for_status()
    await eventually(
        lambda: directory.member(driver.guild_id, driver.users["bob"]), lambda m: bool(m and m.role_ids)
    )
    # Administrator on the role makes its members admins; deleting it takes it (and that) away.
    (await driver.http.patch(role, json={"permissions": 1 << 3})).raise_for_status()
    await eventually(
        lambda: directory.member(driver.guild_id, driver.users["bob"]), lambda m: bool(m and m.is_admin)
    )
    (await driver.http.delete(role)).raise_for_status()
    bob = await eventually(
        lambda: directory.member(driver.guild_id, driver.users["bob"]), lambda m: bool(m and not m.is_admin)
    )
    assert bob is not None and bob.role_ids == () and "Mods" not in await role_names()

    async def text_channels() -> list[str]:
        return [c.name for c in await directory.channels(driver.guild_id, "text")]

    channel = (
        (await driver.http.post(f"{base}/channels", json={"name": "requests"})).raise_for_status().json()
    )
    await eventually(text_channels, lambda names: "requests" in names)
    (await driver.http.delete(f"{base}/channels/{channel['id']}")).raise_for_status()
    await eventually(text_channels, lambda names: "requests" not in names)

    (await driver.http.patch(base, json={"name": "Renamed Sandbox"})).raise_for_status()
    await eventually(
        lambda: directory.guild(driver.guild_id), lambda g: bool(g and g.name == "Renamed Sandbox")
    )
    (await driver.http.patch(base, json={"name": "Zilean Sandbox"})).raise_for_status()
    await eventually(
        lambda: directory.guild(driver.guild_id), lambda g: bool(g and g.name == "Zilean Sandbox")
    )


async def test_a_guild_the_bot_joins_is_published_and_one_it_leaves_is_forgotten(
    driver: Driver, running_bot: Any
) -> None:
    directory = repo(running_bot)
    owner = driver.users["alice"]
    made = (
        await driver.http.post("/_sandbox/guilds", json={"name": "Alice's Place", "owner_id": str(owner)})
    ).json()
    guild_id = int(made["guild_id"])
    guild = await eventually(lambda: directory.guild(guild_id), lambda g: g is not None)
    assert guild is not None and guild.name == "Alice's Place" and guild.owner_id == owner
    alice = await directory.member(guild_id, owner)
    assert alice is not None and alice.is_owner
    assert {g.guild_id for g in await directory.guilds_of(owner)} == {driver.guild_id, guild_id}
    (await driver.http.post(f"/_sandbox/guilds/{guild_id}/remove-bot")).raise_for_status()
    await eventually(lambda: directory.guild(guild_id), lambda g: g is None)
    assert await directory.member(guild_id, owner) is None
    assert [g.guild_id for g in await directory.guilds_of(owner)] == [driver.guild_id]


async def test_a_new_session_republishes_and_forgets_guilds_left_while_away(
    driver: Driver, running_bot: Any
) -> None:
    directory = repo(running_bot)
    stale = (driver.guild_id >> 22 << 22) + 4_242  # same shard, a guild the bot is not in
    await directory.replace_guild(GuildInfo(stale, "Left while offline"), [], [], [])
    await directory.remove_member(driver.guild_id, driver.users["alice"])  # a change the bot missed
    identifies = driver.sandbox.gateway.identify_count
    fault = {"kind": "invalid_session", "resumable": False}
    (await driver.http.post("/_sandbox/faults", json=fault)).raise_for_status()
    await eventually(lambda: directory.guild(stale), lambda g: g is None, within=30)
    assert driver.sandbox.gateway.identify_count == identifies + 1
    await eventually(
        lambda: directory.member(driver.guild_id, driver.users["alice"]), lambda m: m is not None
    )
