"""The directory repository (guilds, channels, roles, members as the bot sees them) on both backends."""

from __future__ import annotations

import pytest

from zilean.db import ChannelInfo, Database, GuildInfo, MemberInfo, RoleInfo

GUILD = 987_654_321_098_765_432
OTHER = 987_654_321_098_765_433
BIG = 2**63 - 7  # the largest snowflakes still fit a signed 64-bit column
VOICE = 1_100_000_000_000_000_001
LOBBY = 1_100_000_000_000_000_002
TEXT = 1_100_000_000_000_000_003
ADMIN_BIT = 1 << 3
HIGH_BIT = 1 << 50  # Discord's permission field has grown past 32 bits


def guild_info(guild_id: int = GUILD, name: str = "Zilean Lab") -> GuildInfo:
    return GuildInfo(guild_id=guild_id, name=name, icon_url="https://cdn.test/i.png", owner_id=11)


def member(
    user_id: int,
    display: str,
    *,
    guild_id: int = GUILD,
    roles: tuple[int, ...] = (),
    voice: int | None = None,
    name: str | None = None,
) -> MemberInfo:
    return MemberInfo(
        guild_id=guild_id,
        user_id=user_id,
        name=name or display.lower(),
        display_name=display,
        avatar_url=f"https://cdn.test/a/{user_id}.png",
        role_ids=roles,
        is_owner=user_id == 11,
        is_admin=user_id == 11,
        voice_channel_id=voice,
    )


CHANNELS = [
    ChannelInfo(GUILD, TEXT, "text", "general", 0),
    ChannelInfo(GUILD, LOBBY, "voice", "Lobby", 2),
    ChannelInfo(GUILD, VOICE, "voice", "Music", 1),
]
ROLES = [
    RoleInfo(GUILD, GUILD, "@everyone", 0, 0, 0),
    RoleInfo(GUILD, 501, "DJ", 2, 0x3498DB, HIGH_BIT),
    RoleInfo(GUILD, 502, "Admin", 5, 0xE74C3C, ADMIN_BIT | HIGH_BIT),
]
MEMBERS = [
    member(11, "Owner", roles=(502,), voice=VOICE),
    member(12, "bea", roles=(501,), voice=VOICE),
    member(13, "Carl", voice=LOBBY),
    member(BIG, "Zed_100%", name="zed"),
]


async def publish(database: Database) -> None:
    await database.directory.replace_guild(guild_info(), CHANNELS, ROLES, MEMBERS)


async def test_a_published_guild_reads_back(database: Database) -> None:
    directory = database.directory
    assert await directory.guild(GUILD) is None
    await publish(database)
    assert await directory.guild(GUILD) == guild_info()
    assert await directory.member(GUILD, 12) == MEMBERS[1]
    assert await directory.member(GUILD, BIG) == MEMBERS[3]
    assert await directory.member(GUILD, 99) is None
    assert await directory.member(OTHER, 12) is None
    assert await directory.member_count(GUILD) == 4
    assert [c.name for c in await directory.channels(GUILD)] == ["general", "Music", "Lobby"]
    assert [c.channel_id for c in await directory.channels(GUILD, "voice")] == [VOICE, LOBBY]
    assert [c.channel_id for c in await directory.channels(GUILD, kind="text")] == [TEXT]
    roles = await directory.roles(GUILD)
    assert [x.name for x in roles] == ["Admin", "DJ", "@everyone"]
    assert roles[0] == ROLES[2] and roles[0].permissions == ADMIN_BIT | HIGH_BIT
    assert [x.display_name for x in await directory.voice_members(GUILD, VOICE)] == ["bea", "Owner"]
    assert [x.user_id for x in await directory.voice_members(GUILD, LOBBY)] == [13]
    assert await directory.guild_ids() == [GUILD]


async def test_guilds_of_lists_only_the_users_guilds_by_name(database: Database) -> None:
    await publish(database)
    await database.directory.replace_guild(
        guild_info(OTHER, "alpha"), [], [], [member(12, "b", guild_id=OTHER)]
    )
    assert [x.name for x in await database.directory.guilds_of(12)] == ["alpha", "Zilean Lab"]
    assert [x.guild_id for x in await database.directory.guilds_of(13)] == [GUILD]
    assert await database.directory.guilds_of(404) == []


async def test_publishing_again_replaces_everything_of_that_guild_only(database: Database) -> None:
    directory = database.directory
    await publish(database)
    await directory.replace_guild(guild_info(OTHER, "other"), [], [], [member(13, "Carl", guild_id=OTHER)])
    renamed = guild_info(name="Renamed")
    await directory.replace_guild(renamed, CHANNELS[:1], ROLES[:1], [MEMBERS[0]])
    assert await directory.guild(GUILD) == renamed
    assert await directory.member(GUILD, 13) is None  # left while the bot was away
    assert [c.channel_id for c in await directory.channels(GUILD)] == [TEXT]
    assert [x.role_id for x in await directory.roles(GUILD)] == [GUILD]
    assert await directory.member(OTHER, 13) is not None


