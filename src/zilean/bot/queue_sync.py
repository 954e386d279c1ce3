"""Mirror in-memory queue changes into the database with the fewest row writes.

The bot edits `zilean.core.queue.Queue` in memory and then describes the change to the
`QueueRepo` as index operations. Common changes (a track finished, tracks added at the end or
next, one removed, one moved) cost one or two statements; anything else is rewritten whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAX_POPS = 5  # beyond this many entries dropped from the front, a rewrite is as cheap


@dataclass(frozen=True, slots=True)
class Pop:
    """Remove `count` entries from the front."""

    count: int


@dataclass(frozen=True, slots=True)
class Insert:
    """Insert the entries with these ids before index `index` (None: at the end)."""

    index: int | None
    ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Remove:
    """Remove the entry at `index`."""

    index: int


@dataclass(frozen=True, slots=True)
class Move:
    """Move the entry at `source` to `destination`."""

    source: int
    destination: int


@dataclass(frozen=True, slots=True)
class Rewrite:
    """Replace the whole queue with the entries with these ids."""

    ids: tuple[int, ...]


QueueOp = Pop | Insert | Remove | Move | Rewrite


def plan(before: Sequence[int], after: Sequence[int]) -> list[QueueOp]:
    """Index operations that turn the id list `before` into `after` (entry ids are unique in each)."""
    before, after = list(before), list(after)
    if before == after:
        return []
    moved = _one_moved(before, after)
    if moved is not None:
        return [moved]
    for ops in (_head(before, after), _one_removed(before, after), _front_and_tail(before, after)):
        if ops is not None:
            return ops
    return [Rewrite(tuple(after))]


def _front_and_tail(before: list[int], after: list[int]) -> list[QueueOp] | None:
    """`after` is `before` minus a few entries at the front plus new entries at the end."""
    for popped in range(min(MAX_POPS, len(before)) + 1):
        kept = before[popped:]
        if after[: len(kept)] == kept:
            tail = after[len(kept) :]
            ops: list[QueueOp] = []
            if popped:
                ops.append(Pop(popped))
            if tail:
                ops.append(Insert(None, tuple(tail)))
            return ops
    return None


def _head(before: list[int], after: list[int]) -> list[QueueOp] | None:
    """`after` is new entries followed by `before`."""
    added = len(after) - len(before)
    if added > 0 and before and after[added:] == before:
        return [Insert(0, tuple(after[:added]))]
    return None


def _one_removed(before: list[int], after: list[int]) -> list[QueueOp] | None:
    if len(after) != len(before) - 1:
        return None
    index = _first_difference(before, after)
    if before[:index] + before[index + 1 :] == after:
        return [Remove(index)]
    return None


def _one_moved(before: list[int], after: list[int]) -> Move | None:
    if len(before) != len(after):
        return None
    start = _first_difference(before, after)
    end = len(before) - 1
    while end > start and before[end] == after[end]:
        end -= 1
    if before[start] == after[end] and before[start + 1 : end + 1] == after[start:end]:
        return Move(start, end)  # moved down
    if after[start] == before[end] and before[start:end] == after[start + 1 : end + 1]:
        return Move(end, start)  # moved up
    return None


def _first_difference(before: list[int], after: list[int]) -> int:
    for index, (old, new) in enumerate(zip(before, after, strict=False)):
        if old != new:
            return index
    return min(len(before), len(after))
