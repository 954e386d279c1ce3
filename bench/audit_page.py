"""One page of the audit log at 1,000,000 rows: GET /api/servers/{id}/audit from a `zilean web` process.

The scratch database (SQLite file or a new PostgreSQL database, migrated to head) gets 1,000,000 audit
rows, all in the benchmarked guild (the worst case for its indexes): 200 members, 15 actions, three
origins, spread over 90 days. Then, per scenario, 200 pages are fetched one after another (closed
loop) at random depths — each request a fresh keyset cursor into the log — and timed from send to full
response over HTTP, through the session, membership and settings-permission checks, the query, the
members' names and the JSON. Scenarios: newest page; deep pages; filtered by member, by action, by
origin, by member + origin; a 7-day window 30 days back.

Baseline in the same run: the same page fetched with OFFSET (what a naive "page N" does) at the same
depths, straight on the database. A row is refused when any request failed or a page came back empty.

usage: .venv/bin/python bench/audit_page.py [--rows 1000000] [--pages 200] [--runs 3]
       [--backends sqlite,postgresql] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _web import GUILD, USER, beat_forever, open_seeded, pct, scratch_database, web_process
from zilean.db.connector import utcnow
from zilean.db.schema import audit_log
from zilean.web.sessions import COOKIE_NAME

ACTIONS = ["play", "skip", "pause", "resume", "volume", "seek", "loop", "shuffle", "clear", "remove",
           "move", "stop", "settings", "permissions", "button_pause"]  # fmt: skip
ORIGINS = ["discord", "web", "cli"]
MEMBERS = [10_000 + i for i in range(200)]
BATCH = 20_000


async def fill(db: Any, rows: int) -> tuple[int, int]:
    """Insert `rows` audit rows for GUILD (oldest first, like a real log); returns (first id, last id)."""
    rng = random.Random(7)
    start = utcnow() - timedelta(days=90)
    step = timedelta(days=90) / rows
    pg = db.backend == "postgresql"
    done = 0
    while done < rows:
        n = min(BATCH, rows - done)
        values = [
            {
                "guild_id": GUILD,
                "actor_id": rng.choice(MEMBERS),
                "origin": rng.choices(ORIGINS, weights=(85, 12, 3))[0],
                "action": rng.choice(ACTIONS),
                "detail": {"n": done + i},
                "at": start + step * (done + i),
            }
            for i in range(n)
        ]
        async with db.connector.write() as conn:
            if pg:
                raw = (await conn.get_raw_connection()).driver_connection
                records = [
                    (v["guild_id"], v["actor_id"], v["origin"], v["action"], json.dumps(v["detail"]), v["at"])
                    for v in values
                ]
                await raw.copy_records_to_table(
                    "audit_log",
                    records=records,
                    columns=["guild_id", "actor_id", "origin", "action", "detail", "at"],
                )
            else:
                await conn.execute(insert(audit_log), values)
        done += n
    async with db.connector.read() as conn:
        low = (await conn.execute(select(audit_log.c.id).order_by(audit_log.c.id).limit(1))).scalar_one()
        high = (
            await conn.execute(select(audit_log.c.id).order_by(audit_log.c.id.desc()).limit(1))
        ).scalar_one()
    if db.backend == "postgresql":
        async with db.connector.write() as conn:
            from sqlalchemy import text

            await conn.execute(text("ANALYZE audit_log"))
    return int(low), int(high)


def scenarios(low: int, high: int, rng: random.Random) -> dict[str, Any]:
    """name → a function giving the query parameters of one page request."""
    deep = lambda: str(rng.randint(low + 1000, high))  # noqa: E731
    member = lambda: str(rng.choice(MEMBERS))  # noqa: E731
    since = (utcnow() - timedelta(days=30)).isoformat()
    until = (utcnow() - timedelta(days=23)).isoformat()
    return {
        "newest page": lambda: {},
        "deep page": lambda: {"cursor": deep()},
        "by member": lambda: {"member": member(), "cursor": deep()},
        "by action": lambda: {"action": rng.choice(ACTIONS), "cursor": deep()},
        "by origin (cli, 3 %)": lambda: {"origin": "cli", "cursor": deep()},
        "member + origin (web)": lambda: {"member": member(), "origin": "web", "cursor": deep()},
        "7-day window": lambda: {"since": since, "until": until},
    }


async def keyset_db_only(db: Any, queries: list[dict[str, str]]) -> list[float]:
    """The same keyset pages straight on the database (AuditRepo.page, the API's query), ms each."""
    from datetime import datetime

    from zilean.db.repos.audit import AuditFilter

    times = []
    for q in queries:
        where = AuditFilter(
            actor_id=int(q["member"]) if "member" in q else None,
            action=q.get("action"),
            origin=q.get("origin"),
            since=datetime.fromisoformat(q["since"]) if "since" in q else None,
            until=datetime.fromisoformat(q["until"]) if "until" in q else None,
        )
        started = time.perf_counter()
        await db.audit.page(GUILD, where, int(q["cursor"]) if "cursor" in q else None, 50)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def offset_baseline(db: Any, depths: list[int]) -> list[float]:
    """The same page by OFFSET at these depths (ms each), straight on the database."""
    times = []
    for depth in depths:
        stmt = select(audit_log).where(audit_log.c.guild_id == GUILD).order_by(audit_log.c.id.desc())
        started = time.perf_counter()
        async with db.connector.read() as conn:
            rows = (await conn.execute(stmt.offset(depth).limit(50))).all()
        times.append((time.perf_counter() - started) * 1000)
        if not rows:
            raise RuntimeError(f"OFFSET {depth} gave no rows")
    return times


async def run_backend(backend: str, args: argparse.Namespace) -> list[str]:
    lines = []
    async with scratch_database(backend, args.pg) as url:
        db, bus, cookie = await open_seeded(url)
        await db.permissions.set(GUILD, "user", USER, can_settings=True)  # the member may manage
        began = time.perf_counter()
        low, high = await fill(db, args.rows)
        print(f"[{backend}] {args.rows:,} rows in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        beats = asyncio.create_task(beat_forever(bus))
        try:
            with tempfile.TemporaryDirectory() as tmp, web_process(url, Path(tmp)) as web:
                async with httpx.AsyncClient(base_url=web.url, timeout=30) as client:
                    client.cookies.set(COOKIE_NAME, cookie)
                    path = f"/api/servers/{GUILD}/audit"
                    check = await client.get(path)
                    if check.status_code != 200 or len(check.json()["entries"]) != 50:
                        raise RuntimeError(
                            f"the audit page is not a full page: {check.status_code} {check.text[:200]}"
                        )
                    for run in range(1, args.runs + 1):
                        rng = random.Random(run)
                        for name, params in scenarios(low, high, rng).items():
                            times, empty = [], 0
                            for _ in range(20):  # warm-up
                                await client.get(path, params=params())
                            for _ in range(args.pages):
                                query = params()
                                started = time.perf_counter()
                                response = await client.get(path, params=query)
                                elapsed = (time.perf_counter() - started) * 1000
                                if response.status_code != 200:
                                    raise RuntimeError(
                                        f"{name}: {response.status_code} {response.text[:200]}"
                                    )
                                empty += not response.json()["entries"]
                                times.append(elapsed)
                            if empty > args.pages // 10:
                                raise RuntimeError(f"{name}: {empty} of {args.pages} pages were empty")
                            db_only = await keyset_db_only(db, [params() for _ in range(args.pages)])
                            lines.append(
                                f"| {backend} | {run} | {name} | {statistics.median(times):.1f} | "
                                f"{pct(times, 0.99):.1f} | {max(times):.1f} | "
                                f"{statistics.median(db_only):.1f} | {pct(db_only, 0.99):.1f} |"
                            )
                        floor = []
                        for _ in range(args.pages):
                            started = time.perf_counter()
                            if (await client.get("/healthz")).status_code != 200:
                                raise RuntimeError("/healthz failed")
                            floor.append((time.perf_counter() - started) * 1000)
                        lines.append(
                            f"| {backend} | {run} | baseline: GET /healthz (no session, no query) | "
                            f"{statistics.median(floor):.1f} | {pct(floor, 0.99):.1f} | {max(floor):.1f} "
                            "| – | – |"
                        )
                        depths = [rng.randint(0, high - low - 100) for _ in range(max(20, args.pages // 10))]
                        base = await offset_baseline(db, depths)
                        lines.append(
                            f"| {backend} | {run} | baseline: OFFSET at the same depths | – | – | – | "
                            f"{statistics.median(base):.1f} | {pct(base, 0.99):.1f} |"
                        )
                        print("\n".join(lines[-9:]), file=sys.stderr, flush=True)
        finally:
            beats.cancel()
            await bus.close()
            await db.close()
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg", default=os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    rows = [
        "| backend | run | scenario | API p50 ms | API p99 ms | API max ms | DB p50 ms | DB p99 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for backend in args.backends.split(","):
        rows += await run_backend(backend.strip(), args)
    print(f"load average after: {os.getloadavg()}", file=sys.stderr)
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
