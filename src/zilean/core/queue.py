"""A guild's queue: the current entry, the entries to come, the last 100 played and the loop mode.

Pure and in memory (no I/O, no clock); the bot persists it through `zilean.db`. The queue never
plays anything: the player reports how a track ended and `advance(reason)` decides what is next.

Positions that users type are 1-based indexes into `upcoming` ("track 1" plays next).
Entry ids are unique among the current and upcoming entries, so the dashboard can address an
entry without racing other edits (`position_of(id)`).

Loop modes:
- OFF: play each entry once.
- ONE: a track that *finished* starts again; `skip()` still moves on; a failed track never repeats.
- QUEUE: each entry that finished or was skipped goes back to the end, so the queue wraps around.
  A failed entry is dropped rather than re-queued (otherwise a dead link would fail forever).
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from zilean.core.errors import QueueError
from zilean.core.events import EndReason
from zilean.core.track import Track

HISTORY_LIMIT = 100


class LoopMode(StrEnum):
    """How the queue repeats."""

    OFF = "off"
    ONE = "one"
    QUEUE = "queue"


class Placement(StrEnum):
    """Where `add` puts new entries."""

    END = "end"  # after everything already queued
    NEXT = "next"  # at the top of the upcoming list: plays after the current entry
    NOW = "now"  # becomes the current entry at once; the old current goes to history


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One queued track with an id that stays the same while it moves around."""

    id: int
    track: Track


