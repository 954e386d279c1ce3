"""Queue invariants under random operation sequences (hypothesis)."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from zilean.core.errors import QueueError
from zilean.core.events import EndReason
from zilean.core.queue import HISTORY_LIMIT, LoopMode, Placement, Queue
from zilean.core.track import Track

names = st.text(alphabet="abcdefgh", min_size=1, max_size=4)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def make(count: int, seed: int = 0, playing: bool = True) -> Queue:
    queue = Queue(rng=random.Random(seed))
    queue.add([Track(title=f"t{i}", url=f"https://example.com/{i}", source="http") for i in range(count)])
    if playing:
        queue.advance(EndReason.FINISHED)
    return queue


def live_ids(queue: Queue) -> list[int]:
    ids = [entry.id for entry in queue.upcoming]
    return ids + ([queue.current.id] if queue.current else [])


@given(size=st.integers(1, 30), data=st.data())
def test_move_loses_and_duplicates_nothing(size: int, data: st.DataObject) -> None:
    queue = make(size + 1)
    before = list(queue.upcoming)
    source = data.draw(st.integers(1, size))
    destination = data.draw(st.integers(1, size))
    moved = queue.move(source, destination)
    after = list(queue.upcoming)
    assert Counter(entry.id for entry in after) == Counter(entry.id for entry in before)
    assert after[destination - 1] == moved == before[source - 1]
    rest_before = [entry for entry in before if entry != moved]
    assert [entry for entry in after if entry != moved] == rest_before


@given(size=st.integers(0, 40), seed=seeds)
def test_shuffle_is_a_permutation_that_keeps_the_current_entry(size: int, seed: int) -> None:
    queue = make(size + 1, seed)
    current, before = queue.current, queue.upcoming
    queue.shuffle()
    assert queue.current == current
    assert sorted(queue.upcoming, key=lambda e: e.id) == sorted(before, key=lambda e: e.id)


def test_shuffle_actually_reorders() -> None:
    queue = make(21, seed=1)
    before = queue.upcoming
    orders = set()
    for _ in range(5):
        queue.shuffle()
        orders.add(tuple(entry.id for entry in queue.upcoming))
    assert len(orders | {tuple(entry.id for entry in before)}) > 1


@given(
    size=st.integers(2, 20),
    steps=st.integers(0, 30),
    loop=st.sampled_from([LoopMode.OFF, LoopMode.QUEUE]),
    reason=st.sampled_from([EndReason.FINISHED, EndReason.FAILED]),
)
def test_previous_after_advance_returns_to_the_same_entry(
    size: int, steps: int, loop: LoopMode, reason: EndReason
) -> None:
    queue = make(size)
    queue.loop = loop
    for _ in range(steps):
        queue.advance(EndReason.FINISHED)
    current = queue.current
    if current is None or not queue.upcoming:
        return
    upcoming = queue.upcoming
    next_entry = queue.advance(reason)
    assert queue.previous() == current
    assert queue.current == current
    # The entry we stepped back from plays next again, nothing is duplicated.
    assert queue.upcoming[0] == next_entry
    assert len(set(live_ids(queue))) == len(live_ids(queue))
    if loop is LoopMode.OFF or reason is EndReason.FAILED:
        assert queue.upcoming == upcoming


@given(plays=st.integers(0, 260))
def test_history_is_bounded_to_the_last_100(plays: int) -> None:
    queue = make(1)
    queue.loop = LoopMode.QUEUE
    for _ in range(plays):
        queue.advance(EndReason.FINISHED)
    assert len(queue.history) == min(plays, HISTORY_LIMIT)


@given(size=st.integers(1, 10), repeats=st.integers(1, 20))
def test_loop_one_repeats(size: int, repeats: int) -> None:
    queue = make(size)
    queue.loop = LoopMode.ONE
    current, upcoming = queue.current, queue.upcoming
    for _ in range(repeats):
        assert queue.advance(EndReason.FINISHED) == current
    assert queue.upcoming == upcoming


@given(size=st.integers(1, 12), rounds=st.integers(1, 3))
def test_loop_queue_wraps_in_order(size: int, rounds: int) -> None:
    queue = make(size)
    queue.loop = LoopMode.QUEUE
    first_round = [queue.current]
    for _ in range(size - 1):
        first_round.append(queue.advance(EndReason.FINISHED))
    played = []
    for _ in range(size * rounds):
        played.append(queue.advance(EndReason.FINISHED))
    assert played == first_round * rounds


@given(
    size=st.integers(0, 8),
    steps=st.integers(0, 10),
    loop=st.sampled_from(list(LoopMode)),
)
def test_peek_next_predicts_advance(size: int, steps: int, loop: LoopMode) -> None:
    queue = make(size, playing=size > 0)
    queue.loop = loop
    for _ in range(steps):
        upcoming, current = queue.upcoming, queue.current
        predicted = queue.peek_next()
        assert (queue.upcoming, queue.current) == (upcoming, current)  # peeking changes nothing
        assert queue.advance(EndReason.FINISHED) == predicted


@given(size=st.integers(1, 12))
def test_loop_off_ends_after_the_last_entry(size: int) -> None:
    queue = make(size)
    for _ in range(size - 1):
        assert queue.advance(EndReason.FINISHED) is not None
    assert queue.advance(EndReason.FINISHED) is None
    assert queue.current is None and len(queue.history) == size


@settings(max_examples=60, stateful_step_count=40)
class QueueMachine(RuleBasedStateMachine):
    """Random operations; entries are created only by add and destroyed only by remove/clear/stop/advance."""

    @initialize(seed=seeds)
    def start(self, seed: int) -> None:
        self.queue = Queue(rng=random.Random(seed))
        self.known: set[int] = set()

    def _counted(self) -> Counter[int]:
        return Counter(live_ids(self.queue))

    @rule(batch=st.lists(names, min_size=1, max_size=4), placement=st.sampled_from(list(Placement)))
    def add(self, batch: list[str], placement: Placement) -> None:
        before, current = self._counted(), self.queue.current
        entries = self.queue.add(
            [Track(title=name, url=f"https://example.com/{name}", source="http") for name in batch], placement
        )
        assert not {entry.id for entry in entries} & self.known
        self.known.update(entry.id for entry in entries)
        expected = before + Counter(entry.id for entry in entries)
        if placement is Placement.NOW and current is not None and self.queue.loop is not LoopMode.QUEUE:
            expected -= Counter([current.id])  # the replaced entry went to history
        assert self._counted() == expected

    @rule(data=st.data())
    def move(self, data: st.DataObject) -> None:
        before = self._counted()
        size = len(self.queue)
        if size == 0:
            return
        self.queue.move(data.draw(st.integers(1, size)), data.draw(st.integers(1, size)))
        assert self._counted() == before

    @rule()
    def shuffle(self) -> None:
        before, current = self._counted(), self.queue.current
        self.queue.shuffle()
        assert self._counted() == before and self.queue.current == current

    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        size = len(self.queue)
        if size == 0:
            return
        before = self._counted()
        removed = self.queue.remove(data.draw(st.integers(1, size)))
        assert self._counted() == before - Counter([removed.id])

    @rule(reason=st.sampled_from(list(EndReason)))
    def advance(self, reason: EndReason) -> None:
        before, current = self._counted(), self.queue.current
        self.queue.advance(reason)
        after = self._counted()
        if not reason.may_advance:
            assert after == before and self.queue.current == current
        else:
            assert after <= before  # advancing never creates entries

    @rule()
    def skip(self) -> None:
        before = self._counted()
        self.queue.skip()
        assert self._counted() <= before

    @rule(position=st.integers(-1, 8))
    def skip_to(self, position: int) -> None:
        before = self._counted()
        try:
            entry = self.queue.skip_to(position)
        except QueueError:
            assert not 1 <= position <= len(self.queue)
            return
        assert self.queue.current == entry and self._counted() <= before

    @precondition(lambda self: bool(self.queue.history))
    @rule()
    def previous(self) -> None:
        before = self._counted()
        entry = self.queue.previous()
        assert self.queue.current == entry
        assert set(self._counted()) <= set(before) | {entry.id}

    @rule(mode=st.sampled_from(list(LoopMode)))
    def set_loop(self, mode: LoopMode) -> None:
        self.queue.loop = mode

    @rule()
    def clear(self) -> None:
        self.queue.clear()
        assert self.queue.upcoming == ()

    @invariant()
    def ids_are_unique(self) -> None:
        ids = live_ids(self.queue)
        assert len(ids) == len(set(ids))

    @invariant()
    def history_is_bounded(self) -> None:
        assert len(self.queue.history) <= HISTORY_LIMIT

    @invariant()
    def entries_come_only_from_add_and_the_totals_agree(self) -> None:
        upcoming = self.queue.upcoming
        assert set(live_ids(self.queue)) <= self.known, "an entry appeared that add() never made"
        assert len(self.queue) == len(upcoming)
        assert self.queue.upcoming_duration_ms == sum(entry.track.duration_ms or 0 for entry in upcoming)
        for position, entry in enumerate(upcoming, start=1):
            assert self.queue.position_of(entry.id) == position


TestQueueMachine = QueueMachine.TestCase