async def test_member_changes(database: Database) -> None:
    directory = database.directory
    await publish(database)
    await directory.upsert_member(member(14, "Dana"))
    assert await directory.member(GUILD, 14) == member(14, "Dana")
    changed = member(12, "Bea Prime", roles=(501, 502), voice=VOICE)
    await directory.upsert_member(changed)
    assert await directory.member(GUILD, 12) == changed
    assert await directory.remove_member(GUILD, 12) is True
    assert await directory.member(GUILD, 12) is None
    assert await directory.remove_member(GUILD, 12) is False
    assert [x.guild_id for x in await directory.guilds_of(12)] == []


async def test_voice_moves(database: Database) -> None:
    directory = database.directory
    await publish(database)
    assert await directory.set_voice_channel(GUILD, 13, VOICE) is True
    assert [x.user_id for x in await directory.voice_members(GUILD, VOICE)] == [12, 13, 11]
    assert await directory.voice_members(GUILD, LOBBY) == []
    assert await directory.set_voice_channel(GUILD, 13, None) is True
    member_13 = await directory.member(GUILD, 13)
    assert member_13 is not None and member_13.voice_channel_id is None
    assert await directory.set_voice_channel(GUILD, 404, VOICE) is False


async def test_guild_channel_and_role_updates(database: Database) -> None:
    directory = database.directory
    await publish(database)
    await directory.update_guild(GuildInfo(GUILD, "New name", None, 12))
    assert await directory.guild(GUILD) == GuildInfo(GUILD, "New name", None, 12)
    assert await directory.member_count(GUILD) == 4  # members untouched
    await directory.replace_channels(GUILD, [ChannelInfo(GUILD, VOICE, "voice", "Music 2", 0)])
    assert [c.name for c in await directory.channels(GUILD)] == ["Music 2"]
    await directory.replace_roles(GUILD, [RoleInfo(GUILD, 501, "DJs", 1, 1, 0)])
    assert await directory.roles(GUILD) == [RoleInfo(GUILD, 501, "DJs", 1, 1, 0)]
    await directory.update_guild(GuildInfo(OTHER, "brand new"))  # guild update before any publish
    assert await directory.guild(OTHER) == GuildInfo(OTHER, "brand new")


async def test_removing_a_guild_forgets_it_whole(database: Database) -> None:
    directory = database.directory
    await publish(database)
    await directory.replace_guild(guild_info(OTHER), [], [], [member(12, "b", guild_id=OTHER)])
    assert await directory.remove_guild(GUILD) is True
    assert await directory.guild(GUILD) is None
    assert await directory.member(GUILD, 12) is None
    assert await directory.channels(GUILD) == []
    assert await directory.roles(GUILD) == []
    assert [x.guild_id for x in await directory.guilds_of(12)] == [OTHER]
    assert await directory.remove_guild(GUILD) is False


async def test_search_members(database: Database) -> None:
    directory = database.directory
    await publish(database)

    async def found(text: str, limit: int = 25) -> list[int]:
        return [x.user_id for x in await directory.search_members(GUILD, text, limit)]

    assert await found("CAR") == [13]
    assert await found("zed") == [BIG]  # the user name matches too
    assert await found("o") == [11]  # "Owner" (and "owner"); Carl has no o
    assert await found("%") == [BIG]  # LIKE wildcards are matched literally
    assert await found("_") == [BIG]
    assert await found("") == [12, 13, 11, BIG]
    assert await found("", limit=2) == [12, 13]
    assert await directory.search_members(OTHER, "bea") == []


async def test_records_of_another_guild_are_refused(database: Database) -> None:
    with pytest.raises(ValueError, match="another guild"):
        await database.directory.replace_guild(guild_info(), [], [], [member(5, "x", guild_id=OTHER)])
    assert await database.directory.guild(GUILD) is None  # nothing half-written
    with pytest.raises(ValueError, match="channel kind"):
        await database.directory.channels(GUILD, "stage")


async def test_long_names_are_cut_to_discords_limit(database: Database) -> None:
    await database.directory.replace_guild(guild_info(name="g" * 150), [], [], [member(5, "n" * 120)])
    stored = await database.directory.guild(GUILD)
    assert stored is not None and stored.name == "g" * 100
    got = await database.directory.member(GUILD, 5)
    assert got is not None and got.display_name == "n" * 100


async def test_a_guild_of_thousands_publishes_in_one_go(database: Database) -> None:
    members = [
        member(100_000 + i, f"user{i:05d}", roles=(501,), voice=VOICE if i < 30 else None)
        for i in range(5_000)
    ]
    await database.directory.replace_guild(guild_info(), CHANNELS, ROLES, members)
    assert await database.directory.member_count(GUILD) == 5_000
    assert len(await database.directory.voice_members(GUILD, VOICE)) == 30
    assert await database.directory.member(GUILD, 104_999) == members[-1]
