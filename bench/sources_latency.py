"""Source resolution latency on a local HTTP server: what a `play` and a pre-resolve cost.

Run: .venv/bin/python bench/sources_latency.py [--runs 30]
Measures, side by side in one run: yt-dlp worker cold start; `resolve()` of a direct WAV link
(worker classification + guarded head fetch + ffmpeg header probe); `stream_for()` of that track
(guarded head fetch only); `stream_for()` of a track yt-dlp must re-extract (worker round trip);
and the same extraction done in-process by yt-dlp, for the cost of keeping it out of process.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _signals import write_mp3
from zilean.core.sources import Resolver, SourceOptions, TrackLoaded
from zilean.core.sources.ytdlp import YtDlpRunner
from zilean.core.sources.ytdlp_worker import base_params
from zilean.core.track import Track


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the guard reads only the first bytes and hangs up on purpose


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"| {name} | {len(samples)} | {statistics.median(samples):.1f} | {p95:.1f} | {max(samples):.1f} |"


async def timed(runs: int, action: Callable[[], Awaitable[object]]) -> list[float]:
    await action()  # warm
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def main(runs: int) -> None:
    folder = Path(tempfile.mkdtemp())
    write_mp3(SourceOptions().ffmpeg_executable(), folder / "song.mp3", seconds=5)
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder))
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    url = f"{origin}/song.mp3"
    rows = []

    starts = []
    for _ in range(5):
        runner = YtDlpRunner([("127.0.0.1", httpd.server_address[1])])
        begin = time.perf_counter()
        await runner.start()
        starts.append((time.perf_counter() - begin) * 1000)
        await runner.close()
    rows.append(summary("yt-dlp worker cold start (spawn → ready)", starts))

    resolver = Resolver(SourceOptions(trusted_origins=(origin,)))
    loaded = await resolver.resolve(url)
    assert isinstance(loaded, TrackLoaded), loaded
    rows.append(
        summary("resolve(direct MP3 link), warm worker", await timed(runs, lambda: resolver.resolve(url)))
    )
    rows.append(
        summary("stream_for(direct track)", await timed(runs, lambda: resolver.stream_for(loaded.track)))
    )
    generic = Track(title="song", url=url, source="generic")
    rows.append(
        summary(
            "stream_for(yt-dlp track), worker round trip",
            await timed(runs, lambda: resolver.stream_for(generic)),
        )
    )
    await resolver.close()

    import yt_dlp

    def in_process() -> None:
        with yt_dlp.YoutubeDL(base_params()) as ydl:
            ydl.extract_info(url, download=False)

    async def in_process_async() -> None:
        in_process()

    rows.append(summary("same extraction in-process (blocks the loop)", await timed(runs, in_process_async)))
    httpd.shutdown()

    print(
        f"machine: {platform.machine()} {platform.processor() or ''} {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    print("| step | runs | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    asyncio.run(main(parser.parse_args().runs))
