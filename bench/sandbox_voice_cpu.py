"""The sandbox voice server's own CPU per received stream (decrypt + timing stats, ± Opus decoding).

Run: .venv/bin/python bench/sandbox_voice_cpu.py [--streams 1 10 50 100] [--seconds 10] [--rounds 2]

For each stream count N, the benchmark starts a VoiceServer, opens N voice sessions over the real
TLS websocket (IDENTIFY, SELECT_PROTOCOL, SPEAKING), and a helper process then sends N encrypted
RTP streams at 50 packets/s from N UDP sockets, with real 128 kb/s Opus packets that ffmpeg
encoded from a noisy, music-like signal. The server's process CPU (user + sys, its decode thread
included; the sender is another process) is measured over the middle of the run and divided by
wall time and N. Each N runs with decoding off (timing stats only), on (in per-guild slices on the
event loop, the default) and on in a worker thread, interleaved per round; the table shows the median
over rounds. The sandbox's own view of the streams (frame
deficit, gap p99) says whether it kept up.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import imageio_ffmpeg

from zilean.sandbox.voice import VoiceServer, rtp

WARMUP = 1.5  # seconds of sending before CPU is measured, so start-up costs stay out
SIGNAL = "anoisesrc=color=pink:amplitude=0.2:d=4,volume=1[n];sine=f=440:d=4[s];[n][s]amix=inputs=2"


def opus_packets(ffmpeg: str, directory: Path) -> list[bytes]:
    """4 s of a music-like signal as 128 kb/s stereo Opus packets, as FFmpegOpusAudio would send."""
    path = directory / "bench.ogg"
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-filter_complex", SIGNAL,
         "-ar", "48000", "-ac", "2", "-c:a", "libopus", "-b:a", "128k", str(path)],
        check=True,
    )  # fmt: skip
    from discord.oggparse import OggStream  # imported late: discord pulls in audioop

    with path.open("rb") as file:
        return [p for p in OggStream(file).iter_packets() if not p.startswith((b"OpusHead", b"OpusTags"))]


async def open_sessions(server: VoiceServer, n: int) -> tuple[aiohttp.ClientSession, list[Any], list[Any]]:
    """Run the voice websocket handshake N times; return the websockets and (ssrc, key) pairs."""
    context = ssl.create_default_context(cafile=str(server.cert_path))
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=0))
    sockets, streams = [], []
    for guild in range(1, n + 1):
        server.expect_session(guild_id=guild, user_id=7, session_id=f"s{guild}", token=f"t{guild}")
        ws = await http.ws_connect(f"wss://{server.endpoint}/?v=8", compress=15)
        await ws.receive_json()  # HELLO
        identify = {"server_id": str(guild), "user_id": "7", "session_id": f"s{guild}", "token": f"t{guild}"}
        await ws.send_json({"op": 0, "d": identify})
        ready = (await ws.receive_json())["d"]
        data = {"address": "127.0.0.1", "port": 1, "mode": rtp.MODE_XCHACHA}
        await ws.send_json({"op": 1, "d": {"protocol": "udp", "data": data}})
        key = (await ws.receive_json())["d"]["secret_key"]
        await ws.send_json({"op": 5, "d": {"speaking": 1, "delay": 0, "ssrc": ready["ssrc"]}})
        sockets.append(ws)
        streams.append([ready["ssrc"], key])
    return http, sockets, streams


MODES = {"off": (False, False), "on (loop)": (True, False), "on (thread)": (True, True)}


async def measure(n: int, seconds: float, mode: str, packets: list[bytes]) -> dict[str, float]:
    """One run: N streams for `seconds`; the server's CPU % of one core per stream and its stats."""
    decode, in_thread = MODES[mode]
    server = VoiceServer(decode=decode, decode_in_thread=in_thread)
    await server.start()
    http, sockets, streams = await open_sessions(server, n)
    job = {"port": server.udp_port, "seconds": seconds, "streams": streams,
           "packets": [base64.b64encode(p).decode() for p in packets]}  # fmt: skip
    sender = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--sender", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert sender.stdin is not None and sender.stdout is not None
    sender.stdin.write(json.dumps(job).encode())
    sender.stdin.close()
    await sender.stdout.readline()  # "sending": the helper has started its clock
    await asyncio.sleep(WARMUP)
    for guild in range(1, n + 1):
        server.reset_stats(guild)
    cpu0, wall0, drops0 = time.process_time(), time.perf_counter(), kernel_udp_drops()
    lags = await loop_lag(seconds - WARMUP - 0.5)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    drops = kernel_udp_drops() - drops0
    stats = [server.stats(guild) for guild in range(1, n + 1)]
    sender_report = json.loads((await sender.stdout.readline()) or b"{}")
    await sender.wait()
    for ws in sockets:
        await ws.close()
    await http.close()
    await server.stop()
    return {
        "cpu_per_stream": 100 * cpu / wall / n,
        "cpu_total": 100 * cpu / wall,
        "deficit_pct": 100
        * sum(s["frame_deficit"] for s in stats)
        / max(1, sum(s["packets"] for s in stats)),
        "gap_p99": max(s["gap_p99_ms"] or 0 for s in stats),
        "decode_errors": sum(s["decode_errors"] for s in stats),
        "kernel_drops": drops,
        "loop_lag_p99": statistics.quantiles(lags, n=100)[98] if len(lags) > 1 else 0.0,
        "sender_late_pct": sender_report.get("late_pct", float("nan")),
    }


