"""The player on real ffmpeg: frames, position, seek, pause, volume, effects, failures and gapless preload.

A FakeSink calls read_frame() every 20 ms on its own thread, as discord.py's AudioPlayer does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from player_sink import FakeSink, SinkFrame, decode

from audio_fixtures import ffmpeg_exe, steps, stereo, tone, write_wav
from polling import until
from zilean.core import analysis
from zilean.core.effects import UnknownEffectError
from zilean.core.errors import PlaybackError
from zilean.core.events import (
    EndReason,
    PlayerEvent,
    PlayerState,
    TrackEnded,
    TrackPaused,
    TrackResumed,
    TrackStarted,
)
from zilean.core.media import MediaInput
from zilean.core.pipeline import OpusStream, PlaybackSpec
from zilean.core.player import OPUS_SILENCE, FrameStream, Player

TIMEOUT = 20.0


def spec_for(path: Path, **kwargs: object) -> PlaybackSpec:
    return PlaybackSpec(MediaInput(str(path), is_local_file=True), **kwargs)  # type: ignore[arg-type]


def real_stream(spec: PlaybackSpec) -> FrameStream:
    return OpusStream(ffmpeg_exe(), spec)


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("player-audio")
    write_wav(folder / "a440_1s.wav", stereo(tone(440, 1.0, 0.5)))
    write_wav(folder / "a660_1s.wav", stereo(tone(660, 1.0, 0.5)))
    write_wav(folder / "a440_3s.wav", stereo(tone(440, 3.0, 0.5)))
    write_wav(folder / "a440_6s.wav", stereo(tone(440, 6.0, 0.5)))
    write_wav(folder / "steps.wav", stereo(steps([300, 500, 700, 900], 1.0, 0.5)))
    (folder / "not_audio.wav").write_bytes(b"<html><body>surely not a WAV</body></html>" * 50)
    return folder


class Harness:
    """A player whose events land in a list on the running loop, with a sink to drive it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, **player_options: int) -> None:
        self.events: list[PlayerEvent] = []
        self.event_threads: set[int] = set()
        self.player = Player(real_stream, self._record, loop, **player_options)
        self.sink = FakeSink(self.player)

    def _record(self, event: PlayerEvent) -> None:
        self.event_threads.add(threading.get_ident())
        self.events.append(event)

    def ended(self) -> list[TrackEnded]:
        return [event for event in self.events if isinstance(event, TrackEnded)]

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        try:
            await until(condition, within=TIMEOUT, interval=0.01, what=what)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; events: {self.events}") from None

    async def audio_frames(self, count: int) -> None:
        await self.until(lambda: len(self.sink.audio()) >= count, f"{count} audio frames")


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    made = Harness(asyncio.get_running_loop(), linger_ms=100)
    yield made
    made.sink.stop()
    made.player.close()


def frequency(frames: list[SinkFrame]) -> float:
    return analysis.dominant_frequency(decode([f.frame for f in frames if f.frame])[:, 0])


def level(frames: list[SinkFrame]) -> float:
    return analysis.rms(decode([f.frame for f in frames if f.frame])[:, 0])


def after_swap(frames: list[SinkFrame], serial: int) -> list[SinkFrame]:
    return [frame for frame in frames if frame.is_audio and frame.serial >= serial]


async def test_a_tone_plays_to_the_end(harness: Harness, audio_dir: Path) -> None:
    harness.player.play(spec_for(audio_dir / "a440_1s.wav"), tag="a")
    assert harness.player.state is PlayerState.LOADING
    harness.sink.start()
    await harness.until(lambda: not harness.sink.running, "the sink to get None")

    audio = harness.sink.audio()
    assert abs(len(audio) - 50) <= 1  # 1 s of 20 ms frames
    assert [frame.position_ms for frame in audio] == [20 * (i + 1) for i in range(len(audio))]
    assert frequency(audio[2:]) == pytest.approx(440, abs=3)
    assert harness.events == [
        TrackStarted("a", 0),
        TrackEnded("a", EndReason.FINISHED, 20 * len(audio)),
    ]
    assert harness.event_threads == {threading.get_ident()}  # delivered on the loop's thread
    # After the end: silence while lingering (100 ms), then None, which stops the sink.
    tail = harness.sink.frames[harness.sink.frames.index(audio[-1]) + 1 :]
    assert tail[-1].frame is None
    assert all(frame.frame == OPUS_SILENCE for frame in tail[:-1])
    assert harness.player.state is PlayerState.IDLE and harness.player.read_frame() is None


