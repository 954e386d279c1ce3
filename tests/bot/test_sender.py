"""The shared clock: every player stepped each tick, finished ones dropped and finished once."""

from __future__ import annotations

import sys
import threading
import time

from zilean.bot.sender import GIL_SWITCH_INTERVAL_S, SharedClock


class CountingPlayer:
    """Stands in for SharedAudioPlayer: the clock only calls step() and finish()."""

    def __init__(self, frames: int | None = None) -> None:
        self.steps = 0
        self.frames = frames  # finish after this many steps; None: play on
        self.finished = threading.Event()

    def step(self) -> bool:
        self.steps += 1
        return self.frames is None or self.steps < self.frames

    def finish(self) -> None:
        assert not self.finished.is_set(), "finish() called twice"
        self.finished.set()


def wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_players_are_stepped_until_they_finish_and_then_dropped() -> None:
    clock = SharedClock()
    endless, short = CountingPlayer(), CountingPlayer(frames=10)
    clock.add(endless)  # type: ignore[arg-type]
    clock.add(short)  # type: ignore[arg-type]
    assert short.finished.wait(5)
    assert short.steps == 10
    # A process that sends audio hands the GIL over quickly (see GIL_SWITCH_INTERVAL_S).
    assert sys.getswitchinterval() <= GIL_SWITCH_INTERVAL_S
    wait_until(lambda: clock.player_count == 1)
    steps = endless.steps
    wait_until(lambda: endless.steps > steps)  # the other player is still being stepped
    assert not endless.finished.is_set()


def test_a_player_added_after_the_clock_went_idle_is_stepped() -> None:
    clock = SharedClock()
    first = CountingPlayer(frames=2)
    clock.add(first)  # type: ignore[arg-type]
    assert first.finished.wait(5)
    wait_until(lambda: clock.player_count == 0)
    later = CountingPlayer(frames=3)
    clock.add(later)  # type: ignore[arg-type]
    assert later.finished.wait(5)
    assert later.steps == 3
