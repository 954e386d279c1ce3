"""The cost of ffmpeg's network input through the egress proxy, against ffmpeg fetching the URL itself.

Run: .venv/bin/python bench/egress_input.py [--runs 3] [--streams 8] [--seconds 60]

Each run plays `--streams` copies of a music-like MP3 at once from a local HTTP server, once the old
way (ffmpeg opens http://127.0.0.1/... itself, with the options main used before the proxy) and once
the new way (OpusStream through the EgressProxy, as the bot does), in alternating order. Every stream
is drained as fast as ffmpeg encodes (a worst case for the proxy: it moves the bytes at full speed).
Reported per path: the time from start() to the first Opus packet (median and max over streams),
this process's CPU (the proxy, on its own event loop thread, and the packet reading) and ffmpeg's
CPU, both per minute of audio. A run whose streams fail or play short is refused, not reported.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _signals import write_mp3
from effects_cpu import _cores, _cpu_model
from zilean.core.media import MediaInput
from zilean.core.pipeline import FRAME_MS, OpusStream, PlaybackSpec, input_args
from zilean.core.sources.egress import EgressProxy
from zilean.core.sources.netguard import NetGuard
from zilean.core.sources.options import SourceOptions

# What main passed ffmpeg for a network input before the egress proxy (commit d3a3e7b).
LEGACY_INPUT = [
    "-protocol_whitelist", "http,https,tcp,tls,crypto",
    "-reconnect", "1", "-reconnect_streamed", "1", "-reconnect_on_network_error", "1",
    "-reconnect_delay_max", "5", "-rw_timeout", "15000000", "-max_redirects", "0",
]  # fmt: skip


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _legacy_stream(ffmpeg: str, proxied: PlaybackSpec, url: str) -> OpusStream:
    """An OpusStream whose ffmpeg opens `url` itself, as before the proxy (bench only)."""
    stream = OpusStream(ffmpeg, proxied)
    ours = input_args(proxied.media)
    start = stream._argv.index(ours[0])
    stream._argv[start : start + len(ours)] = [*LEGACY_INPUT, "-i", url]
    stream.spec = replace(proxied, media=MediaInput("/unused", is_local_file=True))  # no proxy env
    return stream


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def play_all(streams: list[OpusStream], seconds: float) -> tuple[list[float], float, float]:
    """Start and drain every stream; (first-packet latencies s, own CPU s, ffmpeg CPU s)."""
    own, children = _cpu_self(), _cpu_children()
    started = {id(stream): time.monotonic() for stream in streams}
    for stream in streams:
        stream.start()
        started[id(stream)] = time.monotonic()
    first: dict[int, float] = {}
    counts = dict.fromkeys(started, 0)
    live = list(streams)
    deadline = time.monotonic() + 600
    while live and time.monotonic() < deadline:
        idle = True
        for stream in list(live):
            packet = stream.read()
            if packet is None:
                live.remove(stream)
            elif packet:
                idle = False
                counts[id(stream)] += 1
                first.setdefault(id(stream), time.monotonic() - started[id(stream)])
        if idle:
            time.sleep(0.002)
    for stream in streams:
        stream.close()
    expected = seconds * 1000 / FRAME_MS
    for stream in streams:
        if stream.error or counts[id(stream)] < expected * 0.98:
            played = counts[id(stream)]
            raise SystemExit(f"refused: a stream failed or played short ({stream.error}, {played} packets)")
    return list(first.values()), _cpu_self() - own, _cpu_children() - children


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    ffmpeg = SourceOptions().ffmpeg_executable()
    folder = Path(tempfile.mkdtemp(prefix="egress-bench-"))
    write_mp3(ffmpeg, folder / "song.mp3", args.seconds)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    url = f"{base}/song.mp3"

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="egress-loop", daemon=True).start()
    guard = NetGuard([base])
    client = guard.client()
    proxy = EgressProxy(guard, client)

    def proxied() -> PlaybackSpec:
        media = asyncio.run_coroutine_threadsafe(proxy.media_input(url), loop).result()
        return PlaybackSpec(media)

    print(f"# {_cpu_model()}, {_cores()} cores, load average {os.getloadavg()[0]:.1f} at start")
    print(f"# {args.streams} streams × {args.seconds:.0f} s MP3, {args.runs} runs")
    print("| run | path | first packet p50 ms | max ms | bot CPU ms/audio-min | ffmpeg CPU ms/audio-min |")
    print("|---|---|---|---|---|---|")
    minutes = args.streams * args.seconds / 60
    for run in range(1, args.runs + 1):
        order = ["direct", "proxy"] if run % 2 else ["proxy", "direct"]
        for path in order:
            specs = [proxied() for _ in range(args.streams)]
            if path == "direct":
                streams = [_legacy_stream(ffmpeg, spec, url) for spec in specs]
            else:
                streams = [OpusStream(ffmpeg, spec) for spec in specs]
            firsts, own, children = play_all(streams, args.seconds)
            print(
                f"| {run} | {path} | {statistics.median(firsts) * 1000:.1f} | {max(firsts) * 1000:.1f} | "
                f"{own * 1000 / minutes:.1f} | {children * 1000 / minutes:.1f} |",
                flush=True,
            )
    print(f"# load average {os.getloadavg()[0]:.1f} at the end")
    asyncio.run_coroutine_threadsafe(proxy.close(), loop).result()
    asyncio.run_coroutine_threadsafe(client.aclose(), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
