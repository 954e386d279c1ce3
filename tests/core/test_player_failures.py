"""The player never goes silent without saying why (issue #12): a stream that never gives audio, a start
that raises, an ffmpeg killed mid-track (restarted where it was, then given up with a message).

Real ffmpeg throughout; a FakeSink reads every 20 ms as the bot's sender does.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from player_sink import FakeSink

from audio_fixtures import ffmpeg_exe, stereo, tone, write_wav
from zilean.core import pipeline
from zilean.core.events import EndReason, PlayerEvent, TrackEnded
from zilean.core.media import MediaInput
from zilean.core.pipeline import OpusStream, PlaybackSpec
from zilean.core.player import STALLED_MESSAGE, FrameStream, Player

TIMEOUT = 20.0


def spec_for(path: Path, **kwargs: object) -> PlaybackSpec:
    return PlaybackSpec(MediaInput(str(path), is_local_file=True), **kwargs)  # type: ignore[arg-type]


class KillableStream(OpusStream):
    """The real OpusStream; the test can kill its ffmpeg as the OOM killer would."""

    def kill_ffmpeg(self) -> None:
        assert self._process is not None
        self._process.kill()


async def until(condition: Callable[[], bool], what: str, events: list[PlayerEvent]) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {what}; events: {events}"
        await asyncio.sleep(0.01)


def failures(events: list[PlayerEvent]) -> list[TrackEnded]:
    return [e for e in events if isinstance(e, TrackEnded) and e.reason is EndReason.FAILED]


@pytest.fixture(scope="module")
def tone_3s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("failures") / "a440_3s.wav"
    write_wav(path, stereo(tone(440, 3.0, 0.5)))
    return path


@pytest.fixture(scope="module")
def tone_30s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("failures") / "a440_30s.wav"
    write_wav(path, stereo(tone(440, 30.0, 0.5)))
    return path


async def test_a_stream_that_never_gives_audio_fails_with_a_message(tmp_path: Path) -> None:
    # ffmpeg opens a named pipe nobody writes to and waits there for ever, as it would on a source
    # that never answers: the track must fail with a reason, not play silence for good.
    fifo = tmp_path / "never.wav"
    os.mkfifo(fifo)
    events: list[PlayerEvent] = []
    player = Player(
        lambda spec: OpusStream(ffmpeg_exe(), spec),
        events.append,
        asyncio.get_running_loop(),
        linger_ms=40,
        stall_ms=300,
    )
    player.play(spec_for(fifo), tag="stuck")
    sink = FakeSink(player).start()  # after play(): a sink stops at the first None, as discord.py's does
    try:
        await until(lambda: failures(events) != [], "the stalled start must be reported", events)
    finally:
        sink.stop()
        player.close()
    (ended,) = failures(events)
    assert ended.tag == "stuck" and ended.message == STALLED_MESSAGE
    assert ended.reason.may_advance  # the queue moves on to the next track
    assert sink.audio() == []


async def test_a_start_that_raises_anything_is_reported(tone_3s: Path) -> None:
    # Before issue #12 only ZileanError and OSError were caught; anything else vanished in the
    # starter thread's future and left the guild loading in silence.
    class NoThreads(OpusStream):
        def start(self) -> None:
            raise RuntimeError("can't start new thread")

    events: list[PlayerEvent] = []
    player = Player(lambda spec: NoThreads(ffmpeg_exe(), spec), events.append, asyncio.get_running_loop())
    try:
        player.play(spec_for(tone_3s), tag="t")
        await until(lambda: failures(events) != [], "the failed start must be reported", events)
    finally:
        player.close()
    (ended,) = failures(events)
    assert ended.tag == "t" and ended.message


async def test_an_ffmpeg_killed_mid_track_is_restarted_where_it_was_then_given_up(
    tone_30s: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 30 s of Opus is more than the pipe holds, so ffmpeg is still running (blocked on the full pipe)
    # when it is killed; the player plays what was buffered, then sees the kill. A 16 KiB pipe (≈ 1 s)
    # instead of the player's ≈ 10 s: the same path, without waiting 2 × 10 s for the buffer to play.
    monkeypatch.setattr(pipeline, "PIPE_BYTES", 16 * 1024)
    streams: list[KillableStream] = []

    def factory(spec: PlaybackSpec) -> FrameStream:
        streams.append(KillableStream(ffmpeg_exe(), spec))
        return streams[-1]

    events: list[PlayerEvent] = []
    player = Player(factory, events.append, asyncio.get_running_loop(), linger_ms=40)
    player.play(spec_for(tone_30s), tag="t")
    sink = FakeSink(player).start()
    try:
        await until(lambda: len(sink.audio()) >= 30, "30 audio frames", events)
        streams[0].kill_ffmpeg()
        await until(lambda: len(streams) == 2 and streams[1].packets_read > 5, "the restart plays", events)
        assert failures(events) == []
        # It starts where the first broke off, not at the beginning of the track again.
        assert streams[1].spec.start_ms >= 30 * 20
        assert player.position_ms > streams[1].spec.start_ms
        streams[1].kill_ffmpeg()  # and again: now it gives up, with a reason
        await until(lambda: failures(events) != [], "the second break must fail the track", events)
    finally:
        sink.stop()
        player.close()
    (ended,) = failures(events)
    assert ended.message == "The audio process was stopped unexpectedly."
    assert len(streams) == 2
