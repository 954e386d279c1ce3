"""Concurrent streams of the real bot vs discord.py's stock path, measured at the sandbox's receiver.

Run: .venv/bin/python bench/bot_streams.py [--streams 30 60 100] [--seconds 15] [--ramp 1.5] [--burn 30]
     [--first-packet 10] [--kinds zilean zilean-normal stock]

The sandbox (in this process, Opus decoding off: only packet timing is needed) gets a world with N
guilds, each with a member in its voice channel. A bot process is started exactly as in production
(`python -m zilean bot`, told only the sandbox's URLs), every guild gets `=play local:music.flac`
(default volume, `bassboost` on), `--ramp` guilds per second (a real bot's play commands are
spread over time; discord.py's client-side gateway limiter allows 110 sends per 60 s per shard and
every voice join is one op-4 send, so a 100-guild burst would stall for up to 60 s on it), and once
every guild plays at once the sandbox's per-guild counters are read over the measuring window:
frame deficit (packets missing against 50/s while speaking) and the
inter-packet gap p99. The baseline is a minimal discord.py bot in its own process that plays the
same file with the stock `FFmpegPCMAudio` + `PCMVolumeTransformer(0.25)` (Opus encoded in Python).
`zilean` is the bot as it runs here (root: its audio sender gets real-time priority); `zilean-normal`
is the same bot with AUDIO_REALTIME_PRIORITY=0, as it runs where real-time scheduling is not allowed.
`--burn N…` repeats those sizes with a pure-Python CPU loop in a thread of the bot process (it holds the
GIL except at the interpreter's switch interval). RSS of the bot process (and its ffmpeg children)
is read when connected with N idle guilds and again with N guilds playing.
`--first-packet` times, for one guild, the message POST → first voice packet at the receiver for a
file served by a local HTTP server (warm bot).
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
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
from aiohttp import web

from zilean.sandbox.server import Sandbox, SandboxConfig
from zilean.sandbox.world import build_world

STOCK_BOT = """
import glob, os, discord
from discord.ext import commands
import av  # its wheel ships libopus; discord.py's stock path needs it for Python-side encoding
discord.opus.load_opus(glob.glob(os.path.join(os.path.dirname(av.__file__), "..", "av.libs", "libopus*"))[0])
intents = discord.Intents.default(); intents.message_content = True
import yarl
discord.http.Route.BASE = os.environ["DISCORD_API_BASE"]
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["DISCORD_GATEWAY_URL"])
bot = commands.Bot(command_prefix="=", intents=intents)
@bot.command()
async def play(ctx, *, query: str):
    path = os.path.join(os.environ["LIBRARY_DIR"], query.removeprefix("local:"))
    voice = ctx.guild.voice_client or await ctx.author.voice.channel.connect()
    source = discord.PCMVolumeTransformer(
        discord.FFmpegPCMAudio(
            path, executable=os.environ["FFMPEG_PATH"], options="-af bass=g=10:f=100:w=0.6"),
        volume=0.25)
    voice.play(source)
bot.run(os.environ["DISCORD_TOKEN"])
"""

# Runs the bot's own entry point with a GIL-holding pure-Python loop in another thread.
BURNING = """
import runpy, sys, threading
def burn():
    n = 0
    while True:
        n = (n * 31 + 7) % 1000003
threading.Thread(target=burn, name="burn", daemon=True).start()
args = sys.argv[1:]  # the bot's own argv after the interpreter: -c CODE, or -m zilean bot
if args[0] == "-c":
    sys.argv = ["-c"]
    exec(compile(args[1], "<bot>", "exec"), {"__name__": "__main__"})
else:
    sys.argv = args[1:]
    runpy.run_module("zilean", run_name="__main__", alter_sys=True)
