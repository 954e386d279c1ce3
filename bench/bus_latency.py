"""Bus latency and throughput: dashboard insert → bot handler running, on PostgreSQL and SQLite.

Side by side in one run:
- latency of one command at a time (random spacing, so polling is not phase-locked), the bot in
  its own process: PostgreSQL LISTEN/NOTIFY, SQLite's data_version watch (every 50 ms), and the
  roadmap's 1 s polling loop on both as the baseline; plus bot and web sharing one process
  (in-process signal);
- sustained throughput across 100 guilds at rising offered rates, with the lag of the first and
  the second half of each window (lag that keeps growing = the rate is not sustainable).

The bot process's handler returns its CLOCK_MONOTONIC time (system-wide on Linux), so latency is
measured from just before the INSERT to the handler starting, across processes.

usage: .venv/bin/python bench/bus_latency.py [--samples 200] [--baseline-samples 30]
       [--rates 100,250,500,1000] [--seconds 4] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
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
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from zilean.db import Database, open_database, schema, upgrade
from zilean.db.bus import Bus, BusOptions
from zilean.db.bus.records import Command, Outcome

GUILD = 1_180_000_000_000_000_001
MODES = {
    "notify": BusOptions(),  # PostgreSQL: LISTEN/NOTIFY; SQLite: data_version watch every 50 ms
    "poll1s": BusOptions(listen=False, poll_interval_s=1.0),  # the roadmap's loop
}


def guild(n: int) -> int:
    return GUILD + (n << 22)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def handler(command: Command) -> Outcome:
    return Outcome.done(str(time.monotonic_ns()))


# --- the bot process -------------------------------------------------------------------------


async def worker_main(url: str, mode: str) -> None:
    db = await open_database(url)
    bus = Bus(db, MODES[mode])
    await bus.start()
    await bus.worker(handler).start()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    await bus.close()
    await db.close()


@contextlib.asynccontextmanager
async def bot_process(url: str, mode: str) -> AsyncIterator[None]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--worker",
        url,
        mode,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    assert line.strip() == b"ready", line
    try:
        yield
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            await proc.wait()


# --- measurements ----------------------------------------------------------------------------


async def one_at_a_time(bus: Bus, samples: int, spread_s: float) -> tuple[list[float], list[float]]:
    """Latency insert → handler, and the INSERT's own commit time, per command."""
    latencies, commits = [], []
    for i in range(samples):
        # Random spacing wider than the polling period, so arrivals are not phase-locked to it.
        await asyncio.sleep(0.02 + random.uniform(0, spread_s))
        t0 = time.monotonic_ns()
        command = await bus.submit(guild(i % 100), "pause", user_id=1)
        commits.append((time.monotonic_ns() - t0) / 1e6)
        done = await bus.wait(command.id, 30)
        assert done.status == "done", done
        latencies.append((int(done.outcome or 0) - t0) / 1e6)
    return latencies, commits


async def latency_rows(url: str, backend: str, samples: int, baseline_samples: int) -> list[str]:
    rows = []
    db = await open_database(url)
    try:
        for label, mode, count, in_process, spread in (
            ("NOTIFY" if backend == "postgresql" else "data_version 50 ms", "notify", samples, False, 0.1),
            ("same process (in-process signal)", "notify", samples, True, 0.1),
            ("roadmap baseline: poll every 1 s", "poll1s", baseline_samples, False, 1.0),
        ):
            bus = Bus(db, MODES["notify"])
            await bus.start()
            try:
                if in_process:
                    await bus.worker(handler).start()
                    values, commits = await one_at_a_time(bus, count, spread)
                else:
                    async with bot_process(url, mode):
                        values, commits = await one_at_a_time(bus, count, spread)
            finally:
                await bus.close()
            rows.append(
                f"| {backend} | {label} | {count} | {pct(values, 0.5):.1f} | {pct(values, 0.99):.1f} "
                f"| {max(values):.1f} | {statistics.fmean(values):.1f} | {pct(commits, 0.5):.1f} |"
            )
            print(rows[-1], flush=True)
    finally:
        await db.close()
    return rows