async def loop_lag(seconds: float) -> list[float]:
    """Sleep in 10 ms steps for `seconds`; return each step's overshoot in ms (how late the loop ran)."""
    lags = []
    end = time.perf_counter() + seconds
    while (start := time.perf_counter()) < end:
        await asyncio.sleep(0.01)
        lags.append((time.perf_counter() - start - 0.01) * 1000)
    return lags


def kernel_udp_drops() -> int:
    """Datagrams the kernel dropped for a full receive buffer (system-wide RcvbufErrors; Linux only)."""
    try:
        lines = [
            line.split()
            for line in Path("/proc/net/snmp").read_text().splitlines()
            if line.startswith("Udp:")
        ]
    except OSError:
        return 0
    return int(lines[1][lines[0].index("RcvbufErrors")])


def run_sender() -> None:
    """Helper process: send every stream's next packet each 20 ms tick, like N discord.py players."""
    import socket

    job = json.load(sys.stdin)
    payloads = [base64.b64decode(p) for p in job["packets"]]
    streams = [(ssrc, bytes(key)) for ssrc, key in job["streams"]]
    ticks = int(job["seconds"] / 0.02)
    socks = []
    for _ in streams:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect(("127.0.0.1", job["port"]))
        socks.append(sock)
    print("sending", flush=True)
    late = 0
    start = time.perf_counter()
    for tick in range(ticks):
        payload = payloads[tick % len(payloads)]
        for (ssrc, key), sock in zip(streams, socks, strict=True):
            sock.send(rtp.encrypt_xchacha(payload, key, sequence=tick + 1, timestamp=960 * tick,
                                          ssrc=ssrc, counter=tick))  # fmt: skip
        delay = start + (tick + 1) * 0.02 - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        elif delay < -0.02:
            late += 1  # this tick's packets left more than a frame late: the sender, not the sandbox
    for sock in socks:
        sock.close()
    print(json.dumps({"late_pct": 100 * late / max(1, ticks)}), flush=True)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        packets = opus_packets(imageio_ffmpeg.get_ffmpeg_exe(), Path(tmp))
    results: dict[tuple[int, str], list[dict[str, float]]] = {}
    for _round in range(args.rounds):
        for n in args.streams:
            for mode in MODES:
                results.setdefault((n, mode), []).append(await measure(n, args.seconds, mode, packets))
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    print(f"# sandbox voice server CPU per received stream — {now}")
    print(f"# {machine}, Python {platform.python_version()}")
    print(f"# {args.seconds:.0f} s per run, {args.rounds} rounds, median shown; % = percent of one core")
    columns = ["streams", "decoding", "CPU per stream", "server CPU total", "frame deficit", "worst gap p99"]
    print("| " + " | ".join([*columns, "kernel drops", "loop lag p99", "sender late ticks"]) + " |")
    print("|---:|:---|---:|---:|---:|---:|---:|---:|---:|")
    for (n, mode), runs in sorted(results.items(), key=lambda kv: (kv[0][0], list(MODES).index(kv[0][1]))):
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        row = [
            str(n),
            mode,
            f"{med['cpu_per_stream']:.2f} %",
            f"{med['cpu_total']:.1f} %",
        ]
        row += [f"{med['deficit_pct']:.2f} %", f"{med['gap_p99']:.1f} ms", f"{med['kernel_drops']:.0f}"]
        row += [f"{med['loop_lag_p99']:.1f} ms", f"{med['sender_late_pct']:.1f} %"]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    if "--sender" in sys.argv:
        run_sender()
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 10, 50, 100])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(main(parser.parse_args()))
