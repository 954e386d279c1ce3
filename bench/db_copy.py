"""`zilean db copy` at size: 100,000 queue entries + 1,000,000 audit rows, SQLite → PostgreSQL and back.

Each run builds a fresh SQLite source with the sqlite3 module, then times the real command
(`python -m zilean db copy SRC DST`, a subprocess, so start-up and validation are included):
SQLite → a new PostgreSQL database, and that PostgreSQL database → a new SQLite file. The
baseline, measured in the same run: reading every row of the source with the bare sqlite3
module (the floor any copy pays) and `pg_dump -Fc | pg_restore` of the PostgreSQL copy (what
PostgreSQL's own tools take for the same content).

usage: .venv/bin/python bench/db_copy.py [--runs 3] [--queue 100000] [--audit 1000000]
       [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from zilean.db import upgrade

GUILDS = 200


def build_source(path: Path, queue: int, audit: int) -> None:
    asyncio.run(upgrade(f"sqlite:///{path}"))
    conn = sqlite3.connect(path)
    stamp = "2026-12-03 06:00:00.000000"
    queue_sql = (
        "INSERT INTO queue_entries (guild_id, position, title, url, source, duration_ms, requester_id,"
        " added_at) VALUES (?, ?, ?, ?, 'youtube', ?, ?, ?)"
    )
    conn.executemany(
        queue_sql,
        (
            (1000 + i % GUILDS, (i // GUILDS + 1) * 1024, f"Track {i}", f"https://youtu.be/{i:011d}",
             180_000 + i, 42, stamp)
            for i in range(queue)
        ),
    )  # fmt: skip
    detail = json.dumps({"title": "Some Track", "position": 3})
    audit_sql = (
        "INSERT INTO audit_log (guild_id, actor_id, origin, action, detail, at) VALUES (?, ?, 'web', ?, ?, ?)"
    )
    actions = ("add", "skip", "move")
    conn.executemany(
        audit_sql,
        ((1000 + i % GUILDS, 42 + i % 17, f"queue.{actions[i % 3]}", detail, stamp) for i in range(audit)),
    )
    conn.commit()
    conn.close()


def read_floor(path: Path) -> float:
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    for table in ("queue_entries", "audit_log"):
        for _ in conn.execute(f"SELECT * FROM {table}"):
            pass
    conn.close()
    return time.perf_counter() - started


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"setup failed, no row reported: {' '.join(argv[:4])}…: {result.stderr.strip()[-500:]}")
    return elapsed


async def admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queue", type=int, default=100_000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument(
        "--pg", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    zilean = [sys.executable, "-m", "zilean", "db", "copy"]
    rows: dict[str, list[float]] = {"to_pg": [], "to_sqlite": [], "read_floor": [], "pg_dump_restore": []}
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="zilean-bench-copy-") as tmp:
            base = Path(tmp)
            source = base / "source.db"
            build_source(source, args.queue, args.audit)
            names = [f"zilean_bench_{secrets.token_hex(4)}" for _ in range(2)]
            for name in names:
                asyncio.run(admin(args.pg, f'CREATE DATABASE "{name}"'))
            pg = [make_url(args.pg).set(database=name).render_as_string(False) for name in names]
            try:
                rows["read_floor"].append(read_floor(source))
                rows["to_pg"].append(timed([*zilean, f"sqlite:///{source}", pg[0]]))
                rows["to_sqlite"].append(timed([*zilean, pg[0], f"sqlite:///{base / 'back.db'}"]))
                dump = base / "copy.dump"
                started = time.perf_counter()
                timed(
                    [
                        "pg_dump",
                        "-Fc",
                        "-f",
                        str(dump),
                        "-d",
                        make_url(pg[0]).set(drivername="postgresql").render_as_string(False),
                    ]
                )
                timed(
                    [
                        "pg_restore",
                        "--no-owner",
                        "-d",
                        make_url(pg[1]).set(drivername="postgresql").render_as_string(False),
                        str(dump),
                    ]
                )
                rows["pg_dump_restore"].append(time.perf_counter() - started)
            finally:
                for name in names:
                    asyncio.run(admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in rows.items()), flush=True)
    total = args.queue + args.audit
    print(f"\n{total:,} rows ({args.queue:,} queue entries + {args.audit:,} audit rows), {args.runs} runs")
    print("| what | median s | min–max s | rows/s (median) |\n|---|---|---|---|")
    labels = {
        "to_pg": "`zilean db copy` SQLite → PostgreSQL",
        "to_sqlite": "`zilean db copy` PostgreSQL → SQLite",
        "read_floor": "baseline: read every source row (bare sqlite3)",
        "pg_dump_restore": "baseline: `pg_dump -Fc` + `pg_restore` of the same content",
    }
    for key, values in rows.items():
        median = statistics.median(values)
        print(
            f"| {labels[key]} | {median:.1f} | {min(values):.1f}–{max(values):.1f} | {total / median:,.0f} |"
        )


if __name__ == "__main__":
    main()
