"""Concurrent streams of the real bot vs discord.py's stock path, measured at the sandbox's receiver.

Run: .venv/bin/python bench/bot_streams.py [--streams 30 60 100] [--seconds 15] [--ramp 1.5] [--burn 30]
     [--first-packet 10] [--kinds zilean zilean-normal stock] [--runs 3]

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
is the same bot with AUDIO_REALTIME_PRIORITY=0, as it runs where real-time scheduling is not allowed;
`zilean-2shards` is the bot as two processes of one shard each on this machine (bot CPU and RSS: both).
`--burn N…` repeats those sizes with a pure-Python CPU loop in a thread of the bot process (it holds the
GIL except at the interpreter's switch interval). RSS of the bot process (and its ffmpeg children)
is read when connected with N idle guilds and again with N guilds playing.
`--first-packet` times, for one guild, the message POST → first voice packet at the receiver for a
file served by a local HTTP server (warm bot).

A row is only reported when every guild played audio through the whole window (issue #12: rows used
to count only the guilds that still played, and a song shorter than a slow start-up had already
ended in the others); otherwise the row says REFUSED with what the bot last told a silent guild, and
the benchmark exits with status 1 at the end. The song is long enough for three times the planned
ramp. Missing frames include Opus silence sent in place of audio (an underrun: the music never is
digitally silent). After each row every process the benchmark started is killed, ffmpeg included
(the benchmark is their subreaper, so orphans are found too).
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

sys.path.insert(0, str(Path(__file__).parent))
from _procs import become_subreaper, cpu_seconds, descendants, kill_tree, reap_leftovers, rss_mb
from _stream_table import HEADER, cpu_model, row, spread, yes_no

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


# `zilean-2shards`: the same bot as two processes on this machine, one shard each (`zilean bot
# --shard-ids N --shard-count 2`, one database), each with its own GIL and real-time sender.
SHARDED = "zilean-2shards"


def start_bots(
    kind: str, sandbox: Sandbox, library: Path, data: Path, *, burn: bool = False, trusted: str = ""
) -> list[subprocess.Popen[bytes]]:
    """Our bot (`python -m zilean bot`, or two shard processes) or the stock baseline (fresh database)."""
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
    ours = [sys.executable, "-m", "zilean", "bot"]
    argvs = {
        "zilean": [ours],
        "zilean-normal": [ours],
        SHARDED: [[*ours, "--shard-ids", str(i), "--shard-count", "2"] for i in range(2)],
        "stock": [[sys.executable, "-c", STOCK_BOT]],
    }[kind]
    processes = []
    for i, argv in enumerate(argvs):
        if burn:
            argv = [sys.executable, "-c", BURNING, *argv[1:]]
        log = (database.parent / f"{kind}-{i}.stderr").open("wb")
        own = {**env, "LOG_DIR": str(data / "logs" / str(i))} if len(argvs) > 1 else env
        processes.append(subprocess.Popen(argv, env=own, stdout=subprocess.DEVNULL, stderr=log))
    return processes


async def wait_identified(http: httpx.AsyncClient, before: int, sessions: int = 1) -> None:
    for _ in range(600):
        gateway = (await http.get("/_sandbox/state")).json()["gateway"]
        if gateway["identifies"] >= before + sessions and gateway["connected"]:
            await asyncio.sleep(3.0)  # GUILD_CREATEs, command sync
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the bot did not connect")


async def stop(process: subprocess.Popen[bytes]) -> float:
    """SIGTERM, then SIGKILL (with its ffmpeg) after 30 s; how long the clean stop took (inf if killed)."""
    started = time.perf_counter()
    process.terminate()
    try:
        await asyncio.to_thread(process.wait, 30)
    except subprocess.TimeoutExpired:
        kill_tree(process.pid)
        await asyncio.to_thread(process.wait)
        return float("inf")
    return time.perf_counter() - started


class Refused(Exception):
    """The row's setup failed (not every guild played): it must not be reported as a result."""


def last_reply(sandbox: Sandbox, channel_id: int) -> str:
    """What the bot last said in a text channel (content or embed text), for a refused row."""
    world = sandbox.world
    for message in reversed(world.channel_messages(channel_id)):
        if message.author_id == world.bot_user_id:
            embed = message.embeds[0] if message.embeds else {}
            return (message.content or embed.get("description") or embed.get("title") or "")[:100]
    return "(nothing)"


def refuse_unless_all_play(sandbox: Sandbox, targets: list[tuple[int, int, int]], what: str) -> None:
    """Raise Refused unless every guild's receiver got audio (not only silence) since its counters' reset."""
    silent = [(g, text) for g, text, _ in targets if audio_packets(sandbox, g) == 0]
    if silent:
        said = sorted({last_reply(sandbox, text) for _, text in silent})
        raise Refused(f"{len(silent)} of {len(targets)} guilds played no audio {what}; the bot said {said}")


