"""Time from OpusStream.start() to the first Opus packet, for a file served by a local HTTP server.

Run: .venv/bin/python bench/first_frame.py [--runs 40]
"Warm" = this Python process has imported everything and ffmpeg's binary and the file are in
the page cache (one untimed run first). Each run starts a new ffmpeg, waits for the first
audio packet, then closes the stream.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _signals import write_mp3
from zilean.core.media import MediaInput
from zilean.core.pipeline import OpusStream, PlaybackSpec

GOAL_P50_MS = 100.0


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # close() kills ffmpeg mid-download on purpose; the reset connection is expected


def first_packet_ms(ffmpeg: str, spec: PlaybackSpec) -> float:
    stream = OpusStream(ffmpeg, spec)
    started = time.perf_counter()
    stream.start()
    try:
        if not stream.wait_ready(10):
            raise RuntimeError(f"no audio: {stream.error}")
        return (time.perf_counter() - started) * 1000
    finally:
        stream.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory() as tmp:
        source = write_mp3(ffmpeg, Path(tmp) / "music.mp3", 60)
        handler = functools.partial(_Quiet, directory=tmp)
        server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/music.mp3"
        cases = {
            "local HTTP, no effect": PlaybackSpec(MediaInput(url)),
            "local HTTP, start at 30 s": PlaybackSpec(MediaInput(url), start_ms=30_000),
            "local HTTP, nightcore+bassboost": PlaybackSpec(MediaInput(url), ("nightcore", "bassboost")),
            "local HTTP, normalize": PlaybackSpec(MediaInput(url), ("normalize",)),
            "local file, no effect": PlaybackSpec(MediaInput(str(source), is_local_file=True)),
        }
        for spec in cases.values():
            first_packet_ms(ffmpeg, spec)  # warm-up, untimed
        results: dict[str, list[float]] = {label: [] for label in cases}
        for _ in range(args.runs):
            for label, spec in cases.items():
                results[label].append(first_packet_ms(ffmpeg, spec))
        server.shutdown()
        server.server_close()

    print(f"machine: {platform.node()} {platform.machine()}; python {platform.python_version()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"command: python bench/first_frame.py --runs {args.runs}")
    print("source: 60 s 44.1 kHz stereo MP3 192 kb/s served by http.server on 127.0.0.1\n")
    print(f"| case | p50 ms | p90 ms | max ms | goal p50 ≤ {GOAL_P50_MS:.0f} ms |")
    print("|---|---|---|---|---|")
    for label, values in results.items():
        p50 = statistics.median(values)
        verdict = "ok" if p50 <= GOAL_P50_MS else "over"
        print(f"| {label} | {p50:.1f} | {percentile(values, 0.9):.1f} | {max(values):.1f} | {verdict} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
