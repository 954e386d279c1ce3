"""Concurrent streams of the real bot vs discord.py's stock path, measured at the sandbox's receiver.

Run: .venv/bin/python bench/bot_streams.py [--streams 10 30 60] [--seconds 10] [--first-packet 10]

The sandbox (in this process, Opus decoding off: only packet timing is needed) gets a world with N
guilds, each with a member in its voice channel. A bot process is started exactly as in production
(`python -m zilean bot`, told only the sandbox's URLs), every guild gets `=play local:music.flac`
(default volume, `bassboost` on), and after a warm-up the sandbox's per-guild counters are read
over the measuring window: frame deficit (packets missing against 50/s while speaking) and the
inter-packet gap p99. The baseline is a minimal discord.py bot in its own process that plays the
same file with the stock `FFmpegPCMAudio` + `PCMVolumeTransformer(0.25)` (Opus encoded in Python).
`--first-packet` times, for one guild, the message POST → first voice packet at the receiver.
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


def make_music(directory: Path) -> Path:
    """60 s of a music-like signal (pink noise + a tone), FLAC."""
    path = directory / "music.flac"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-filter_complex",
         "anoisesrc=color=pink:amplitude=0.2:d=60[n];sine=f=440:d=60[s];[n][s]amix=inputs=2",
         "-ar", "48000", "-ac", "2", "-metadata", "title=Music", str(path)],
        check=True,
    )  # fmt: skip
    return path


def start_bot(kind: str, sandbox: Sandbox, library: Path, data: Path) -> subprocess.Popen[bytes]:
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
    )
    argv = [sys.executable, "-m", "zilean", "bot"] if kind == "zilean" else [sys.executable, "-c", STOCK_BOT]
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


async def run_streams(kind: str, guilds: int, seconds: float, tmp: Path, library: Path) -> dict[str, float]:
    """Start a bot of `kind` in a fresh sandbox with `guilds` guilds; play everywhere; measure."""
    async with Sandbox(build_world(world_spec(guilds)), SandboxConfig()) as sandbox:
        assert sandbox.voice is not None
        sandbox.voice.decode_default = False
        world = sandbox.world
        async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as http:
            process = start_bot(kind, sandbox, library, tmp)
            try:
                await wait_identified(http, 0)
                targets = []
                for guild in world.guilds.values():
                    music = next(c for c in guild.channels.values() if c.name == "Music")
                    text = next(c for c in guild.channels.values() if c.name == "general")
                    listener = next(uid for uid in guild.members if uid != world.bot_user_id)
                    sandbox.voice_states.move(guild.id, listener, music.id)
                    targets.append((guild.id, text.id, listener))
                for _, text, user in targets:
                    await post(http, text, user, "=play local:music.flac")
                    if kind == "zilean":
                        await post(http, text, user, "=effect add bassboost")
                started = time.perf_counter()
                await all_playing(sandbox, [g for g, _, _ in targets], within_s=90)
                startup_s = time.perf_counter() - started
                await asyncio.sleep(2.0)  # past the effect restarts
                for guild_id, _, _ in targets:
                    sandbox.voice.reset_stats(guild_id)
                await asyncio.sleep(seconds)
                stats = [sandbox.voice.stats(g) for g, _, _ in targets]
            finally:
                process.terminate()
                await asyncio.to_thread(process.wait, 30)
    playing = [s for s in stats if s["packets"] > 0]
    expected = sum(s["speaking_seconds"] * 50 for s in playing) or 1
    deficit = sum(max(0, s["frame_deficit"]) for s in playing)
    gaps = [s["gap_p99_ms"] for s in playing if s["gap_p99_ms"] is not None]
    return {
        "startup_s": startup_s,
        "playing": len(playing),
        "deficit_pct": 100 * deficit / expected,
        "gap_p99_median": statistics.median(gaps) if gaps else float("nan"),
        "gap_p99_worst": max(gaps) if gaps else float("nan"),
    }


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


async def first_packet(runs: int, tmp: Path, library: Path) -> list[float]:
    """Message POST → first packet at the receiver, one guild, warm bot (ms)."""
    async with Sandbox(build_world(world_spec(1)), SandboxConfig()) as sandbox:
        assert sandbox.voice is not None
        world = sandbox.world
        guild = next(iter(world.guilds.values()))
        music = next(c for c in guild.channels.values() if c.name == "Music")
        text = next(c for c in guild.channels.values() if c.name == "general")
        user = next(uid for uid in guild.members if uid != world.bot_user_id)
        sandbox.voice_states.move(guild.id, user, music.id)
        async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as http:
            process = start_bot("zilean", sandbox, library, tmp)
            try:
                await wait_identified(http, 0)
                await post(http, text.id, user, "=join")
                await asyncio.sleep(2.0)
                times = []
                for _ in range(runs + 1):  # the first run warms up
                    before = audio_packets(sandbox, guild.id)
                    start = time.perf_counter()
                    await post(http, text.id, user, "=play local:music.flac")
                    while audio_packets(sandbox, guild.id) <= before:  # noqa: ASYNC110 - polling the receiver
                        await asyncio.sleep(0.001)  # silence frames while loading do not count
                    times.append((time.perf_counter() - start) * 1000)
                    await post(http, text.id, user, "=stop")
                    await quiet(sandbox, guild.id)
                return times[1:]
            finally:
                process.terminate()
                await asyncio.to_thread(process.wait, 30)


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
    parser.add_argument("--streams", type=int, nargs="+", default=[10, 30, 60])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--first-packet", type=int, default=10)
    parser.add_argument("--kinds", nargs="+", default=["zilean", "stock"])
    args = parser.parse_args()
    machine = f"{platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"# {machine}, load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(os.environ.get("BENCH_TMP") or raw)
        library = tmp / "library"
        library.mkdir(exist_ok=True)
        make_music(library)
        if args.first_packet:
            times = await first_packet(args.first_packet, tmp, library)
            p50, worst = statistics.median(times), max(times)
            print(f"first packet: p50 {p50:.0f} ms, max {worst:.0f} ms ({len(times)} runs)")
        print("| streams | path | all started after | playing | deficit | gap p99 median | gap p99 worst |")
        print("|---:|:---|---:|---:|---:|---:|---:|")
        for n in args.streams:
            for kind in args.kinds:
                r = await run_streams(kind, n, args.seconds, tmp, library)
                print(
                    f"| {n} | {kind} | {r['startup_s']:.1f} s | {r['playing']} | {r['deficit_pct']:.2f} % | "
                    f"{r['gap_p99_median']:.1f} ms | {r['gap_p99_worst']:.1f} ms |",
                    flush=True,
                )


if __name__ == "__main__":
    asyncio.run(main())
