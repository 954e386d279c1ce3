"""The pure key arithmetic behind the queue order."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from zilean.db.ordering import KEY_LIMIT, keys_between, respace_base

key = st.integers(min_value=-(2**40), max_value=2**40)


@given(
    before=st.none() | key,
    span=st.none() | st.integers(1, 2**20),
    count=st.integers(1, 50),
    gap=st.integers(2, 2**32),
)
def test_keys_are_strictly_between_and_increasing(
    before: int | None, span: int | None, count: int, gap: int
) -> None:
    after = None if span is None else (before or 0) + span
    keys = keys_between(before, after, count, gap)
    if keys is None:
        assert before is not None and after is not None and after - before <= count
        return
    assert len(keys) == count
    assert all(a < b for a, b in itertools.pairwise(keys))
    if before is not None:
        assert keys[0] > before
    if after is not None:
        assert keys[-1] < after


def test_no_room_and_out_of_range_are_reported() -> None:
    assert keys_between(10, 11, 1, 4) is None
    assert keys_between(10, 12, 1, 4) == [11]
    assert keys_between(KEY_LIMIT - 1, None, 1, 4) is None
    assert keys_between(None, None, 3, 5) == [5, 10, 15]


@given(low=key, width=st.integers(0, 2**30), slots=st.integers(1, 10_000), gap=st.integers(2, 2**32))
def test_respaced_keys_avoid_the_keys_in_use(low: int, width: int, slots: int, gap: int) -> None:
    high = low + width
    base = respace_base(low, high, slots, gap)
    new_low, new_high = base + gap, base + gap * slots
    assert new_high < low or new_low > high
