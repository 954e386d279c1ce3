"""Player latency: how fast volume/effect/seek changes are heard, the gap around the switch, and track gaps.

Runs the real Player on real ffmpeg (OpusStream) with a fake sink that calls read_frame() every
20 ms on its own thread, exactly as discord.py's AudioPlayer does, and an asyncio loop that
receives the player's events (as the bot does).

- change latency: request (set_volume / set_effects / seek called) → the first frame of the NEW
  ffmpeg handed to the sink. Goal ≤ 300 ms.
- change gap: the longest run of silence frames (underruns) between the request and 10 frames
  after the switch, in ms. Goal ≤ 60 ms.
- track gap: silence between the last frame of one track and the first of the next, with and
  without preload(). Goal ≤ 100 ms.

Usage: .venv/bin/python bench/player_latency.py [--changes 15] [--tracks 8]
Prints a Markdown section for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "core")]

from player_sink import FakeSink  # noqa: E402

from audio_fixtures import ffmpeg_exe, stereo, tones, write_wav  # noqa: E402
from zilean.core.events import PlayerEvent, TrackEnded, TrackStarted  # noqa: E402
from zilean.core.media import MediaInput  # noqa: E402
from zilean.core.pipeline import OpusStream, PlaybackSpec  # noqa: E402
from zilean.core.player import FrameStream, Player  # noqa: E402

FRAME_MS = 20
GOAL_LATENCY_MS = 300
GOAL_CHANGE_GAP_MS = 60
GOAL_TRACK_GAP_MS = 100


def spec(path: Path, **kwargs: object) -> PlaybackSpec:
    return PlaybackSpec(MediaInput(str(path), is_local_file=True), **kwargs)  # type: ignore[arg-type]


def real_stream(playback: PlaybackSpec) -> FrameStream:
    return OpusStream(ffmpeg_exe(), playback)


@dataclass
class ChangeResult:
    latency_ms: float
    gap_ms: int
    call_ms: float  # how long the control call held the event loop (starting ffmpeg)


async def wait_until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(20):
        while not condition():  # noqa: ASYNC110 - polled: another thread changes it
            await asyncio.sleep(0.005)


async def measure_changes(
    song: Path, apply: Callable[[Player, int], None], count: int, spacing: float
) -> list[ChangeResult]:
    """Apply `count` changes, `spacing` s apart, to a playing track; measure each switch."""
    player = Player(real_stream, lambda event: None, asyncio.get_running_loop())
    sink = FakeSink(player)
    player.play(spec(song))
    sink.start()
    results = []
    try:
        await wait_until(lambda: bool(sink.audio()))
        await asyncio.sleep(0.5)
        for index in range(count):
            serial, first_index = player.stream_serial, len(sink.frames)
            requested = time.perf_counter()
            apply(player, index)
            call_ms = (time.perf_counter() - requested) * 1000
            await wait_until(lambda s=serial: any(f.serial > s and f.is_audio for f in sink.frames[-50:]))
            await asyncio.sleep(spacing)
            frames = sink.frames[first_index:]
            switched = next(i for i, f in enumerate(frames) if f.serial > serial and f.is_audio)
            window = frames[: switched + 10]
            results.append(
                ChangeResult((frames[switched].at - requested) * 1000, longest_silence(window), call_ms)
            )
    finally:
        sink.stop()
        player.close()
    return results


def stream_start_floor(song: Path, count: int) -> list[float]:
    """The floor under every change: a bare OpusStream's start() → first packet, no player (ms)."""
    times = []
    for index in range(count):
        stream = OpusStream(ffmpeg_exe(), spec(song, start_ms=5_000 + 1_000 * index))
        begun = time.perf_counter()
        stream.start()
        ready = stream.wait_ready(10)
        times.append((time.perf_counter() - begun) * 1000)
        stream.close()
        if not ready:
            raise RuntimeError(f"no packet from ffmpeg: {stream.error}")
    return times


def longest_silence(frames: list) -> int:  # type: ignore[type-arg]
    longest = run = 0
    for frame in frames:
        run = 0 if frame.is_audio else run + 1
        longest = max(longest, run)
    return longest * FRAME_MS