async def test_seek_lands_on_the_right_second(harness: Harness, audio_dir: Path) -> None:
    harness.player.play(spec_for(audio_dir / "steps.wav"), tag="steps")  # 300, 500, 700, 900 Hz
    harness.sink.start()
    await harness.audio_frames(10)
    old_serial = harness.player.stream_serial
    harness.player.seek(2000)
    await harness.until(lambda: harness.player.stream_serial > old_serial, "the seek to take over")
    await harness.audio_frames(len(harness.sink.audio()) + 25)

    before = [frame for frame in harness.sink.audio() if frame.serial == old_serial]
    moved = after_swap(harness.sink.frames, old_serial + 1)
    assert moved[0].position_ms == 2020  # the first frame after the swap covers 2000–2020 ms
    assert [frame.position_ms for frame in moved[:20]] == [2020 + 20 * i for i in range(20)]
    assert frequency(moved[2:22]) == pytest.approx(700, abs=5)
    assert frequency(before[2:10]) == pytest.approx(300, abs=5)


async def test_pause_holds_the_position_and_resume_continues(harness: Harness, audio_dir: Path) -> None:
    harness.player.play(spec_for(audio_dir / "a440_3s.wav"), tag="t")
    harness.sink.start()
    await harness.audio_frames(10)
    harness.player.pause()
    held = harness.player.position_ms
    paused_at = len(harness.sink.frames)
    await harness.until(lambda: len(harness.sink.frames) >= paused_at + 6, "frames pulled while paused")
    assert harness.player.position_ms == held
    assert harness.player.state is PlayerState.PAUSED
    during = harness.sink.frames[paused_at + 1 :]
    assert len(during) >= 5 and all(frame.frame == OPUS_SILENCE for frame in during)
    harness.player.resume()
    await harness.audio_frames(len(harness.sink.audio()) + 5)
    audio = harness.sink.audio()
    assert [frame.position_ms for frame in audio] == [20 * (i + 1) for i in range(len(audio))]
    paused = [event for event in harness.events if isinstance(event, TrackPaused | TrackResumed)]
    assert paused == [TrackPaused("t", held), TrackResumed("t", held)]


async def test_volume_change_mid_track_keeps_the_position(harness: Harness, audio_dir: Path) -> None:
    # 6 s: the louder stream lands long before the end even on a busy machine (it restarts ffmpeg).
    harness.player.play(spec_for(audio_dir / "a440_6s.wav", volume_percent=50), tag="t")
    harness.sink.start()
    await harness.audio_frames(25)
    old_serial = harness.player.stream_serial
    harness.player.set_volume(200)
    assert harness.player.spec is not None and harness.player.spec.volume_percent == 200
    await harness.until(lambda: harness.ended() != [], "the end")

    audio = harness.sink.audio()
    before = [frame for frame in audio if frame.serial == old_serial]
    louder = after_swap(harness.sink.frames, old_serial + 1)
    # Same music, no frame repeated or skipped: 6 s worth of frames, position +20 each.
    assert abs(len(audio) - 300) <= 2
    assert len(louder) > 100, "the volume change landed too late to be measured"
    assert [frame.position_ms for frame in audio] == [20 * (i + 1) for i in range(len(audio))]
    assert level(louder[3:]) / level(before[3:]) == pytest.approx(4.0, rel=0.03)  # 50 % → 200 %
    assert harness.ended()[0].reason is EndReason.FINISHED


async def test_effects_change_pitch_and_position_follows_the_tempo(harness: Harness, audio_dir: Path) -> None:
    harness.player.play(spec_for(audio_dir / "a440_3s.wav"), tag="t")
    harness.sink.start()
    await harness.audio_frames(10)
    old_serial = harness.player.stream_serial
    harness.player.set_effects(("nightcore",))
    await harness.until(lambda: harness.player.stream_serial > old_serial, "the effect to take over")
    await harness.audio_frames(len(harness.sink.audio()) + 20)

    faster = after_swap(harness.sink.frames, old_serial + 1)
    assert frequency(faster[2:18]) == pytest.approx(550, abs=5)
    steps_ms = np.diff([frame.position_ms for frame in faster[:15]])
    assert set(steps_ms.tolist()) == {25}  # 20 ms of output plays 25 ms of the source


