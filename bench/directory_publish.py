"""Publishing a 5,000-member guild to the directory, and the web's membership check, on SQLite and PostgreSQL.

Run: .venv/bin/python -m bench.directory_publish [--members 5000] [--runs 3] [--private-pg] [--pg-url URL]

Per run and backend, on a freshly migrated database:
- publish: `DirectoryRepo.replace_guild` with 5,000 members, 50 channels and 30 roles (what the
  bot does on ready and when it joins a guild) — first into an empty directory, then again over
  the stored guild (a reconnect);
- baseline, same run: the same 5,000 members written one `upsert_member` transaction each (what
  publishing member by member, as the gateway events arrive, would cost);
- check: 1,000 `member(guild, user)` lookups of random members (the web's per-request
  membership check) and 200 `guilds_of(user)`, p50/p99.
A backend whose database cannot be created is reported as skipped, never as a row.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.queue_positions import CI_URL, machine, private_cluster, scratch_postgres
from sqlalchemy.engine import make_url

from zilean.db import ChannelInfo, GuildInfo, MemberInfo, RoleInfo, open_database, upgrade

GUILD = 1_100_000_000_000_000_000


def guild_records(count: int) -> tuple[GuildInfo, list[ChannelInfo], list[RoleInfo], list[MemberInfo]]:
    rng = random.Random(7)
    guild = GuildInfo(GUILD, "Benchmark Guild", "https://cdn.test/icon.png", GUILD + 1)
    channels = [
        ChannelInfo(GUILD, GUILD + 10 + i, "voice" if i % 5 == 0 else "text", f"channel-{i}", i)
        for i in range(50)
    ]
    roles = [RoleInfo(GUILD, GUILD + 100 + i, f"role-{i}", i, 0x5865F2, 1 << (i % 40)) for i in range(30)]
    members = [
        MemberInfo(
            guild_id=GUILD,
            user_id=GUILD + 10_000 + i,
            name=f"user{i:05d}",
            display_name=f"User Number {i}",
            avatar_url=f"https://cdn.test/avatars/{i}.png" if i % 3 else None,
            role_ids=tuple(GUILD + 100 + r for r in rng.sample(range(30), rng.randint(0, 4))),
            is_owner=i == 0,
            is_admin=i < 5,
            voice_channel_id=GUILD + 10 if i < 40 else None,
        )
        for i in range(count)
    ]
    return guild, channels, roles, members


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def one_run(url: str, count: int) -> dict[str, float]:
    await upgrade(url)
    db = await open_database(url)
    try:
        guild, channels, roles, members = guild_records(count)
        started = time.perf_counter()
        await db.directory.replace_guild(guild, channels, roles, members)
        first = time.perf_counter() - started
        started = time.perf_counter()
        await db.directory.replace_guild(guild, channels, roles, members)
        again = time.perf_counter() - started
        if await db.directory.member_count(GUILD) != count:
            raise RuntimeError("the publish did not store every member")
        await db.directory.remove_guild(GUILD)
        started = time.perf_counter()
        for member in members:
            await db.directory.upsert_member(member)
        one_by_one = time.perf_counter() - started
        rng = random.Random(1)
        lookups = []
        for _ in range(1_000):
            user = rng.choice(members).user_id
            started = time.perf_counter()
            found = await db.directory.member(GUILD, user)
            lookups.append(time.perf_counter() - started)
            if found is None:
                raise RuntimeError("a published member was not found")
        listings = []
        for _ in range(200):
            user = rng.choice(members).user_id
            started = time.perf_counter()
            await db.directory.guilds_of(user)
            listings.append(time.perf_counter() - started)
    finally:
        await db.close()
    return {
        "publish": first * 1000,
        "republish": again * 1000,
        "one_by_one": one_by_one * 1000,
        "member_p50": percentile(lookups, 0.5) * 1000,
        "member_p99": percentile(lookups, 0.99) * 1000,
        "guilds_of_p50": percentile(listings, 0.5) * 1000,
        "guilds_of_p99": percentile(listings, 0.99) * 1000,
    }


async def postgres_runs(admin_url: str, runs: int, count: int) -> list[dict[str, float]] | None:
    results = []
    for _ in range(runs):
        name = f"zilean_bench_dir_{secrets.token_hex(4)}"
        try:
            await scratch_postgres(admin_url, f'CREATE DATABASE "{name}"')
        except Exception as exc:
            print(f"PostgreSQL skipped: {admin_url} unreachable ({exc})", file=sys.stderr)
            return None
        try:
            url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            results.append(await one_run(url, count))
        finally:
            await scratch_postgres(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"


def report(results: dict[str, list[dict[str, float]]], count: int) -> str:
    lines = [
        f"| backend | publish {count:,} (empty) | republish | baseline: one upsert each "
        "| member() p50 / p99 | guilds_of() p50 / p99 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for backend, runs in results.items():

        def col(key: str, runs: list[dict[str, float]] = runs) -> list[float]:
            return [run[key] for run in runs]

        def pair(key: str) -> str:
            return f"{statistics.median(col(key + '_p50')):.2f} / {statistics.median(col(key + '_p99')):.2f}"

        publishing = " | ".join(spread(col(key)) for key in ("publish", "republish", "one_by_one"))
        lines.append(f"| {backend} | {publishing} | {pair('member')} | {pair('guilds_of')} |")
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL", CI_URL))
    parser.add_argument("--private-pg", action="store_true", help="PostgreSQL in a throwaway initdb cluster")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results: dict[str, list[dict[str, float]]] = {}
    sqlite_runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            sqlite_runs.append(await one_run(f"sqlite+aiosqlite:///{tmp}/bench.db", args.members))
    results["SQLite"] = sqlite_runs
    with contextlib.ExitStack() as stack:
        if args.private_pg:
            args.pg_url = stack.enter_context(private_cluster())
        pg = await postgres_runs(args.pg_url, args.runs, args.members)
    if pg is not None:
        results["PostgreSQL"] = pg
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(f"1-min load average: {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (shared machine)")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    where = "a private initdb cluster" if args.private_pg else make_url(args.pg_url).render_as_string()
    print(f"PostgreSQL: {where}")
    print(f"ms, median of {args.runs} runs (min–max); lookups: median of the runs' p50 / p99")
    print()
    print(report(results, args.members))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
