"""The queue: placement, editing, loop modes, history and the messages users see for bad positions."""

from __future__ import annotations

import random

import pytest

from zilean.core.errors import QueueError, ZileanError
from zilean.core.events import EndReason
from zilean.core.queue import LoopMode, Placement, Queue, QueueEntry
from zilean.core.track import Track


def track(name: str, duration_ms: int | None = 1000) -> Track:
    return Track(title=name, url=f"https://example.com/{name}", source="http", duration_ms=duration_ms)


def titles(entries: tuple[QueueEntry, ...] | list[QueueEntry]) -> list[str]:
    return [entry.track.title for entry in entries]


def started(*names: str) -> Queue:
    """A queue whose first name is playing and the rest are upcoming."""
    queue = Queue(rng=random.Random(7))
    queue.add([track(name) for name in names])
    queue.advance(EndReason.FINISHED)
    return queue


def test_advance_from_idle_starts_the_first_entry() -> None:
    queue = Queue()
    assert queue.advance(EndReason.FINISHED) is None
    queue.add(track("a"))
    assert queue.current is None
    entry = queue.advance(EndReason.FINISHED)
    assert entry is not None and entry.track.title == "a"
    assert queue.current == entry and queue.upcoming == ()


def test_placements_end_next_now() -> None:
    queue = started("a", "b")
    queue.add(track("c"))
    queue.add([track("n1"), track("n2")], Placement.NEXT)
    assert titles(queue.upcoming) == ["n1", "n2", "b", "c"]
    queue.add([track("x"), track("y")], Placement.NOW)
    assert queue.current is not None and queue.current.track.title == "x"
    assert titles(queue.upcoming) == ["y", "n1", "n2", "b", "c"]
    assert titles(queue.history) == ["a"]


def test_entry_ids_are_unique_and_stable() -> None:
    queue = Queue()
    entries = queue.add([track("a"), track("b"), track("c")])
    assert len({entry.id for entry in entries}) == 3
    queue.move(3, 1)
    assert queue.position_of(entries[2].id) == 1
    assert queue.position_of(entries[0].id) == 2
    queue.remove(1)
    with pytest.raises(QueueError, match="no longer in the queue"):
        queue.position_of(entries[2].id)


@pytest.mark.parametrize(
    ("source", "destination", "expected"),
    [
        (1, 3, ["b", "c", "a", "d", "e"]),  # downward: ends up at 3, not 2 or 4
        (2, 5, ["a", "c", "d", "e", "b"]),  # downward to the end
        (1, 2, ["b", "a", "c", "d", "e"]),  # one step down
        (4, 1, ["d", "a", "b", "c", "e"]),  # upward to the front
        (5, 2, ["a", "e", "b", "c", "d"]),
        (3, 3, ["a", "b", "c", "d", "e"]),  # in place
    ],
)
def test_move_puts_the_entry_at_the_destination(source: int, destination: int, expected: list[str]) -> None:
    queue = started("now", "a", "b", "c", "d", "e")
    moved = queue.move(source, destination)
    assert moved.track.title == "abcde"[source - 1]
    assert titles(queue.upcoming) == expected
    assert queue.position_of(moved.id) == destination


def test_every_move_in_a_six_entry_queue_matches_a_list() -> None:
    names = ["a", "b", "c", "d", "e", "f"]
    for source in range(1, 7):
        for destination in range(1, 7):
            queue = started("now", *names)
            queue.move(source, destination)
            expected = names.copy()
            expected.insert(destination - 1, expected.pop(source - 1))
            assert titles(queue.upcoming) == expected, (source, destination)


def test_bad_positions_have_clear_messages() -> None:
    queue = started("now", "a", "b", "c", "d", "e")
    with pytest.raises(QueueError, match=r"^there is no track 12; the queue has 5 tracks$"):
        queue.remove(12)
    with pytest.raises(QueueError, match="positions start at 1"):
        queue.skip_to(0)
    with pytest.raises(QueueError, match=r"there is no place 9; the queue has 5 tracks"):
        queue.move(1, 9)
    queue.clear()
    with pytest.raises(QueueError, match="the queue is empty"):
        queue.move(1, 1)
    assert issubclass(QueueError, ZileanError)


def test_previous_without_history_is_refused() -> None:
    with pytest.raises(QueueError, match="no previous track"):
        Queue().previous()


def test_stopped_and_replaced_do_not_advance() -> None:
    queue = started("a", "b")
    current = queue.current
    assert queue.advance(EndReason.STOPPED) == current
    assert queue.advance(EndReason.REPLACED) == current
    assert titles(queue.upcoming) == ["b"]
    assert queue.history == ()


def test_failed_advances_and_is_not_repeated_by_loop_one() -> None:
    queue = started("a", "b")
    queue.loop = LoopMode.ONE
    entry = queue.advance(EndReason.FAILED)
    assert entry is not None and entry.track.title == "b"


def test_loop_one_repeats_until_skipped() -> None:
    queue = started("a", "b")
    queue.loop = LoopMode.ONE
    first = queue.current
    for _ in range(3):
        assert queue.advance(EndReason.FINISHED) == first
    assert queue.history == ()
    skipped_to = queue.skip()
    assert skipped_to is not None and skipped_to.track.title == "b"


def test_loop_queue_drops_failed_entries() -> None:
    queue = started("a", "b")
    queue.loop = LoopMode.QUEUE
    queue.advance(EndReason.FAILED)
    queue.advance(EndReason.FINISHED)
    assert queue.current is not None and queue.current.track.title == "b"
    assert queue.upcoming == ()


def test_skip_to_under_loop_queue_keeps_the_wrap_order() -> None:
    queue = started("a", "b", "c", "d")
    queue.loop = LoopMode.QUEUE
    queue.skip_to(2)
    assert queue.current is not None and queue.current.track.title == "c"
    assert titles(queue.upcoming) == ["d", "a", "b"]


def test_skip_to_without_loop_drops_the_skipped() -> None:
    queue = started("a", "b", "c", "d")
    queue.skip_to(3)
    assert queue.current is not None and queue.current.track.title == "d"
    assert queue.upcoming == ()
    assert titles(queue.history) == ["a"]


def test_clear_keeps_current_and_stop_forgets_it() -> None:
    queue = started("a", "b", "c")
    assert queue.clear() == 2
    assert queue.current is not None and queue.upcoming == ()
    queue.stop()
    assert queue.current is None
    assert titles(queue.history) == []


def test_restore_continues_ids() -> None:
    original = started("a", "b", "c")
    original.advance(EndReason.FINISHED)
    copy = Queue.restore(original.current, original.upcoming, reversed(original.history), LoopMode.QUEUE)
    assert copy.current == original.current and copy.upcoming == original.upcoming
    assert copy.history == original.history and copy.loop is LoopMode.QUEUE
    (new,) = copy.add(track("d"))
    assert new.id > max(entry.id for entry in (*original.upcoming, *original.history))


def test_restore_refuses_duplicates() -> None:
    entry = QueueEntry(1, track("a"))
    with pytest.raises(QueueError, match="duplicate"):
        Queue.restore(entry, [entry])


def test_upcoming_duration_counts_known_lengths() -> None:
    queue = Queue()
    queue.add([track("a", 1500), track("b", None), track("c", 2500)])
    assert queue.upcoming_duration_ms == 4000