async def test_a_broken_input_ends_with_failed_and_a_message(harness: Harness, audio_dir: Path) -> None:
    harness.player.play(spec_for(audio_dir / "not_audio.wav"), tag="bad")
    harness.sink.start()
    await harness.until(lambda: harness.ended() != [], "the failure")
    (ended,) = harness.ended()
    assert ended.tag == "bad" and ended.reason is EndReason.FAILED and ended.reason.may_advance
    assert ended.message and "could not be played" in ended.message
    assert harness.sink.audio() == []


async def test_a_stream_that_cannot_start_fails_the_same_way(audio_dir: Path) -> None:
    events: list[PlayerEvent] = []

    def refuse(spec: PlaybackSpec) -> FrameStream:
        raise PlaybackError("Only http(s) media can be streamed.")

    player = Player(refuse, events.append, asyncio.get_running_loop(), linger_ms=40)
    player.play(spec_for(audio_dir / "a440_1s.wav"), tag="x")
    async with asyncio.timeout(TIMEOUT):
        while not events:  # noqa: ASYNC110 - the starter thread reports the failure
            await asyncio.sleep(0.01)
    assert events == [TrackEnded("x", EndReason.FAILED, 0, "Only http(s) media can be streamed.")]
    assert [player.read_frame(), player.read_frame(), player.read_frame()] == [
        OPUS_SILENCE,
        OPUS_SILENCE,
        None,
    ]
    player.close()


async def test_preload_plays_the_next_track_without_a_gap(harness: Harness, audio_dir: Path) -> None:
    harness.player.play(spec_for(audio_dir / "a440_3s.wav"), tag="first", duration_ms=3000)
    harness.player.preload(spec_for(audio_dir / "a660_1s.wav"), tag="second", duration_ms=1000)
    harness.sink.start()
    await harness.until(lambda: len(harness.ended()) == 2, "both tracks to end")

    assert [type(event) for event in harness.events] == [TrackStarted, TrackEnded, TrackStarted, TrackEnded]
    assert harness.events[1] == TrackEnded("first", EndReason.FINISHED, harness.events[1].position_ms)
    assert harness.events[2] == TrackStarted("second", 0)
    frames = harness.sink.frames
    first = [i for i, frame in enumerate(frames) if frame.is_audio and frame.position_ms > 1000]
    boundary = next(i for i in first if frames[i + 1].position_ms == 20)
    assert frames[boundary + 1].is_audio  # the next frame is already the second track's
    audio = harness.sink.audio()
    assert abs(len(audio) - 200) <= 3
    second = [frame for frame in audio if frame.serial == frames[boundary + 1].serial]
    assert frequency(second[2:]) == pytest.approx(660, abs=3)


async def test_play_replaces_and_stop_stops(harness: Harness, audio_dir: Path) -> None:
    harness.player.play(spec_for(audio_dir / "a440_3s.wav"), tag="one")
    harness.sink.start()
    await harness.audio_frames(5)
    harness.player.play(spec_for(audio_dir / "steps.wav"), tag="two")
    await harness.until(lambda: harness.player.state is PlayerState.PLAYING, "the second track")
    harness.player.stop()
    await harness.until(lambda: not harness.sink.running, "the sink to stop")
    reasons = [(event.tag, event.reason) for event in harness.ended()]
    assert reasons == [("one", EndReason.REPLACED), ("two", EndReason.STOPPED)]
    assert not EndReason.REPLACED.may_advance and not EndReason.STOPPED.may_advance
    assert harness.sink.frames[-1].frame is None
    assert harness.player.tag is None and harness.player.position_ms == 0


async def test_bad_volume_and_effects_are_refused_with_user_messages(
    harness: Harness, audio_dir: Path
) -> None:
    harness.player.play(spec_for(audio_dir / "a440_1s.wav"))
    with pytest.raises(PlaybackError, match="between 0 and 200"):
        harness.player.set_volume(250)
    with pytest.raises(UnknownEffectError, match="Unknown effect"):
        harness.player.set_effects(("nope",))
    assert harness.player.spec is not None and harness.player.spec.volume_percent == 100


