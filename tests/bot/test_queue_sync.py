"""Queue mirroring: the planned index operations always turn the old order into the new one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zilean.bot.queue_sync import Insert, Move, Pop, QueueOp, Remove, Rewrite, plan


def apply(before: list[int], ops: list[QueueOp]) -> list[int]:
    items = list(before)
    for op in ops:
        if isinstance(op, Pop):
            del items[: op.count]
        elif isinstance(op, Insert):
            at = len(items) if op.index is None else op.index
            items[at:at] = op.ids
        elif isinstance(op, Remove):
            del items[op.index]
        elif isinstance(op, Move):
            items.insert(op.destination, items.pop(op.source))
        else:
            items = list(op.ids)
    return items


def test_common_changes_are_cheap() -> None:
    q = [1, 2, 3, 4, 5]
    assert plan(q, q) == []
    assert plan(q, [2, 3, 4, 5]) == [Remove(0)]
    assert plan(q, [3, 4, 5, 6]) == [Pop(2), Insert(None, (6,))]
    assert plan(q, [2, 3, 4, 5, 1]) == [Move(0, 4)]  # loop queue wraps
    assert plan(q, [*q, 6, 7]) == [Insert(None, (6, 7))]
    assert plan(q, [6, 7, *q]) == [Insert(0, (6, 7))]
    assert plan(q, [1, 2, 4, 5]) == [Remove(2)]
    assert plan(q, [1, 4, 2, 3, 5]) == [Move(3, 1)]
    assert plan(q, [1, 3, 4, 2, 5]) == [Move(1, 3)]
    assert plan(q, []) == [Pop(5)]
    assert plan([], [9]) == [Insert(None, (9,))]
    ten = list(range(10))
    assert plan(ten, ten[::-1]) == [Rewrite(tuple(ten[::-1]))]


@given(st.lists(st.integers(0, 40), unique=True, max_size=12), st.randoms(use_true_random=False))
def test_plan_is_correct_for_any_reordering(before: list[int], rnd) -> None:  # type: ignore[no-untyped-def]
    after = [item for item in before if rnd.random() < 0.8] + [100 + i for i in range(rnd.randint(0, 3))]
    rnd.shuffle(after) if rnd.random() < 0.3 else None
    assert apply(before, plan(before, after)) == after


@given(st.lists(st.integers(0, 40), unique=True, min_size=2, max_size=12), st.data())
def test_a_single_move_is_one_move(before: list[int], data: st.DataObject) -> None:
    source = data.draw(st.integers(0, len(before) - 1))
    destination = data.draw(st.integers(0, len(before) - 1))
    after = list(before)
    after.insert(destination, after.pop(source))
    ops = plan(before, after)
    assert apply(before, ops) == after
    assert len(ops) <= 1 and not any(isinstance(op, Rewrite) for op in ops)
