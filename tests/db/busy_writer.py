"""A writer process for backup tests: commits forever, each transaction appending one queue entry
and setting the guild's idle_timeout_s to the queue's new length — so a torn snapshot shows as a
mismatch. Prints "ready" after the first commit; on SIGTERM finishes its transaction and exits.

usage: python busy_writer.py DATABASE_URL GUILD_ID
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from datetime import UTC, datetime

import asyncpg
from sqlalchemy.engine import make_url

UPSERT = (
    "INSERT INTO guild_settings (guild_id, idle_timeout_s, updated_at) VALUES ({p1}, {p2}, {p3}) "
    "ON CONFLICT (guild_id) DO UPDATE SET idle_timeout_s = excluded.idle_timeout_s"
)
APPEND = (
    "INSERT INTO queue_entries (guild_id, position, title, url, source, added_at) "
    "VALUES ({p1}, {p2}, {p3}, 'https://example.org/a.mp3', 'direct', {p4})"
)


# Set by SIGTERM and checked between transactions. Raising from the handler instead could land inside
# asyncpg's protocol callbacks and leave the cancelled query waiting forever (the process never exits).
stopping = False


def stop(*_: object) -> None:
    global stopping
    stopping = True


def run_sqlite(path: str, guild: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    n = 0
    while not stopping:
        n += 1
        conn.execute("BEGIN IMMEDIATE")
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        conn.execute(APPEND.format(p1="?", p2="?", p3="?", p4="?"), (guild, n * 1024, f"track {n} ✓", now))
        conn.execute(UPSERT.format(p1="?", p2="?", p3="?"), (guild, n, now))
        conn.execute("COMMIT")
        if n == 1:
            print("ready", flush=True)


async def run_postgres(dsn: str, guild: int) -> None:
    conn = await asyncpg.connect(dsn)
    n = 0
    while not stopping:
        n += 1
        now = datetime.now(UTC)
        async with conn.transaction():
            await conn.execute(
                APPEND.format(p1="$1", p2="$2", p3="$3", p4="$4"), guild, n * 1024, f"track {n} ✓", now
            )
            await conn.execute(UPSERT.format(p1="$1", p2="$2", p3="$3"), guild, n, now)
        if n == 1:
            print("ready", flush=True)
    await conn.close()


def main() -> None:
    signal.signal(signal.SIGTERM, stop)
    url, guild = make_url(sys.argv[1]), int(sys.argv[2])
    if url.get_backend_name() == "sqlite":
        run_sqlite(url.database or "", guild)
    else:
        asyncio.run(run_postgres(url.set(drivername="postgresql").render_as_string(False), guild))


if __name__ == "__main__":
    main()