async def run_streams(
    kind: str, guilds: int, seconds: float, tmp: Path, library: Path, ramp: float, burn: bool
) -> dict[str, float]:
    """Start a bot of `kind` in a fresh sandbox with `guilds` guilds; play everywhere; measure."""
    load = os.getloadavg()[0]
    async with Sandbox(build_world(world_spec(guilds)), SandboxConfig()) as sandbox:
        assert sandbox.voice is not None
        sandbox.voice.decode_default = False
        world = sandbox.world
        async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as http:
            bots = start_bots(kind, sandbox, library, tmp, burn=burn)
            pids = [bot.pid for bot in bots]
            try:
                await wait_identified(http, 0, len(bots))
                idle_rss = sum(map(rss_mb, pids))
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
                await all_playing(sandbox, [g for g, _, _ in targets], within_s=60)
                startup_s = time.perf_counter() - started
                refuse_unless_all_play(sandbox, targets, f"within 60 s of the last play ({startup_s:.0f} s)")
                await asyncio.sleep(2.0)  # past the effect restarts
                for guild_id, _, _ in targets:
                    sandbox.voice.reset_stats(guild_id)
                ffmpegs = [child for pid in pids for child in descendants(pid)]
                cpu_before = cpu_split(pids, ffmpegs)
                await asyncio.sleep(seconds)
                stats = [sandbox.voice.stats(g) for g, _, _ in targets]
                cpu_after = cpu_split(pids, ffmpegs)
                playing_rss = sum(map(rss_mb, pids))
                ffmpeg_rss = sum(rss_mb(child) for pid in pids for child in descendants(pid))
                refuse_unless_all_play(sandbox, targets, "in the measuring window")
            finally:
                stop_s = max(await asyncio.gather(*map(stop, bots)))
                leftovers = reap_leftovers()
    if leftovers:  # the bot left processes behind (now killed): say so, the row still counts
        print(f"# {kind}: killed {len(leftovers)} processes left after the bot stopped: {set(leftovers)}")
    expected = sum(s["speaking_seconds"] * 50 for s in stats) or 1
    # Missing frames per guild: those due between its first and last packet of the window that never
    # came. The wall-clock count (`frame_deficit`) is off by ±1 frame per guild depending on where in
    # the 20 ms cycle the window starts and ends (0.07 % at 30 guilds, all in step); it still counts
    # when it shows more, so a stream that stopped altogether is not missed. Silence frames count too:
    # the music never is digitally silent, so each one was sent in place of audio (an underrun).
    gone = sum(max(s["frames_missing"], s["frame_deficit"] - 1, 0) for s in stats)
    underrun = sum(s["silence_frames"] for s in stats)
    gaps = [s["gap_p99_ms"] for s in stats if s["gap_p99_ms"] is not None]
    bot_cpu, ffmpeg_cpu, sandbox_cpu = ((a - b) / seconds for a, b in zip(cpu_after, cpu_before, strict=True))
    return {
        "load": load,
        "startup_s": startup_s,
        "playing": sum(1 for s in stats if s["packets"] > s["silence_frames"]),
        "deficit_pct": 100 * (gone + underrun) / expected,
        "underrun_pct": 100 * underrun / expected,
        "gap_p99_median": statistics.median(gaps) if gaps else float("nan"),
        "gap_p99_worst": max(gaps) if gaps else float("nan"),
        "idle_rss": idle_rss,
        "playing_rss": playing_rss,
        "ffmpeg_rss": ffmpeg_rss,
        "bot_cpu": bot_cpu,
        "ffmpeg_cpu": ffmpeg_cpu / max(1, len(ffmpegs)),
        "ffmpegs": len(ffmpegs),
        "sandbox_cpu": sandbox_cpu,
        "stop_s": stop_s,
    }


def cpu_split(bots: list[int], ffmpegs: list[int]) -> tuple[float, float, float]:
    """CPU seconds so far: the bot process(es), their ffmpeg children, this process (the sandbox)."""
    return sum(map(cpu_seconds, bots)), sum(map(cpu_seconds, ffmpegs)), cpu_seconds(os.getpid())


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
            (process,) = start_bots("zilean", sandbox, library, tmp, trusted=origin)
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
    parser.add_argument("--runs", type=int, default=1, help="repeat every row this often (kinds interleaved)")
    args = parser.parse_args()
    become_subreaper()
    python = platform.python_version()
    machine = f"{platform.machine()} {os.cpu_count()} CPUs ({cpu_model()}), Python {python}"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"# {machine}, {when}, load {os.getloadavg()}")
    print(f"# command: {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(os.environ.get("BENCH_TMP") or raw)
        library = tmp / "library"
        library.mkdir(exist_ok=True)
        # Long enough for a start-up three times slower than the ramp: a song that ends before the
        # window would make its guild look as if it never played (issue #12).
        longest = 3 * max(args.streams + args.burn) / args.ramp + args.seconds + 120
        make_music(library, int(longest))
        if args.first_packet:
            times = await first_packet(args.first_packet, tmp, library)
            p50, worst = statistics.median(times), max(times)
            print(f"first packet: p50 {p50:.0f} ms, max {worst:.0f} ms ({len(times)} runs)")
        print(HEADER)
        print("|---:|:---|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        results: dict[tuple[int, bool, str], list[dict[str, float]]] = {}
        refused = 0
        for burn, sizes in ((False, args.streams), (True, args.burn)):
            for n in sizes:
                for _ in range(args.runs):
                    for kind in args.kinds:
                        try:
                            r = await run_streams(kind, n, args.seconds, tmp, library, args.ramp, burn)
                        except Refused as exc:
                            refused += 1
                            print(f"| {n} | {yes_no(burn)} | {kind} | REFUSED: {exc} |", flush=True)
                            continue
                        results.setdefault((n, burn, kind), []).append(r)
                        print(row(n, burn, kind, r), flush=True)
        if args.runs > 1:
            print("\nSpread over the runs (min–max):\n")
            print(
                "| streams | CPU loop | path | runs | load | all started after | deficit | gap p99 median | "
                "gap p99 worst | bot CPU | ffmpeg CPU per stream | sandbox CPU |"
            )
            print("|---:|:---|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for (n, burn, kind), runs in results.items():
                print(spread(n, burn, kind, runs))
    left = reap_leftovers()
    print(f"# processes left at the end: {len(left)}; load {os.getloadavg()}")
    if refused:
        print(f"REFUSED {refused} row(s): not every guild played; see the lines above", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
