"""Queue edits with gapped keys (zilean.db QueueRepo) vs. a naive renumbering queue, on SQLite and PostgreSQL.

Run: .venv/bin/python -m bench.queue_positions [--ops 200] [--pg-url URL]
 or: .venv/bin/python bench/queue_positions.py

The naive queue is the roadmap's table: contiguous positions 0..n-1 with UNIQUE(guild, position),
so an insert, move or remove renumbers every row after the edited spot (in two passes through
negative values, as a unique constraint checked row by row requires), and a shuffle rewrites every
row. Both run through the same connections and write transactions (BEGIN IMMEDIATE on SQLite).
Each edit is its own transaction, as in the bot. PostgreSQL: a scratch database is created on the
server of --pg-url (default TEST_DATABASE_URL, else the CI URL) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url

# The tests' throwaway-cluster helper (tests/pg_cluster.py), not a copy of it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from pg_cluster import throwaway_cluster
from zilean.core.track import Track
from zilean.db import Database, open_database, upgrade
from zilean.db.connector import Connector, utcnow

CI_URL = "postgresql://postgres@127.0.0.1:5432/test"
GOALS = {"append 5,000": 500.0, "insert-next": 20.0, "move": 20.0, "remove": 20.0, "shuffle": 300.0}
QUEUE_SIZE = 10_000
PLAYLIST = 5_000
GUILD = 1_180_000_000_000_000_001

naive_meta = MetaData()
naive = Table(
    "naive_queue",
    naive_meta,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("guild_id", BigInteger, nullable=False),
    Column("position", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("source", String(32), nullable=False),
    Column("duration_ms", BigInteger),
    Column("thumbnail", Text),
    Column("artist", Text),
    Column("requester_id", BigInteger),
    Column("added_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("guild_id", "position"),
)


def make_tracks(count: int, tag: str) -> list[Track]:
    return [
        Track(
            title=f"{tag} track {i}",
            url=f"https://www.youtube.com/watch?v={tag}{i:07d}",
            source="youtube",
            duration_ms=180_000 + i,
            thumbnail=f"https://i.ytimg.com/vi/{tag}{i:07d}/hqdefault.jpg",
            artist="Artist",
            requester_id=123_456_789_012_345_678,
        )
        for i in range(count)
    ]


class NaiveQueue:
    """The renumbering baseline: contiguous positions, shifted on every edit."""

    def __init__(self, db: Connector) -> None:
        self._db = db

    async def append(self, guild: int, tracks: list[Track]) -> None:
        async with self._db.write() as conn:
            last_stmt = select(func.max(naive.c.position)).where(naive.c.guild_id == guild)
            last = (await conn.execute(last_stmt)).scalar()
            start = -1 if last is None else last
            now = utcnow()
            rows = [_row(guild, start + 1 + i, t, now) for i, t in enumerate(tracks)]
            await conn.execute(insert(naive), rows)

    async def insert(self, guild: int, index: int, track: Track) -> None:
        async with self._db.write() as conn:
            await _shift(conn, guild, lo=index, hi=None, delta=1)
            await conn.execute(insert(naive).values(**_row(guild, index, track, utcnow())))

    async def remove(self, guild: int, index: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(delete(naive).where(naive.c.guild_id == guild, naive.c.position == index))
            await _shift(conn, guild, lo=index + 1, hi=None, delta=-1)

    async def move(self, guild: int, source: int, target: int) -> None:
        if source == target:
            return
        async with self._db.write() as conn:
            moved = (
                await conn.execute(
                    select(naive.c.id).where(naive.c.guild_id == guild, naive.c.position == source)
                )
            ).scalar_one()
            await conn.execute(update(naive).where(naive.c.id == moved).values(position=-(10**9)))
            if source < target:
                await _shift(conn, guild, lo=source + 1, hi=target, delta=-1)
            else:
                await _shift(conn, guild, lo=target, hi=source - 1, delta=1)
            await conn.execute(update(naive).where(naive.c.id == moved).values(position=target))

    async def shuffle(self, guild: int) -> None:
        async with self._db.write() as conn:
            ids = list((await conn.execute(select(naive.c.id).where(naive.c.guild_id == guild))).scalars())
            random.shuffle(ids)
            await conn.execute(
                update(naive).where(naive.c.guild_id == guild).values(position=-naive.c.position - 1)
            )
            stmt = (
                update(naive)
                .where(naive.c.id == bindparam("row_id"))
                .values(position=bindparam("new_position"))
            )
            await conn.execute(stmt, [{"row_id": i, "new_position": p} for p, i in enumerate(ids)])

    async def clear(self, guild: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(delete(naive).where(naive.c.guild_id == guild))

    async def settle(self) -> None:
        """Fresh planner statistics, as QueueRepo takes after a big append (fair comparison)."""
        if self._db.dialect == "postgresql":
            async with self._db.write() as conn:
                await conn.execute(text("ANALYZE naive_queue"))


async def _shift(conn: Any, guild: int, lo: int, hi: int | None, delta: int) -> None:
    """Add `delta` to positions lo..hi: first to negatives, then back, so UNIQUE never trips midway."""
    cond = [naive.c.guild_id == guild, naive.c.position >= lo]
    if hi is not None:
        cond.append(naive.c.position <= hi)
    await conn.execute(update(naive).where(*cond).values(position=-(naive.c.position + delta) - 1))
    await conn.execute(
        update(naive)
        .where(naive.c.guild_id == guild, naive.c.position < 0, naive.c.position > -(10**9))
        .values(position=-naive.c.position - 1)
    )


def _row(guild: int, position: int, track: Track, now: datetime) -> dict[str, Any]:
    return {
        "guild_id": guild,
        "position": position,
        "title": track.title,
        "url": track.url,
        "source": track.source,
        "duration_ms": track.duration_ms,
        "thumbnail": track.thumbnail,
        "artist": track.artist,
        "requester_id": track.requester_id,
        "added_at": now,
    }


class Gapped:
    """Adapter so both implementations share one driver."""

    def __init__(self, db: Database) -> None:
        self.q = db.queue

    async def append(self, guild: int, tracks: list[Track]) -> None:
        await self.q.append(guild, tracks)

    async def insert(self, guild: int, index: int, track: Track) -> None:
        await self.q.insert(guild, index, [track])

    async def remove(self, guild: int, index: int) -> None:
        await self.q.remove(guild, index)

    async def move(self, guild: int, source: int, target: int) -> None:
        await self.q.move(guild, source, target)

    async def shuffle(self, guild: int) -> None:
        await self.q.shuffle(guild)

    async def clear(self, guild: int) -> None:
        await self.q.clear(guild)

    async def settle(self) -> None:
        """Nothing to do: QueueRepo refreshes statistics itself after a big append."""


async def timed(action: Callable[[], Awaitable[None]]) -> float:
    start = time.perf_counter()
    await action()
    return (time.perf_counter() - start) * 1000


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


async def measure(impl: Any, ops: int, rng: random.Random) -> dict[str, tuple[float, float]]:
    """name -> (p50, p99 or max) in ms."""
    results: dict[str, tuple[float, float]] = {}
    playlist = make_tracks(PLAYLIST, "p")
    appends = []
    for _ in range(5):
        await impl.clear(GUILD)
        appends.append(await timed(lambda: impl.append(GUILD, playlist)))
    results["append 5,000"] = (statistics.median(appends), max(appends))

    await impl.clear(GUILD)
    await impl.append(GUILD, make_tracks(QUEUE_SIZE, "q"))
    await impl.settle()
    size = QUEUE_SIZE
    extra = make_tracks(ops, "n")
    samples = []
    for i in range(ops):
        samples.append(await timed(lambda i=i: impl.insert(GUILD, 0, extra[i])))
        size += 1
    results["insert-next"] = (statistics.median(samples), p99(samples))
    samples = []
    for _ in range(ops):
        source, target = rng.randrange(size), rng.randrange(size)
        samples.append(await timed(lambda s=source, t=target: impl.move(GUILD, s, t)))
    results["move"] = (statistics.median(samples), p99(samples))
    samples = []
    for _ in range(ops):
        index = rng.randrange(size)
        samples.append(await timed(lambda i=index: impl.remove(GUILD, i)))
        size -= 1
    results["remove"] = (statistics.median(samples), p99(samples))
    shuffles = [await timed(lambda: impl.shuffle(GUILD)) for _ in range(10)]
    results["shuffle"] = (statistics.median(shuffles), max(shuffles))
    await impl.clear(GUILD)
    return results


async def run_backend(url: str, ops: int, seed: int) -> dict[str, dict[str, tuple[float, float]]]:
    await upgrade(url)
    db = await open_database(url)
    try:
        async with db.connector.write() as conn:
            await conn.run_sync(lambda sync: naive_meta.create_all(sync))
        out = {}
        for name, impl in (("gapped", Gapped(db)), ("naive", NaiveQueue(db.connector))):
            out[name] = await measure(impl, ops, random.Random(seed))
        return out
    finally:
        await db.close()


async def scratch_postgres(admin_url: str, statement: str) -> None:
    import asyncpg

    dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.contextmanager
def private_cluster() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (default durability settings) on a free port.

    The shared server also serves every other test run on this machine; a private one keeps
    their checkpoints and locks out of the numbers (CPU is still shared).
    """
    base = Path(tempfile.mkdtemp(prefix="zilean-bench-pg-"))
    try:
        with throwaway_cluster(base, durable=True) as url:
            yield url
    finally:
        shutil.rmtree(base, ignore_errors=True)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} CPUs ({model}), {system}, Python {platform.python_version()}"


