"""The real bot connecting to a sandbox guild of 5,000 members: time to ready, and to the directory published.

Run: .venv/bin/python -m bench.directory_bot [--members 5000] [--runs 3] [--private-pg] [--pg-url URL]

Per run and backend: a fresh sandbox (no voice) whose one guild has N members besides the owner,
a freshly migrated database, and the real ZileanBot (zilean.bot.runner.built_bot). Timed from
`bot.start()`: **ready** (discord.py has the guild and all its members, chunked 1,000 per
GUILD_MEMBERS_CHUNK; the baseline, what any bot with the members intent pays) and **published**
(the publisher is idle and the directory holds every member). A run whose bot fails to connect or
whose directory never fills is reported as a failure, not a row.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.queue_positions import CI_URL, machine, private_cluster, scratch_postgres
from sqlalchemy.engine import make_url

from zilean.config import Settings
from zilean.db.repos.directory import DirectoryRepo
from zilean.sandbox.server import Sandbox, SandboxConfig
from zilean.sandbox.testing import discord_pointed_at
from zilean.sandbox.world import build_world

TIMEOUT_S = 300


def world_spec(count: int) -> dict[str, object]:
    members = [{"username": "owner"}] + [{"username": f"user{i:05d}"} for i in range(count)]
    return {"guilds": [{"name": "Crowd", "owner": "owner", "channels": [{"name": "Hall", "type": "voice"}],
                        "members": members}]}  # fmt: skip


async def one_run(database_url: str, count: int, tmp: Path) -> tuple[float, float]:
    from zilean.bot.runner import built_bot

    async with Sandbox(build_world(world_spec(count)), SandboxConfig(voice=False)) as sandbox:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            discord_token=sandbox.token,
            discord_api_base=sandbox.api_base,
            discord_gateway_url=sandbox.gateway_url,
            database_url=database_url,
            search_provider="local",
            log_dir=tmp / "logs",
        )
        guild_id = sandbox.world.first_guild.id
        with discord_pointed_at(sandbox):
            async with built_bot(settings, guild_ready_timeout=0.1) as bot:
                started = time.perf_counter()
                task = asyncio.create_task(bot.start(sandbox.token))
                directory = DirectoryRepo(bot.store.connector)
                async with asyncio.timeout(TIMEOUT_S):
                    while not bot.is_ready():
                        if task.done():
                            task.result()
                            raise RuntimeError("the bot stopped before it was ready")
                        await asyncio.sleep(0.01)
                    ready = time.perf_counter() - started
                    await bot.directory.idle()  # the guild was queued when it became available
                    published = time.perf_counter() - started
                if await directory.member_count(guild_id) != count + 2:  # + the owner and the bot
                    raise RuntimeError("the directory does not hold every member")
                await bot.close()
                with contextlib.suppress(Exception):
                    await task
    return ready * 1000, published * 1000


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL", CI_URL))
    parser.add_argument("--private-pg", action="store_true", help="PostgreSQL in a throwaway initdb cluster")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    load_before = os.getloadavg()[0]
    results: dict[str, list[tuple[float, float]]] = {"SQLite": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            url = f"sqlite+aiosqlite:///{tmp}/bot{run}.db"
            results["SQLite"].append(await one_run(url, args.members, Path(tmp)))
        with contextlib.ExitStack() as stack:
            if args.private_pg:
                args.pg_url = stack.enter_context(private_cluster())
            pg: list[tuple[float, float]] = []
            for _ in range(args.runs):
                name = f"zilean_bench_bot_{secrets.token_hex(4)}"
                try:
                    await scratch_postgres(args.pg_url, f'CREATE DATABASE "{name}"')
                except Exception as exc:
                    print(f"PostgreSQL skipped: {args.pg_url} unreachable ({exc})", file=sys.stderr)
                    pg = []
                    break
                try:
                    url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
                    pg.append(await one_run(url, args.members, Path(tmp)))
                finally:
                    await scratch_postgres(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if pg:
                results["PostgreSQL"] = pg
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(f"1-min load average: {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (shared machine)")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"ms from bot.start(), median of {args.runs} runs (min–max)")
    print()
    head = f"| backend | ready ({args.members:,} members chunked; baseline) | directory published"
    print(f"{head} | publish − ready |")
    print("|---|---:|---:|---:|")
    for backend, runs in results.items():
        ready = [r for r, _ in runs]
        published = [p for _, p in runs]
        extra = [p - r for r, p in runs]

        def cell(values: list[float]) -> str:
            return f"{statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})"

        print(f"| {backend} | {cell(ready)} | {cell(published)} | {cell(extra)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