class RecordingStream(OpusStream):
    """The real OpusStream, noting which thread closes it."""

    closed_by: ClassVar[list[str]] = []

    def close(self) -> None:
        RecordingStream.closed_by.append(threading.current_thread().name)
        super().close()


async def test_the_sink_thread_never_waits_for_ffmpeg_to_exit(audio_dir: Path) -> None:
    events: list[PlayerEvent] = []
    player = Player(
        lambda spec: RecordingStream(ffmpeg_exe(), spec), events.append, asyncio.get_running_loop()
    )
    sink = FakeSink(player)
    RecordingStream.closed_by.clear()
    player.play(spec_for(audio_dir / "a440_1s.wav"), tag="t")
    sink.start()
    await until(lambda: len(sink.audio()) >= 5, within=TIMEOUT, what="the first frames")
    player.seek(500)  # the old stream is closed when the new one takes over, inside read_frame()
    await until(
        lambda: any(isinstance(event, TrackEnded) for event in events), within=TIMEOUT, what="the end"
    )
    sink.stop()
    player.close()
    assert any(isinstance(event, TrackEnded) for event in events)
    assert len(RecordingStream.closed_by) >= 2
    assert all(name.startswith("zilean-player") for name in RecordingStream.closed_by)


async def test_a_pause_while_loading_holds_until_resume(harness: Harness, audio_dir: Path) -> None:
    harness.player.play(spec_for(audio_dir / "a440_1s.wav"), tag="t")
    harness.player.pause()
    assert harness.player.state is PlayerState.PAUSED
    harness.sink.start()
    await asyncio.sleep(0.3)  # ffmpeg has long had packets ready; a paused player must not take them
    assert harness.sink.audio() == [] and harness.player.position_ms == 0
    assert not any(isinstance(event, TrackStarted) for event in harness.events)
    harness.player.resume()
    await harness.until(lambda: harness.ended() != [], "the end")
    assert harness.events[0] == TrackPaused("t", 0) and harness.events[1] == TrackResumed("t", 0)
    assert harness.events[2] == TrackStarted("t", 0)
    assert abs(len(harness.sink.audio()) - 50) <= 1


async def test_a_volume_change_during_a_seek_keeps_the_seek_target(harness: Harness, audio_dir: Path) -> None:
    harness.player.play(spec_for(audio_dir / "steps.wav", volume_percent=50), tag="t")  # 300/500/700/900 Hz
    harness.sink.start()
    await harness.audio_frames(10)
    old_serial = harness.player.stream_serial
    harness.player.seek(2000)
    harness.player.set_volume(200)
    await harness.until(
        lambda: harness.player.spec is not None and harness.player.stream_serial > old_serial, ""
    )
    await harness.audio_frames(len(harness.sink.audio()) + 30)

    before = [frame for frame in harness.sink.audio() if frame.serial == old_serial]
    moved = after_swap(harness.sink.frames, old_serial + 1)
    assert [frame.position_ms for frame in moved[:25]] == [2020 + 20 * i for i in range(25)]
    latest = [frame for frame in moved if frame.serial == moved[-1].serial]
    assert frequency(latest[2:]) == pytest.approx(700, abs=5)
    assert level(latest[3:]) / level(before[3:10]) == pytest.approx(4.0, rel=0.03)


async def test_control_calls_never_wait_for_ffmpeg_to_start(audio_dir: Path) -> None:
    gate = threading.Event()
    released: list[bool] = []  # per start(): had the test released the gate (after the call returned)?

    class GatedStream(OpusStream):
        def start(self) -> None:
            released.append(gate.wait(timeout=3))  # a synchronous caller would hold us here for 3 s
            super().start()

    events: list[PlayerEvent] = []
    player = Player(lambda spec: GatedStream(ffmpeg_exe(), spec), events.append, asyncio.get_running_loop())
    sink = FakeSink(player)
    try:
        player.play(spec_for(audio_dir / "a440_3s.wav"), tag="t")
        player.set_volume(150)
        gate.set()
        sink.start()
        async with asyncio.timeout(TIMEOUT):
            while len(released) < 2 or not sink.audio():  # noqa: ASYNC110 - other threads fill these
                await asyncio.sleep(0.01)
    finally:
        sink.stop()
        player.close()
    assert released[:2] == [True, True]