async def throughput_rows(url: str, backend: str, rates: list[int], seconds: float) -> list[str]:
    rows = []
    db = await open_database(url)
    bus = Bus(db, MODES["notify"])
    await bus.start()
    try:
        async with bot_process(url, "notify"):
            for rate in rates:
                rows.append(await throughput_window(bus, backend, rate, seconds))
                print(rows[-1], flush=True)
    finally:
        await bus.close()
        await db.close()
    return rows


async def throughput_window(bus: Bus, backend: str, rate: int, seconds: float) -> str:
    total = int(rate * seconds)
    scheduled: dict[int, int] = {}
    start = time.monotonic_ns() + 50_000_000
    next_index = 0

    async def submitter() -> None:
        nonlocal next_index
        while next_index < total:
            i = next_index
            next_index += 1
            due = start + int(i * 1e9 / rate)
            delay = (due - time.monotonic_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            command = await bus.submit(guild(i % 100), "pause", {"i": i}, user_id=1)
            scheduled[command.id] = due

    await asyncio.gather(*(submitter() for _ in range(16)))
    submitted_at = time.monotonic_ns()
    c = schema.commands.c
    while True:
        async with bus.db.connector.read() as conn:
            query = select(c.id, c.status, c.outcome).where(c.id.in_(list(scheduled)))
            rows = (await conn.execute(query)).all()
        if all(status == "done" for _, status, _ in rows) and len(rows) == total:
            break
        if time.monotonic_ns() - submitted_at > 120e9:
            raise RuntimeError(f"{backend} at {rate}/s: commands still not done after 120 s")
        await asyncio.sleep(0.05)
    ran_at = {command_id: int(outcome) for command_id, _, outcome in rows}
    lags = {i: (ran_at[i] - due) / 1e6 for i, due in scheduled.items()}
    order = sorted(scheduled, key=scheduled.__getitem__)
    first, second = order[: total // 2], order[total // 2 :]
    elapsed = (max(ran_at.values()) - start) / 1e9
    achieved = total / elapsed
    lag_first = [lags[i] for i in first]
    lag_second = [lags[i] for i in second]
    p50 = f"{pct(lag_first, 0.5):.1f} / {pct(lag_second, 0.5):.1f}"
    p99 = f"{pct(lag_first, 0.99):.1f} / {pct(lag_second, 0.99):.1f}"
    return f"| {backend} | {rate} | {total} | {achieved:.0f} | {p50} | {p99} |"


# --- databases -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def scratch_databases(pg_admin: str) -> AsyncIterator[dict[str, str]]:
    name = f"zilean_bench_{secrets.token_hex(4)}"
    admin_dsn = make_url(pg_admin).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin_dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    pg = make_url(pg_admin).set(database=name).render_as_string(hide_password=False)
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        try:
            await upgrade(pg)
            await upgrade(sqlite)
            yield {"postgresql": pg, "sqlite": sqlite}
        finally:
            conn = await asyncpg.connect(admin_dsn)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()


async def clear(url: str) -> None:
    db: Database = await open_database(url)
    try:
        async with db.connector.write() as conn:
            await conn.execute(schema.commands.delete())
            await conn.execute(schema.bot_heartbeats.delete())
    finally:
        await db.close()


async def main(args: argparse.Namespace) -> None:
    print(
        f"load average before: {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    rates = [int(r) for r in args.rates.split(",")]
    async with scratch_databases(args.pg) as urls:
        print("\n| backend | bot wakes by | samples | p50 ms | p99 ms | max ms | mean ms | commit p50 ms |")
        print("|---|---|---|---|---|---|---|---|")
        for backend, url in urls.items():
            await latency_rows(url, backend, args.samples, args.baseline_samples)
            await clear(url)
        print(
            "\n| backend | offered /s | commands | completed /s | lag p50 ms (1st / 2nd half) "
            "| lag p99 ms (1st / 2nd half) |"
        )
        print("|---|---|---|---|---|---|")
        for backend, url in urls.items():
            await throughput_rows(url, backend, rates, args.seconds)
            await clear(url)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        asyncio.run(worker_main(sys.argv[2], sys.argv[3]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--baseline-samples", type=int, default=30)
    parser.add_argument("--rates", default="100,250,500,1000")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    asyncio.run(main(parser.parse_args()))
