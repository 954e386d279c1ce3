"""Gapped sort keys: new entries take free keys between neighbours, so an edit writes only its own rows.

Keys are 64-bit integers spaced `gap` apart. Inserting between two neighbours halves the free space
there; only when a slot has no free key left is the whole list re-spaced (rare: with the default gap
of 2**32 that takes 32 inserts at the very same spot).
"""

from __future__ import annotations

DEFAULT_GAP = 2**32
# Stay well inside BIGINT so `key + n * gap` arithmetic in SQL never overflows.
KEY_LIMIT = 2**62


def keys_between(before: int | None, after: int | None, count: int, gap: int) -> list[int] | None:
    """`count` increasing keys strictly between two neighbours (None = list end), or None if no room."""
    if count <= 0:
        return []
    if before is None and after is None:
        keys = [gap * i for i in range(1, count + 1)]
    elif before is None:
        assert after is not None
        keys = [after - gap * (count - i) for i in range(count)]
    elif after is None:
        keys = [before + gap * i for i in range(1, count + 1)]
    else:
        span = after - before
        if span <= count:
            return None
        # Spread evenly: floor(span * i / (count + 1)) is strictly increasing when span > count.
        keys = [before + span * i // (count + 1) for i in range(1, count + 1)]
    if keys[0] < -KEY_LIMIT or keys[-1] > KEY_LIMIT:
        return None
    return keys


def respace_base(lowest: int, highest: int, slots: int, gap: int) -> int:
    """A base so that keys base + gap * r (r = 1..slots) avoid the range lowest..highest in use.

    Every key of a re-spaced list is written in ONE statement; unique (guild, key) constraints are
    checked row by row, so the new keys must not collide with old ones still in place. Of the two
    free ranges (above and below the keys in use) take the one closer to zero.
    """
    above = highest
    below = lowest - gap * (slots + 1)
    return below if abs(below) < abs(above + gap * slots) else above
