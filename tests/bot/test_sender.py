"""The shared clock: every player stepped each tick, finished ones dropped and finished once."""

from __future__ import annotations

import os
import subprocess
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


class SchedulingProbe(CountingPlayer):
    """Notes, on its first step, the scheduling policy of the sender thread and of what it starts."""

    def __init__(self) -> None:
        super().__init__(frames=1)
        self.policies: dict[str, int] = {}

    def step(self) -> bool:
        self.policies["sender"] = os.sched_getscheduler(0)
        child = threading.Thread(target=lambda: self.policies.update(thread=os.sched_getscheduler(0)))
        child.start()
        child.join()
        answer = subprocess.run(
            [sys.executable, "-c", "import os; print(os.sched_getscheduler(0))"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        self.policies["process"] = int(answer.stdout)
        return super().step()


def test_only_the_sender_thread_gets_realtime_priority() -> None:
    clock = SharedClock(realtime_priority=5)
    probe = SchedulingProbe()
    clock.add(probe)  # type: ignore[arg-type]
    assert probe.finished.wait(10)
    if os.geteuid() == 0:  # CI: allowed, so it must have happened
        assert clock.realtime
    expected = os.SCHED_FIFO if clock.realtime else os.SCHED_OTHER
    assert probe.policies["sender"] & ~os.SCHED_RESET_ON_FORK == expected
    # A thread or process the sender starts (the player's pool thread, ffmpeg) is not real-time.
    assert probe.policies["thread"] == os.SCHED_OTHER
    assert probe.policies["process"] == os.SCHED_OTHER
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


def test_priority_0_never_asks_for_realtime() -> None:
    clock = SharedClock(realtime_priority=0)
    probe = SchedulingProbe()
    clock.add(probe)  # type: ignore[arg-type]
    assert probe.finished.wait(10)
    assert not clock.realtime
    assert probe.policies["sender"] == os.SCHED_OTHER
