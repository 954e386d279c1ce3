"""The shared clock: every player stepped each tick, finished ones dropped and finished once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from polling import until_sync
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


def wait_until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    until_sync(condition, within=timeout)


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


class BusyPlayer(CountingPlayer):
    """A player whose steps cost more CPU than a tick has while `busy` is set (too little CPU)."""

    def __init__(self) -> None:
        super().__init__()
        self.busy = threading.Event()
        self.busy.set()

    def step(self) -> bool:
        if self.busy.is_set():
            until = time.thread_time() + 0.03  # CPU time of this thread, so a preemption doesn't count
            while time.thread_time() < until:
                pass
        return super().step()


def sender_policy(clock: SharedClock) -> int:
    native_id = clock.native_id
    assert native_id is not None
    return os.sched_getscheduler(native_id) & ~os.SCHED_RESET_ON_FORK


def test_a_realtime_sender_that_cannot_keep_up_steps_down_to_normal_priority_and_back() -> None:
    # Issue #12: a SCHED_FIFO sender that is always behind holds a whole CPU, and ffmpeg and the
    # event loop starve (guild start-up took 2-3x as long). Above its CPU budget it must step down.
    clock = SharedClock(realtime_priority=5, realtime_retry_s=0.5)
    player = BusyPlayer()
    clock.add(player)  # type: ignore[arg-type]
    wait_until(lambda: player.steps > 0)
    if not clock.realtime and clock.step_downs == 0:
        import pytest

        pytest.skip("real-time scheduling is not allowed here")
    wait_until(lambda: clock.step_downs > 0, timeout=20)
    player.busy.clear()
    # Light again: after the retry time it asks for real-time priority again and keeps it.
    wait_until(lambda: clock.realtime and sender_policy(clock) == os.SCHED_FIFO, timeout=20)
    steps = player.steps
    wait_until(lambda: player.steps > steps + 100, timeout=20)
    assert clock.realtime and sender_policy(clock) == os.SCHED_FIFO
    assert clock.step_downs == 1
    player.frames = player.steps + 1  # let the clock thread go idle
    assert player.finished.wait(5)