def table(results: dict[str, dict[str, dict[str, tuple[float, float]]]]) -> str:
    lines = [
        "| operation (10,000-entry queue) | goal | backend "
        "| gapped p50 | gapped p99/max | naive p50 | naive p99/max |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for op, goal in GOALS.items():
        for backend, impls in results.items():
            g, n = impls["gapped"][op], impls["naive"][op]
            mark = "✓" if g[1] <= goal else "✗"
            lines.append(
                f"| {op} | ≤ {goal:.0f} ms | {backend} "
                f"| {g[0]:.1f} | {g[1]:.1f} {mark} | {n[0]:.1f} | {n[1]:.1f} |"
            )
    return "\n".join(lines)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=200, help="timed edits per kind (default 200)")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL", CI_URL))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--private-pg", action="store_true", help="measure PostgreSQL on a throwaway initdb cluster instead"
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.private_pg:
            args.pg_url = stack.enter_context(private_cluster())
        return await run_all(args)


async def run_all(args: argparse.Namespace) -> int:

    load_before = os.getloadavg()[0]
    results: dict[str, dict[str, dict[str, tuple[float, float]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = await run_backend(f"sqlite+aiosqlite:///{tmp}/bench.db", args.ops, args.seed)
    name = f"zilean_bench_{secrets.token_hex(4)}"
    try:
        await scratch_postgres(args.pg_url, f'CREATE DATABASE "{name}"')
    except Exception as exc:
        print(f"PostgreSQL skipped: {args.pg_url} unreachable ({exc})", file=sys.stderr)
    else:
        try:
            pg_url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
            results["PostgreSQL"] = await run_backend(pg_url, args.ops, args.seed)
        finally:
            await scratch_postgres(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(f"1-min load average: {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (shared machine)")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}  (--ops {args.ops})")
    where = "a private initdb cluster" if args.private_pg else make_url(args.pg_url).render_as_string()
    print(f"PostgreSQL: {where}")
    print()
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