async def measure_track_gaps(songs: list[Path], preload: bool, duration_ms: int) -> list[int]:
    """Play `songs` back to back the way the bot does; the silence (ms) at each boundary."""
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    state = {"index": 0}

    def on_event(event: PlayerEvent) -> None:
        following = state["index"] + 1
        if isinstance(event, TrackStarted) and preload and following < len(songs):
            player.preload(spec(songs[following]), following, duration_ms=duration_ms)
        if isinstance(event, TrackEnded) and event.reason.may_advance:
            state["index"] = following
            if following >= len(songs):
                done.set()
            elif player.tag != following:  # not already taken over by the preload
                player.play(spec(songs[following]), following, duration_ms=duration_ms)

    player = Player(real_stream, on_event, loop)
    sink = FakeSink(player)
    player.play(spec(songs[0]), 0, duration_ms=duration_ms)
    sink.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=60 + len(songs) * duration_ms / 1000)
    finally:
        sink.stop()
        player.close()
    gaps = []
    frames = sink.frames
    last_audio: int | None = None
    for index, frame in enumerate(frames):
        if not frame.is_audio:
            continue
        if last_audio is not None and frame.serial != frames[last_audio].serial:
            gaps.append((index - last_audio - 1) * FRAME_MS)
        last_audio = index
    return gaps


def summary(values: list[float], digits: int = 0) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return " / ".join(f"{value:.{digits}f}" for value in (statistics.median(ordered), p95, ordered[-1]))


def verdict(worst: float, goal: float) -> str:
    return "meets" if worst <= goal else "MISSES"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    banner = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True).stdout
    version = banner.split(" Copyright")[0]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, load average {load}; Python {platform.python_version()}; {version}"
    )


async def main(changes: int, tracks: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        song = write_wav(Path(folder) / "song.wav", stereo(tones([220, 440, 880], 40.0, 0.2)))
        short = [
            write_wav(Path(folder) / f"t{i}.wav", stereo(tones([330 + 40 * i, 990], 2.0, 0.25)))
            for i in range(tracks)
        ]
        cases: list[tuple[str, Callable[[Player, int], None]]] = [
            ("volume 100 % ↔ 150 %", lambda p, i: p.set_volume(150 if i % 2 == 0 else 100)),
            ("effects none ↔ bassboost", lambda p, i: p.set_effects(("bassboost",) if i % 2 == 0 else ())),
            ("effects none ↔ nightcore", lambda p, i: p.set_effects(("nightcore",) if i % 2 == 0 else ())),
            ("seek", lambda p, i: p.seek(20_000 if i % 2 == 0 else 5_000)),
        ]
        floor: list[float] = []
        rows = []
        for name, apply in cases:
            floor += stream_start_floor(song, changes)  # interleaved with the cases: the load drifts
            found = await measure_changes(song, apply, changes, spacing=0.4)
            latency = [r.latency_ms for r in found]
            gap = [float(r.gap_ms) for r in found]
            calls = [r.call_ms for r in found]
            rows.append(
                f"| {name} | {len(found)} | {summary(latency)} ({verdict(max(latency), GOAL_LATENCY_MS)}) "
                f"| {summary(gap)} ({verdict(max(gap), GOAL_CHANGE_GAP_MS)}) | {summary(calls, 1)} |"
            )
        floor_row = (
            f"| floor: bare OpusStream start() → first packet, no player | {len(floor)} | {summary(floor)}"
        )
        rows.insert(0, floor_row + " | – | – |")
        without = await measure_track_gaps(short, preload=False, duration_ms=2000)
        with_preload = await measure_track_gaps(short, preload=True, duration_ms=2000)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = f".venv/bin/python bench/player_latency.py --changes {changes} --tracks {tracks}"
    print("## Player latency (bench/player_latency.py)\n")
    print(f"- Date: {stamp}\n- Machine: {machine()}\n- Command: `{command}`")
    print(
        "- Method: real Player + OpusStream (ffmpeg) on local WAV files; a fake sink calls "
        "`read_frame()` every 20 ms on its own thread (as discord.py's AudioPlayer does); "
        "events reach an asyncio loop via `call_soon_threadsafe`. Values are p50 / p95 / max.\n"
    )
    print(f"| Change mid-track | n | request → first new frame, ms (goal ≤ {GOAL_LATENCY_MS}) "
          f"| longest silence around the switch, ms (goal ≤ {GOAL_CHANGE_GAP_MS}) "
          "| control call blocks the loop, ms |")  # fmt: skip
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n| Between tracks ({tracks} tracks of 2 s) | boundaries | silence, ms p50 / p95 / max "
          f"(goal ≤ {GOAL_TRACK_GAP_MS}) |")  # fmt: skip
    print("|---|---|---|")
    for name, gaps in (("without preload (play() on TrackEnded)", without), ("with preload()", with_preload)):
        values = [float(g) for g in gaps]
        print(f"| {name} | {len(gaps)} | {summary(values)} ({verdict(max(values), GOAL_TRACK_GAP_MS)}) |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=15, help="changes per kind")
    parser.add_argument("--tracks", type=int, default=8, help="tracks played back to back")
    args = parser.parse_args()
    asyncio.run(main(args.changes, args.tracks))
