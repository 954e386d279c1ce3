"""Property test: after any sequence of edits the stored queue equals a plain Python list.

A gap of 2 forces the rare re-spacing path to run all the time; the default gap is checked too.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zilean.core.track import Track
from zilean.db import Database

_names = itertools.count()
_guilds = itertools.count(2**40)

index = st.integers(min_value=-1, max_value=12)
operation = st.one_of(
    st.tuples(st.just("append"), st.integers(1, 4)),
    st.tuples(st.just("insert"), index, st.integers(1, 3)),
    st.tuples(st.just("move"), index, index),
    st.tuples(st.just("remove"), index),
    st.tuples(st.just("pop_next")),
    st.tuples(st.just("shuffle")),
    st.tuples(st.just("clear")),
)


def new_tracks(count: int) -> list[Track]:
    return [Track(title=f"t{next(_names)}", url="https://e.test/", source="http") for _ in range(count)]


async def apply(db: Database, guild: int, model: list[str], op: tuple[Any, ...]) -> None:
    """Apply `op` to the repo and the list model alike (invalid indexes must fail in both)."""
    kind = op[0]
    if kind == "append":
        added = new_tracks(op[1])
        await db.queue.append(guild, added)
        model.extend(t.title for t in added)
    elif kind == "insert":
        added = new_tracks(op[2])
        await db.queue.insert(guild, op[1], added)
        at = max(op[1], 0)
        model[at:at] = [t.title for t in added]
    elif kind == "move":
        source, target = op[1], op[2]
        if 0 <= source < len(model):
            await db.queue.move(guild, source, target)
            model.insert(max(target, 0), model.pop(source))
        else:
            assert await _fails(db.queue.move(guild, source, target))
    elif kind == "remove":
        if 0 <= op[1] < len(model):
            assert (await db.queue.remove(guild, op[1])).track.title == model.pop(op[1])
        else:
            assert await _fails(db.queue.remove(guild, op[1]))
    elif kind == "pop_next":
        popped = await db.queue.pop_next(guild)
        assert (popped.track.title if popped else None) == (model.pop(0) if model else None)
    elif kind == "shuffle":
        await db.queue.shuffle(guild)
        stored = [e.track.title for e in await db.queue.page(guild, 0, 1000)]
        assert Counter(stored) == Counter(model)
        model[:] = stored  # the order is random; the content is what we can check
    elif kind == "clear":
        assert await db.queue.clear(guild) == len(model)
        model.clear()


async def _fails(awaitable: Any) -> bool:
    from zilean.core.errors import QueueError

    try:
        await awaitable
    except QueueError:
        return True
    return False


async def check(db: Database, ops: list[tuple[Any, ...]]) -> None:
    guild = next(_guilds)
    model: list[str] = []
    for op in ops:
        await apply(db, guild, model, op)
        assert [e.track.title for e in await db.queue.page(guild, 0, 1000)] == model, op
    summary = await db.queue.summary(guild)
    assert summary.count == len(model)
    for i, title in enumerate(model):
        entry = await db.queue.get(guild, i)
        assert entry is not None and entry.track.title == title


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, max_size=25))
async def test_tight_gaps_behave_like_a_list(database: Database, ops: list[tuple[Any, ...]]) -> None:
    await check(Database(database.engine, queue_gap=2), ops)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, max_size=25))
async def test_default_gaps_behave_like_a_list(database: Database, ops: list[tuple[Any, ...]]) -> None:
    await check(database, ops)