class Queue:
    """The current entry, the upcoming entries, the played history and the loop mode."""

    def __init__(self, *, rng: random.Random | None = None, history_limit: int = HISTORY_LIMIT) -> None:
        self._rng = rng or random.Random()
        self._ids = itertools.count(1)
        self._current: QueueEntry | None = None
        self._upcoming: list[QueueEntry] = []
        self._history: deque[QueueEntry] = deque(maxlen=history_limit)
        self.loop = LoopMode.OFF

    @classmethod
    def restore(
        cls,
        current: QueueEntry | None,
        upcoming: Iterable[QueueEntry],
        history: Iterable[QueueEntry] = (),
        loop: LoopMode = LoopMode.OFF,
        *,
        rng: random.Random | None = None,
    ) -> Queue:
        """Rebuild a queue saved earlier (history oldest first); new ids continue after the largest one."""
        queue = cls(rng=rng)
        queue._current = current
        queue._upcoming = list(upcoming)
        queue._history.extend(history)
        queue.loop = loop
        live = queue._live_entries()
        if len({entry.id for entry in live}) != len(live):
            raise QueueError("the saved queue has duplicate entries")
        biggest = max((entry.id for entry in (*live, *queue._history)), default=0)
        queue._ids = itertools.count(biggest + 1)
        return queue

    # --- reading ---------------------------------------------------------------------------

    @property
    def current(self) -> QueueEntry | None:
        """The entry that is playing (or about to), if any."""
        return self._current

    @property
    def upcoming(self) -> tuple[QueueEntry, ...]:
        """The entries after the current one, in play order."""
        return tuple(self._upcoming)

    @property
    def history(self) -> tuple[QueueEntry, ...]:
        """The entries played before the current one, most recent first (at most 100)."""
        return tuple(reversed(self._history))

    @property
    def upcoming_duration_ms(self) -> int:
        """The total known duration of the upcoming entries (entries of unknown length count 0)."""
        return sum(entry.track.duration_ms or 0 for entry in self._upcoming)

    def __len__(self) -> int:
        return len(self._upcoming)

    def position_of(self, entry_id: int) -> int:
        """The 1-based position of an upcoming entry, for commands that address entries by id."""
        for index, entry in enumerate(self._upcoming):
            if entry.id == entry_id:
                return index + 1
        raise QueueError("that track is no longer in the queue")

    def peek_next(self) -> QueueEntry | None:
        """What `advance(EndReason.FINISHED)` would play next, without moving (for the player's preload)."""
        if self._current is not None and self.loop is LoopMode.ONE:
            return self._current
        if self._upcoming:
            return self._upcoming[0]
        return self._current if self.loop is LoopMode.QUEUE else None

    # --- editing ---------------------------------------------------------------------------

    def add(
        self, tracks: Track | Sequence[Track], placement: Placement = Placement.END, *, fair: bool = False
    ) -> list[QueueEntry]:
        """Queue one or more tracks (kept in the given order) and return their entries.

        `fair` (the server's fair-queue mode) applies to END: each track goes into the first
        round of requesters its requester has no track in yet (see `_fair_index`), so requesters
        take turns instead of one member's playlist holding everyone else back.
        """
        batch = [tracks] if isinstance(tracks, Track) else list(tracks)
        entries = [QueueEntry(next(self._ids), track) for track in batch]
        if not entries:
            return entries
        if placement is Placement.END and fair:
            for entry in entries:
                self._upcoming.insert(self._fair_index(entry.track.requester_id), entry)
        elif placement is Placement.END:
            self._upcoming.extend(entries)
        elif placement is Placement.NEXT:
            self._upcoming[0:0] = entries
        else:
            self._upcoming[0:0] = entries[1:]
            self._finish_current(requeue=self.loop is LoopMode.QUEUE)
            self._current = entries[0]
        return entries

    def remove(self, position: int) -> QueueEntry:
        """Take the upcoming entry at `position` out of the queue."""
        return self._upcoming.pop(self._index(position))

    def move(self, source: int, destination: int) -> QueueEntry:
        """Move the upcoming entry at `source` so that it ends up at `destination`."""
        src, dst = self._index(source), self._index(destination, what="place")
        entry = self._upcoming.pop(src)
        self._upcoming.insert(dst, entry)
        return entry

    def shuffle(self) -> None:
        """Put the upcoming entries in a random order; the current entry keeps playing."""
        self._rng.shuffle(self._upcoming)

    def clear(self) -> int:
        """Drop every upcoming entry (the current one keeps playing); returns how many were dropped."""
        dropped = len(self._upcoming)
        self._upcoming.clear()
        return dropped

    def stop(self) -> None:
        """Forget the current entry and everything upcoming (history stays): the queue is done."""
        self._current = None
        self._upcoming.clear()

    # --- moving through the queue ----------------------------------------------------------

    def advance(self, reason: EndReason) -> QueueEntry | None:
        """The current track ended for `reason`: return what plays now, honouring the loop mode."""
        if not reason.may_advance:
            return self._current
        if self._current is not None and self.loop is LoopMode.ONE and reason is EndReason.FINISHED:
            return self._current  # repeats are not new history entries
        requeue = self.loop is LoopMode.QUEUE and reason is EndReason.FINISHED
        self._finish_current(requeue=requeue)
        self._current = self._upcoming.pop(0) if self._upcoming else None
        return self._current

    def skip(self) -> QueueEntry | None:
        """Move on now, even under loop ONE (a skipped entry still goes round under loop QUEUE)."""
        self._finish_current(requeue=self.loop is LoopMode.QUEUE)
        self._current = self._upcoming.pop(0) if self._upcoming else None
        return self._current

    def skip_to(self, position: int) -> QueueEntry:
        """Jump to the upcoming entry at `position`; the ones before it are skipped."""
        index = self._index(position)
        skipped, self._upcoming = self._upcoming[:index], self._upcoming[index:]
        requeue = self.loop is LoopMode.QUEUE
        self._finish_current(requeue=requeue)
        if requeue:
            self._upcoming.extend(skipped)
        self._current = self._upcoming.pop(0)
        return self._current

    def previous(self) -> QueueEntry:
        """Go back to the entry played before the current one; the current one plays next."""
        if not self._history:
            raise QueueError("there is no previous track")
        entry = self._history.pop()
        # Under loop QUEUE the entry was also put back at the end: it must not be there twice.
        self._upcoming = [queued for queued in self._upcoming if queued.id != entry.id]
        if self._current is not None and self._current.id != entry.id:
            self._upcoming.insert(0, self._current)
        self._current = entry
        return entry

    # --- helpers ---------------------------------------------------------------------------

    def _fair_index(self, requester: int | None) -> int:
        """Where a fair queue puts a new track of `requester` (JMusicBot's FairQueue, round-robin).

        The current entry and the upcoming ones are read as rounds in which each requester has at
        most one track; the new track joins the first round after the requester's last track that
        it is not in yet: it goes right after the requester's last track, then past the following
        tracks of other requesters up to where a requester repeats (the next round starts). The
        current entry opens the first round, so its requester waits for the others' turn.
        """
        offset = 1 if self._current is not None else 0
        rounds = ([self._current] if self._current is not None else []) + self._upcoming
        index = 0
        for i in range(len(rounds) - 1, -1, -1):
            if rounds[i].track.requester_id == requester:
                index = i + 1
                break
        seen = {requester}
        while index < len(rounds) and rounds[index].track.requester_id not in seen:
            seen.add(rounds[index].track.requester_id)
            index += 1
        return max(index - offset, 0)

    def _finish_current(self, *, requeue: bool) -> None:
        if self._current is None:
            return
        self._history.append(self._current)
        if requeue:
            self._upcoming.append(self._current)
        self._current = None

    def _live_entries(self) -> list[QueueEntry]:
        return ([self._current] if self._current is not None else []) + self._upcoming

    def _index(self, position: int, what: str = "track") -> int:
        size = len(self._upcoming)
        if size == 0:
            raise QueueError("the queue is empty")
        if position < 1:
            raise QueueError(f"positions start at 1; there is no {what} {position}")
        if position > size:
            noun = "track" if size == 1 else "tracks"
            raise QueueError(f"there is no {what} {position}; the queue has {size} {noun}")
        return position - 1
