"""The bot's metric pieces on their own: the sender's counts, ffmpeg counting with real ffmpeg, outcomes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from discord import app_commands
from discord.ext import commands
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from audio_fixtures import ffmpeg_exe, stereo, tone, write_wav
from polling import until_sync
from zilean.bot.metrics import FFMPEG, MeteredOpusStream, _sender_metrics, command_outcome
from zilean.bot.sender import MAX_LAG_S, TICK_BUCKETS_S, SharedClock
from zilean.core.errors import ZileanError
from zilean.core.media import MediaInput
from zilean.core.pipeline import PlaybackSpec
from zilean.observability.registry import render


class StallingPlayer:
    """Steps like a player; its first step stalls the sender past MAX_LAG_S (a frozen machine)."""

    def __init__(self, stall_s: float = 0.0) -> None:
        self.stall_s = stall_s
        self.steps = 0
        self.done = threading.Event()

    def step(self) -> bool:
        self.steps += 1
        if self.steps == 1 and self.stall_s:
            time.sleep(self.stall_s)
        return self.steps < 30

    def finish(self) -> None:
        self.done.set()


def test_a_stalled_sender_counts_the_frames_it_skipped() -> None:
    clock = SharedClock()
    stalling, other = StallingPlayer(stall_s=MAX_LAG_S + 0.15), StallingPlayer()
    clock.add(stalling)  # type: ignore[arg-type]
    clock.add(other)  # type: ignore[arg-type]
    assert stalling.done.wait(10) and other.done.wait(10)
    # It skips ahead only when more than MAX_LAG_S behind: at least 10 ticks of 2 players never went out.
    assert clock.stats.frames_missed >= 2 * int(MAX_LAG_S / 0.02)
    until_sync(lambda: clock.stats.tick_count >= 30)
    assert sum(clock.stats.tick_buckets) == clock.stats.tick_count
    assert clock.stats.tick_buckets[-1] >= 1  # the stalled tick is past the last bound (0.1 s)


class _Sender(Collector):
    def __init__(self, clock: SharedClock) -> None:
        self.clock = clock

    def collect(self):  # type: ignore[no-untyped-def]
        return _sender_metrics(self.clock)


def test_the_tick_histogram_is_exported_cumulative_with_its_sum() -> None:
    clock = SharedClock()
    for seconds in (0.0001, 0.0001, 0.003, 0.5):
        clock.stats.tick(seconds)
    clock.stats.frames_sent = 7
    registry = CollectorRegistry()
    registry.register(_Sender(clock))
    samples = {
        (s.name, s.labels.get("le")): s.value
        for family in text_string_to_metric_families(render(registry).decode())
        for s in family.samples
    }
    assert samples[("zilean_sender_tick_seconds_bucket", "0.0005")] == 2
    assert samples[("zilean_sender_tick_seconds_bucket", "0.005")] == 3
    assert samples[("zilean_sender_tick_seconds_bucket", "0.1")] == 3
    assert samples[("zilean_sender_tick_seconds_bucket", "+Inf")] == 4
    assert samples[("zilean_sender_tick_seconds_count", None)] == 4
    assert abs(samples[("zilean_sender_tick_seconds_sum", None)] - 0.5032) < 1e-9
    assert samples[("zilean_sender_frames_sent_total", None)] == 7
    assert len(TICK_BUCKETS_S) + 1 == len(clock.stats.tick_buckets)


def drain(stream: MeteredOpusStream) -> None:
    until_sync(lambda: stream.read() is None, within=30)


def test_ffmpeg_starts_and_failures_are_counted(tmp_path: Path) -> None:
    good = write_wav(tmp_path / "a440.wav", stereo(tone(440, 0.5, amplitude=0.5)))
    broken = tmp_path / "broken.flac"
    broken.write_bytes(b"fLaC" + bytes(range(256)) * 16)  # a FLAC header and then nonsense
    starts, failures = FFMPEG.starts, FFMPEG.failures

    stream = MeteredOpusStream(ffmpeg_exe(), PlaybackSpec(MediaInput(str(good), is_local_file=True)))
    stream.start()
    drain(stream)
    stream.close()
    assert (FFMPEG.starts - starts, FFMPEG.failures - failures) == (1, 0)

    stream = MeteredOpusStream(ffmpeg_exe(), PlaybackSpec(MediaInput(str(broken), is_local_file=True)))
    stream.start()
    drain(stream)
    stream.close()
    stream.close()  # closing twice counts once
    assert stream.error is not None
    assert (FFMPEG.starts - starts, FFMPEG.failures - failures) == (2, 1)


def test_command_outcomes() -> None:
    assert command_outcome(commands.CommandNotFound("nope")) is None
    assert command_outcome(commands.CheckFailure()) == "refused"
    assert command_outcome(app_commands.CheckFailure()) == "refused"
    assert command_outcome(commands.CommandInvokeError(ZileanError("Nothing is playing."))) == "refused"
    assert command_outcome(commands.CommandInvokeError(RuntimeError("bug"))) == "error"


def test_each_shard_process_gets_its_own_port_and_the_access_rules() -> None:
    from pydantic import SecretStr

    from zilean.bot.metrics import BotMetrics
    from zilean.bot.runner import metrics_server
    from zilean.config import Settings

    settings = Settings(_env_file=None, metrics_port=9787, metrics_token=SecretStr("t"))  # type: ignore[call-arg]
    metrics = BotMetrics()
    assert metrics_server(settings, metrics, None).port == 9787
    assert metrics_server(settings, metrics, [0]).port == 9787
    assert metrics_server(settings, metrics, [3, 2]).port == 9789  # + its first shard id
    server = metrics_server(settings.model_copy(update={"metrics_port": 0}), metrics, [3])
    assert server.port == 0  # a free one, whatever the shards
    assert server.access.allows("203.0.113.9", "Bearer t") and not server.access.allows("203.0.113.9", None)
