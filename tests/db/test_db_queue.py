"""QueueRepo on both backends: order, edits, gapped keys, summaries, guild isolation."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from sqlalchemy import select

from zilean.core.errors import QueueError
from zilean.core.track import Track
from zilean.db import Database
from zilean.db.schema import queue_entries

GUILD = 1_180_000_000_000_000_001  # snowflakes exceed 32 bits
OTHER = 1_180_000_000_000_000_002


def tracks(*names: str, duration_ms: int | None = 1_000) -> list[Track]:
    return [
        Track(title=n, url=f"https://example.test/{n}", source="http", duration_ms=duration_ms) for n in names
    ]


async def titles(db: Database, guild: int = GUILD) -> list[str]:
    return [entry.track.title for entry in await db.queue.page(guild, 0, 100_000)]


async def keys(db: Database, guild: int = GUILD) -> list[int]:
    q = queue_entries
    async with db.engine.connect() as conn:
        stmt = select(q.c.position).where(q.c.guild_id == guild).order_by(q.c.position)
        return list((await conn.execute(stmt)).scalars())


async def test_append_keeps_order_and_all_track_fields(database: Database) -> None:
    full = Track(
        title="Song",
        url="https://e.test/s",
        source="youtube",
        duration_ms=215_000,
        thumbnail="https://e.test/t.jpg",
        artist="Artist",
        requester_id=GUILD - 1,
        stream_url="https://cdn.test/expiring",
    )
    assert await database.queue.append(GUILD, [full, *tracks("b", "c")]) == 3
    first = await database.queue.get(GUILD, 0)
    assert first is not None
    assert first.track.stream_url is None  # expires; never stored
    assert (first.track.title, first.track.artist, first.track.requester_id) == ("Song", "Artist", GUILD - 1)
    assert first.added_at.tzinfo is not None
    assert await titles(database) == ["Song", "b", "c"]


async def test_insert_next_top_and_at_index(database: Database) -> None:
    await database.queue.append(GUILD, tracks("a", "b", "c"))
    await database.queue.insert(GUILD, 0, tracks("next1", "next2"))
    await database.queue.insert(GUILD, 3, tracks("mid"))
    await database.queue.insert(GUILD, 99, tracks("end"))
    assert await titles(database) == ["next1", "next2", "a", "mid", "b", "c", "end"]


async def test_move_remove_pop(database: Database) -> None:
    await database.queue.append(GUILD, tracks("a", "b", "c", "d"))
    moved = await database.queue.move(GUILD, 0, 2)
    assert moved.track.title == "a"
    assert await titles(database) == ["b", "c", "a", "d"]
    await database.queue.move(GUILD, 3, 0)
    assert await titles(database) == ["d", "b", "c", "a"]
    await database.queue.move(GUILD, 1, 50)  # past the end: to the end
    assert await titles(database) == ["d", "c", "a", "b"]
    removed = await database.queue.remove(GUILD, 1)
    assert removed.track.title == "c"
    popped = await database.queue.pop_next(GUILD)
    assert popped is not None and popped.track.title == "d"
    assert await titles(database) == ["a", "b"]


async def test_every_move_in_a_five_entry_queue_matches_a_list(database: Database) -> None:
    """Every (from, to) pair, to the front and the back included, against list.pop + list.insert."""
    names = ["a", "b", "c", "d", "e"]
    for source, destination in itertools.product(range(5), range(5)):
        await database.queue.clear(GUILD)
        await database.queue.append(GUILD, tracks(*names))
        moved = await database.queue.move(GUILD, source, destination)
        expected = names.copy()
        expected.insert(destination, expected.pop(source))
        assert moved.track.title == names[source]
        assert await titles(database) == expected, (source, destination)


async def test_moves_to_the_front_after_the_keys_were_used_up(database: Database) -> None:
    """Repeated moves to index 0 and 1 (each needs a key below or between the first ones)."""
    await database.queue.append(GUILD, tracks("a", "b", "c", "d"))
    model = ["a", "b", "c", "d"]
    for step in range(40):
        source, destination = 3 - step % 3, step % 2
        await database.queue.move(GUILD, source, destination)
        model.insert(destination, model.pop(source))
        assert await titles(database) == model, step


async def test_a_move_rewrites_only_the_moved_row(database: Database) -> None:
    await database.queue.append(GUILD, tracks(*(f"t{i}" for i in range(50))))
    before = await keys(database)
    await database.queue.move(GUILD, 40, 3)
    after = await keys(database)
    assert len(set(after) - set(before)) == 1
    assert len(set(before) - set(after)) == 1


async def test_bad_indexes_are_queue_errors(database: Database) -> None:
    await database.queue.append(GUILD, tracks("a"))
    with pytest.raises(QueueError, match="no track at position 5"):
        await database.queue.remove(GUILD, 4)
    with pytest.raises(QueueError):
        await database.queue.move(GUILD, -1, 0)
    assert await database.queue.get(GUILD, 7) is None
    await database.queue.clear(GUILD)
    assert await database.queue.pop_next(GUILD) is None


async def test_gap_exhaustion_respaces_instead_of_failing(database: Database) -> None:
    small = Database(database.engine, queue_gap=2)
    await small.queue.append(GUILD, tracks("a", "b", "c"))
    for i in range(20):  # always between "a" and whatever follows it
        await small.queue.insert(GUILD, 1, tracks(f"n{i}"))
    await small.queue.insert(GUILD, 2, tracks(*(f"bulk{i}" for i in range(7))))
    expected = ["a", "n19", *(f"bulk{i}" for i in range(7)), *(f"n{i}" for i in range(18, -1, -1)), "b", "c"]
    assert await titles(small) == expected
    assert len(set(await keys(small))) == len(expected)


async def test_shuffle_is_a_permutation_with_even_keys(database: Database) -> None:
    names = [f"t{i}" for i in range(200)]
    await database.queue.append(GUILD, tracks(*names))
    await database.queue.shuffle(GUILD)
    shuffled = await titles(database)
    assert Counter(shuffled) == Counter(names)
    assert shuffled != names  # 1 / 200! chance of a false failure
    spaced = await keys(database)
    assert len({b - a for a, b in itertools.pairwise(spaced)}) == 1


async def test_summary_and_paging(database: Database) -> None:
    await database.queue.append(GUILD, tracks("a", "b", "c", duration_ms=60_000))
    await database.queue.append(GUILD, tracks("live", duration_ms=None))
    summary = await database.queue.summary(GUILD)
    assert (summary.count, summary.duration_ms, summary.unknown_durations) == (4, 180_000, 1)
    assert [e.track.title for e in await database.queue.page(GUILD, 1, 2)] == ["b", "c"]
    assert await database.queue.page(GUILD, 10, 5) == []


async def test_guilds_do_not_see_each_other(database: Database) -> None:
    await database.queue.append(GUILD, tracks("mine"))
    await database.queue.append(OTHER, tracks("theirs", "also theirs"))
    await database.queue.shuffle(OTHER)
    assert await database.queue.clear(OTHER) == 2
    assert await titles(database) == ["mine"]


async def test_a_5000_track_playlist_in_one_call(database: Database) -> None:
    names = [f"track {i:04d}" for i in range(5_000)]
    assert await database.queue.append(GUILD, tracks(*names)) == 5_000
    summary = await database.queue.summary(GUILD)
    assert summary.count == 5_000
    last = await database.queue.get(GUILD, 4_999)
    assert last is not None and last.track.title == "track 4999"
