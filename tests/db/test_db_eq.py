"""The equalizer and fair-queue settings and the servers' EQ presets, on both backends."""

from __future__ import annotations

import pytest

from zilean.db import Database, InvalidSettingError
from zilean.db.repos.eq_presets import MAX_PRESETS_PER_GUILD

GUILD = 876_543_210_987_654_321


async def test_eq_and_fair_queue_default_and_persist(database: Database) -> None:
    fresh = await database.guild_settings.get(GUILD)
    assert (dict(fresh.eq), fresh.fair_queue) == ({}, False)
    changed = await database.guild_settings.update(
        GUILD, eq={"100": 6, 16000: -3.5, "1000": 0}, fair_queue=True
    )
    assert dict(changed.eq) == {"100": 6.0, "16000": -3.5}  # keys as text, bands at 0 left out
    assert changed.fair_queue is True
    again = await database.guild_settings.get(GUILD)
    assert (dict(again.eq), again.fair_queue) == (dict(changed.eq), True)
    assert dict((await database.guild_settings.update(GUILD, eq={})).eq) == {}


@pytest.mark.parametrize(
    ("eq", "message"),
    [({"1234": 5}, "The bands are: 25, 40"), ({"100": 13}, "from -12 to"), (["100"], "mapping")],
)
async def test_bad_eq_is_refused_with_a_reason(database: Database, eq: object, message: str) -> None:
    with pytest.raises(InvalidSettingError, match=message):
        await database.guild_settings.update(GUILD, eq=eq)
    assert dict((await database.guild_settings.get(GUILD)).eq) == {}


async def test_presets_save_overwrite_list_delete(database: Database) -> None:
    repo = database.eq_presets
    saved = await repo.save(GUILD, "deep", {"25": 6, "40": 4}, created_by=7)
    assert (saved.name, dict(saved.gains), saved.created_by) == ("deep", {"25": 6.0, "40": 4.0}, 7)
    await repo.save(GUILD, "airy", {"16000": 5})
    await repo.save(GUILD + 1, "elsewhere", {"100": 1})
    overwritten = await repo.save(GUILD, "deep", {"25": 3})
    fetched = await repo.get(GUILD, "deep")
    assert fetched is not None and dict(fetched.gains) == {"25": 3.0} == dict(overwritten.gains)
    assert [p.name for p in await repo.for_guild(GUILD)] == ["airy", "deep"]
    assert await repo.delete(GUILD, "deep") and not await repo.delete(GUILD, "deep")
    assert await repo.get(GUILD, "deep") is None
    assert [p.name for p in await repo.for_guild(GUILD)] == ["airy"]
    with pytest.raises(InvalidSettingError):
        await repo.save(GUILD, "bad", {"99": 1})


async def test_a_guild_has_at_most_25_presets_but_may_overwrite(database: Database) -> None:
    for n in range(MAX_PRESETS_PER_GUILD):
        await database.eq_presets.save(GUILD, f"p{n}", {"100": 1})
    with pytest.raises(InvalidSettingError, match="already has 25 presets"):
        await database.eq_presets.save(GUILD, "one-more", {"100": 1})
    await database.eq_presets.save(GUILD, "p0", {"100": 2})  # overwriting is fine
    assert len(await database.eq_presets.for_guild(GUILD)) == MAX_PRESETS_PER_GUILD
