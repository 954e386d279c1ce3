"""Fair queue: tracks added with `fair=True` are interleaved round-robin by requester."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from zilean.core.queue import Placement, Queue
from zilean.core.track import Track


def track(user: int | None, n: int) -> Track:
    return Track(title=f"{user}-{n}", url=f"https://e.test/{user}/{n}", source="http", requester_id=user)


def titles(queue: Queue) -> list[str]:
    return [entry.track.title for entry in queue.upcoming]


def test_a_playlist_does_not_hold_the_others_back() -> None:
    queue = Queue()
    queue.add([track(1, n) for n in range(1, 5)], fair=True)  # alice queues a playlist of 4
    queue.add([track(2, 1), track(2, 2)], fair=True)  # then bob two
    queue.add([track(3, 1)], fair=True)  # then carol one
    assert titles(queue) == ["1-1", "2-1", "3-1", "1-2", "2-2", "1-3", "1-4"]


def test_the_current_tracks_requester_waits_for_the_others() -> None:
    queue = Queue()
    queue.add([track(1, 0)], fair=True)
    queue.skip()  # alice's track plays
    queue.add([track(1, 1), track(1, 2)], fair=True)
    queue.add([track(2, 1)], fair=True)
    assert queue.current is not None and queue.current.track.title == "1-0"
    assert titles(queue) == ["2-1", "1-1", "1-2"]


def test_a_later_request_joins_the_first_round_it_is_not_in() -> None:
    queue = Queue()
    queue.add([track(1, 1), track(1, 2), track(1, 3)], fair=True)
    queue.add([track(2, 1)], fair=True)
    queue.add([track(2, 2)], fair=True)  # bob's second goes into the second round
    queue.add([track(3, 1)], fair=True)  # carol's first into the first round
    assert titles(queue) == ["1-1", "2-1", "3-1", "1-2", "2-2", "1-3"]


def test_next_and_unfair_adds_are_unchanged() -> None:
    queue = Queue()
    queue.add([track(1, 1), track(1, 2)], fair=True)
    queue.add([track(2, 1)], Placement.NEXT, fair=True)
    queue.add([track(2, 2)])  # fair queue off: appended
    assert titles(queue) == ["2-1", "1-1", "1-2", "2-2"]


def test_tracks_without_a_requester_count_as_one_requester() -> None:
    queue = Queue()
    queue.add([track(None, 1), track(None, 2)], fair=True)
    queue.add([track(5, 1)], fair=True)
    assert titles(queue) == ["None-1", "5-1", "None-2"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 5)), min_size=1, max_size=12))
def test_round_robin_whatever_the_order_of_requests(batches: list[tuple[int, int]]) -> None:
    """Each requester's tracks keep their order, and the k-th track of anyone plays in round k."""
    queue = Queue()
    counts: dict[int, int] = {}
    for user, size in batches:
        first = counts.get(user, 0)
        queue.add([track(user, first + i) for i in range(size)], fair=True)
        counts[user] = first + size
    order = [(entry.track.requester_id, int(entry.track.title.split("-")[1])) for entry in queue.upcoming]
    for user, total in counts.items():
        assert [n for u, n in order if u == user] == list(range(total))
    # Rounds: cut the queue where a requester repeats; the k-th round holds only k-th tracks.
    round_number, seen = 0, set()
    for user, n in order:
        if user in seen:
            round_number, seen = round_number + 1, set()
        seen.add(user)
        assert n == round_number  # the k-th track of each requester plays in round k ...
    assert round_number == max(counts.values()) - 1  # ... and no round is wasted
