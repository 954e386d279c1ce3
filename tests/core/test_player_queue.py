"""The owner's loop from the player's docstring: queue + player + preload, on real ffmpeg."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from player_sink import FakeSink

from audio_fixtures import ffmpeg_exe, stereo, tone, write_wav
from polling import until
from zilean.core.events import EndReason, PlayerEvent, TrackEnded, TrackStarted
from zilean.core.media import MediaInput
from zilean.core.pipeline import OpusStream, PlaybackSpec
from zilean.core.player import Player
from zilean.core.queue import LoopMode, Queue, QueueEntry
from zilean.core.track import Track


def spec_of(entry: QueueEntry) -> PlaybackSpec:
    assert entry.track.stream_url is not None
    return PlaybackSpec(MediaInput(entry.track.stream_url, is_local_file=True))


class Session:
    """What the bot's guild session does with player events (see zilean.core.player)."""

    def __init__(self, queue: Queue, loop: asyncio.AbstractEventLoop) -> None:
        self.queue = queue
        self.events: list[PlayerEvent] = []
        self.finished = asyncio.Event()
        self.player = Player(lambda spec: OpusStream(ffmpeg_exe(), spec), self.on_event, loop, linger_ms=200)

    def start(self) -> None:
        entry = self.queue.advance(EndReason.FINISHED)
        assert entry is not None
        self.player.play(spec_of(entry), entry, duration_ms=entry.track.duration_ms)

    def ended(self) -> list[TrackEnded]:
        return [event for event in self.events if isinstance(event, TrackEnded)]

    async def until(self, condition: Callable[[], bool]) -> None:
        await until(condition, within=30, interval=0.01)

    def on_event(self, event: PlayerEvent) -> None:
        self.events.append(event)
        if isinstance(event, TrackStarted):
            following = self.queue.peek_next()
            if following is not None:
                self.player.preload(spec_of(following), following, duration_ms=following.track.duration_ms)
        elif isinstance(event, TrackEnded) and event.reason.may_advance:
            entry = self.queue.advance(event.reason)
            if entry is None:
                self.finished.set()
            elif self.player.tag is not entry:
                self.player.play(spec_of(entry), entry, duration_ms=entry.track.duration_ms)


@pytest.fixture(scope="module")
def songs(tmp_path_factory: pytest.TempPathFactory) -> list[Track]:
    folder = tmp_path_factory.mktemp("queue-audio")
    made = []
    for index, freq in enumerate([330, 440, 550]):
        path = write_wav(folder / f"song{index}.wav", stereo(tone(freq, 0.8, 0.4)))
        made.append(Track(f"song {index}", f"local:song{index}", "local", 800, str(path)))
    return made


async def test_a_queue_plays_through_with_preload(songs: list[Track]) -> None:
    queue = Queue()
    queue.add(songs)
    session = Session(queue, asyncio.get_running_loop())
    sink = FakeSink(session.player)
    session.start()
    sink.start()
    try:
        await asyncio.wait_for(session.finished.wait(), timeout=30)
    finally:
        sink.stop()
        session.player.close()
    started = [event.tag for event in session.events if isinstance(event, TrackStarted)]
    ended = [(event.tag, event.reason) for event in session.ended()]
    assert [entry.track.title for entry in started] == ["song 0", "song 1", "song 2"]  # each once, in order
    assert ended == [(tag, EndReason.FINISHED) for tag in started]  # no REPLACED: the preload took over
    assert [entry.track.title for entry in queue.history] == ["song 2", "song 1", "song 0"]


async def test_loop_one_repeats_through_the_preload(songs: list[Track]) -> None:
    queue = Queue()
    queue.add(songs[:1])
    queue.loop = LoopMode.ONE
    session = Session(queue, asyncio.get_running_loop())
    sink = FakeSink(session.player)
    session.start()
    sink.start()
    try:
        await session.until(lambda: len(session.ended()) >= 3)
        queue.loop = LoopMode.OFF
        session.player.cancel_preload()
        await asyncio.wait_for(session.finished.wait(), timeout=30)
    finally:
        sink.stop()
        session.player.close()
    assert {event.tag for event in session.ended()} == {queue.history[0]}
    assert all(event.reason is EndReason.FINISHED for event in session.ended())