"""


# The bot's yt-dlp pool has 3 workers, taken in turn; each one's first link costs ~0.5 s (yt-dlp
# builds its extractor table lazily), so "warm" means every worker has seen a link.
WARMUP_RUNS = 3


def world_spec(guilds: int) -> dict[str, Any]:
    """N guilds, each with a text channel, a voice channel and its own listener."""
    return {
        "bot": {"username": "Zilean"},
        "guilds": [
            {
                "name": f"Guild {i}",
                "owner": f"listener{i}",
                "channels": [{"name": "general", "type": "text"}, {"name": "Music", "type": "voice"}],
                "members": [{"username": f"listener{i}"}],
            }
            for i in range(guilds)
        ],
    }


def make_music(directory: Path, seconds: int) -> Path:
    """A music-like signal (pink noise + a tone), FLAC, long enough to outlast ramp + window."""
    path = directory / "music.flac"
    d = seconds
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-filter_complex",
         f"anoisesrc=color=pink:amplitude=0.2:d={d}[n];sine=f=440:d={d}[s];[n][s]amix=inputs=2",
         "-ar", "48000", "-ac", "2", "-metadata", "title=Music", str(path)],
        check=True,
    )  # fmt: skip
    return path


def start_bot(
    kind: str, sandbox: Sandbox, library: Path, data: Path, *, burn: bool = False, trusted: str = ""
) -> subprocess.Popen[bytes]:
    """Our bot (`python -m zilean bot`) or the stock baseline, as a child process (fresh database)."""
    env = {**os.environ, **sandbox.bot_env()}
    database = Path(tempfile.mkdtemp(dir=data)) / f"{kind}.db"  # no players to restore from an earlier run
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        LIBRARY_DIR=str(library),
        SEARCH_PROVIDER="local",
        LOG_DIR=str(data / "logs"),
        LOG_LEVEL=os.environ.get("BENCH_BOT_LOG_LEVEL", "WARNING"),
        FFMPEG_PATH=imageio_ffmpeg.get_ffmpeg_exe(),
        TRUSTED_MEDIA_ORIGINS=trusted,
        AUDIO_REALTIME_PRIORITY="0" if kind == "zilean-normal" else "10",
    )
    argv = {
        "zilean": [sys.executable, "-m", "zilean", "bot"],
        "zilean-normal": [sys.executable, "-m", "zilean", "bot"],
        "stock": [sys.executable, "-c", STOCK_BOT],
    }[kind]
    if burn:
        argv = [sys.executable, "-c", BURNING, *argv[1:]]
    log = (database.parent / f"{kind}.stderr").open("wb")
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log)


async def wait_identified(http: httpx.AsyncClient, before: int) -> None:
    for _ in range(600):
        gateway = (await http.get("/_sandbox/state")).json()["gateway"]
        if gateway["identifies"] > before and gateway["connected"]:
            await asyncio.sleep(3.0)  # GUILD_CREATEs, command sync
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the bot did not connect")


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory of the process and of its direct children (ffmpeg), MB."""

    def one(p: int) -> float:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return one(pid), sum(one(c) for c in children)


async def stop(process: subprocess.Popen[bytes]) -> float:
    """SIGTERM, then SIGKILL after 30 s; how long the clean stop took (inf if it had to be killed)."""
    started = time.perf_counter()
    process.terminate()
    try:
        await asyncio.to_thread(process.wait, 30)
    except subprocess.TimeoutExpired:
        process.kill()
        await asyncio.to_thread(process.wait)
        return float("inf")
    return time.perf_counter() - started


async def run_streams(
    kind: str, guilds: int, seconds: float, tmp: Path, library: Path, ramp: float, burn: bool
) -> dict[str, float]:
    """Start a bot of `kind` in a fresh sandbox with `guilds` guilds; play everywhere; measure."""
    async with Sandbox(build_world(world_spec(guilds)), SandboxConfig()) as sandbox:
        assert sandbox.voice is not None
        sandbox.voice.decode_default = False
        world = sandbox.world
        async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as http:
            process = start_bot(kind, sandbox, library, tmp, burn=burn)
            try:
                await wait_identified(http, 0)
                idle_rss, _ = rss_mb(process.pid)
                targets = []
                for guild in world.guilds.values():
                    music = next(c for c in guild.channels.values() if c.name == "Music")
                    text = next(c for c in guild.channels.values() if c.name == "general")
                    listener = next(uid for uid in guild.members if uid != world.bot_user_id)
                    sandbox.voice_states.move(guild.id, listener, music.id)
                    targets.append((guild.id, text.id, listener))
                started = time.perf_counter()
                for i, (_, text, user) in enumerate(targets):
                    await asyncio.sleep(max(0.0, started + i / ramp - time.perf_counter()))
                    await post(http, text, user, "=play local:music.flac")
                    if kind.startswith("zilean"):
                        await post(http, text, user, "=effect add bassboost")
                await all_playing(sandbox, [g for g, _, _ in targets], within_s=30)
                startup_s = time.perf_counter() - started
                await asyncio.sleep(2.0)  # past the effect restarts
                for guild_id, _, _ in targets:
                    sandbox.voice.reset_stats(guild_id)
                cpu_before = cpu_seconds(process.pid)
                await asyncio.sleep(seconds)
                stats = [sandbox.voice.stats(g) for g, _, _ in targets]
                bot_cpu = (cpu_seconds(process.pid) - cpu_before) / seconds
                playing_rss, ffmpeg_rss = rss_mb(process.pid)
            finally:
                stop_s = await stop(process)
    playing = [s for s in stats if s["packets"] > 0]
    expected = sum(s["speaking_seconds"] * 50 for s in playing) or 1
    # Missing frames per guild: those due between its first and last packet of the window that never
    # came. The wall-clock count (`frame_deficit`) is off by ±1 frame per guild depending on where in
    # the 20 ms cycle the window starts and ends (0.07 % at 30 guilds, all in step); it still counts
    # when it shows more, so a stream that stopped altogether is not missed.
    deficit = sum(max(s["frames_missing"], s["frame_deficit"] - 1, 0) for s in playing)
    gaps = [s["gap_p99_ms"] for s in playing if s["gap_p99_ms"] is not None]
    return {
        "startup_s": startup_s,
        "playing": len(playing),
        "deficit_pct": 100 * deficit / expected,
        "gap_p99_median": statistics.median(gaps) if gaps else float("nan"),
        "gap_p99_worst": max(gaps) if gaps else float("nan"),
        "idle_rss": idle_rss,
        "playing_rss": playing_rss,
        "ffmpeg_rss": ffmpeg_rss,
        "bot_cpu": bot_cpu,
        "stop_s": stop_s,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def all_playing(sandbox: Sandbox, guild_ids: list[int], within_s: float) -> None:
    """Until every guild's receiver got audio (or `within_s` passed: then some never started)."""
    assert sandbox.voice is not None
    deadline = time.perf_counter() + within_s
    while time.perf_counter() < deadline:
        if all(audio_packets(sandbox, g) > 0 for g in guild_ids):
            return
        await asyncio.sleep(0.2)


async def post(http: httpx.AsyncClient, channel: int, user: int, content: str) -> None:
    body = {"channel_id": str(channel), "user_id": str(user), "content": content}
    (await http.post("/_sandbox/messages", json=body)).raise_for_status()


async def serve_library(library: Path) -> tuple[web.AppRunner, str]:
    """A local HTTP server for the library (the bot is told to trust its origin)."""
    app = web.Application()
    app.router.add_static("/", library)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def first_packet(runs: int, tmp: Path, library: Path) -> list[float]:
    """Message POST → first packet at the receiver, one guild, warm bot, file over local HTTP (ms)."""
    server, origin = await serve_library(library)
    try:
        return await _first_packet(runs, tmp, library, origin)
    finally:
        await server.cleanup()


async def _first_packet(runs: int, tmp: Path, library: Path, origin: str) -> list[float]:
    async with Sandbox(build_world(world_spec(1)), SandboxConfig()) as sandbox:
        assert sandbox.voice is not None
        world = sandbox.world
        guild = next(iter(world.guilds.values()))
        music = next(c for c in guild.channels.values() if c.name == "Music")
        text = next(c for c in guild.channels.values() if c.name == "general")
        user = next(uid for uid in guild.members if uid != world.bot_user_id)
        sandbox.voice_states.move(guild.id, user, music.id)
        async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as http:
            process = start_bot("zilean", sandbox, library, tmp, trusted=origin)
            try:
                await wait_identified(http, 0)
                await post(http, text.id, user, "=join")
                await asyncio.sleep(2.0)
                times = []
                for _ in range(runs + WARMUP_RUNS):
                    before = audio_packets(sandbox, guild.id)
                    start = time.perf_counter()
                    await post(http, text.id, user, f"=play {origin}/music.flac")
                    while audio_packets(sandbox, guild.id) <= before:  # noqa: ASYNC110 - polling the receiver
                        await asyncio.sleep(0.001)  # silence frames while loading do not count
                    times.append((time.perf_counter() - start) * 1000)
                    await post(http, text.id, user, "=stop")
                    await quiet(sandbox, guild.id)
                log_cold = ", ".join(f"{t:.0f}" for t in times[:WARMUP_RUNS])
                print(f"first packet, warm-up runs (one per yt-dlp worker): {log_cold} ms")
                return times[WARMUP_RUNS:]
            finally:
                await stop(process)


def audio_packets(sandbox: Sandbox, guild_id: int) -> int:
    """Packets received that were not Opus silence frames."""
    assert sandbox.voice is not None
    stats = sandbox.voice.stats(guild_id)
    return int(stats["packets"] - stats["silence_frames"])


async def quiet(sandbox: Sandbox, guild_id: int) -> None:
    """Until no packet has arrived for 0.5 s."""
    assert sandbox.voice is not None
    last, still = -1, 0
    while still < 5:
        await asyncio.sleep(0.1)
        now = sandbox.voice.stats(guild_id)["packets"]
        still = still + 1 if now == last else 0
        last = now


def row(n: int, burn: bool, kind: str, r: dict[str, float]) -> str:
    """One Markdown table row."""
    return (
        f"| {n} | {'yes' if burn else 'no'} | {kind} | {r['startup_s']:.1f} s | {r['playing']} | "
        f"{r['deficit_pct']:.3f} % | {r['gap_p99_median']:.1f} ms | {r['gap_p99_worst']:.1f} ms | "
        f"{100 * r['bot_cpu']:.0f} % | {r['idle_rss']:.0f} / {r['playing_rss']:.0f} MB | "
        f"{r['ffmpeg_rss']:.0f} MB | {r['stop_s']:.1f} s |"
    )


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="*", default=[30, 60, 100])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--ramp", type=float, default=1.5, help="play commands per second")
    parser.add_argument(
        "--burn", type=int, nargs="*", default=[], help="stream counts to repeat with a CPU loop in the bot"
    )
    parser.add_argument("--first-packet", type=int, default=10)
    parser.add_argument("--kinds", nargs="+", default=["zilean", "zilean-normal", "stock"])
    args = parser.parse_args()
    python = platform.python_version()
    machine = f"{platform.machine()} {os.cpu_count()} CPUs ({cpu_model()}), Python {python}"
    print(f"# {machine}, load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(os.environ.get("BENCH_TMP") or raw)
        library = tmp / "library"
        library.mkdir(exist_ok=True)
        longest = max(args.streams + args.burn) / args.ramp + args.seconds + 60
        make_music(library, int(longest))
        if args.first_packet:
            times = await first_packet(args.first_packet, tmp, library)
            p50, worst = statistics.median(times), max(times)
            print(f"first packet: p50 {p50:.0f} ms, max {worst:.0f} ms ({len(times)} runs)")
        print(
            "| streams | CPU loop | path | all started after | playing | deficit | gap p99 median | "
            "gap p99 worst | bot CPU | RSS idle / playing | ffmpeg RSS | SIGTERM → exit |"
        )
        print("|---:|:---|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for burn, sizes in ((False, args.streams), (True, args.burn)):
            for n in sizes:
                for kind in args.kinds:
                    r = await run_streams(kind, n, args.seconds, tmp, library, args.ramp, burn)
                    print(row(n, burn, kind, r), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
