"""Shared by the dashboard benchmarks: a scratch database seeded like a live guild, a `zilean web`
process on a free port, and a session cookie for a member."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from zilean.core.track import Track
from zilean.db import Database, open_database, upgrade
from zilean.db.bus import Bus
from zilean.db.connector import utcnow
from zilean.db.records import GuildInfo, MemberInfo, PlayerState
from zilean.web.crypto import digest, random_token

GUILD = 1_180_000_000_000_000_001
USER = 1_180_000_000_000_000_777
SECRET = "bench-secret-key-0123456789abcdef0123456789"
BOT_PROCESS = "bench-bot"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def scratch_database(backend: str, pg_admin: str) -> AsyncIterator[str]:
    """A migrated, empty database (a temp SQLite file or a new PostgreSQL database), dropped after."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="zilean-bench-") as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'web.db'}"
            await upgrade(url)
            yield url
        return
    name = f"zilean_bench_{secrets.token_hex(4)}"
    dsn = make_url(pg_admin).set(drivername="postgresql")
    admin = dsn.render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = (
        make_url(pg_admin)
        .set(drivername="postgresql+asyncpg", database=name)
        .render_as_string(hide_password=False)
    )
    try:
        await upgrade(url)
        yield url
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def seed(db: Database) -> str:
    """A guild with the user as member, a playing track, a 50-entry queue; returns a session cookie value."""
    members = [MemberInfo(GUILD, USER, "bench", "Bench User", voice_channel_id=5)]
    await db.directory.replace_guild(GuildInfo(GUILD, "Bench Guild"), [], [], members)
    track = Track(title="Bench Tone", url="https://example.com/t", source="direct", duration_ms=180_000)
    await db.player_state.save(
        PlayerState(guild_id=GUILD, voice_channel_id=5, track=track, position_ms=0, anchor_at=utcnow())
    )
    tracks = [
        Track(title=f"T{i}", url=f"https://e.com/{i}", source="direct", duration_ms=1000) for i in range(50)
    ]
    await db.queue.append(GUILD, tracks)
    await db.users.upsert(USER, "bench", None)
    raw = random_token(128)
    from datetime import timedelta

    await db.web_sessions.create(digest(raw), USER, random_token(128), utcnow() + timedelta(days=7))
    return raw


async def beat_forever(bus: Bus) -> None:
    """Heartbeats of a bot process that owns every guild (so the bot reads as online)."""
    started = utcnow()
    while True:
        await bus.heartbeats.beat(BOT_PROCESS, [0], 1, started)
        await asyncio.sleep(2.0)


@dataclass
class WebProcess:
    url: str
    proc: subprocess.Popen[bytes]

    def rss_kib(self) -> int:
        """The server process's resident memory."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def web_process(database_url: str, tmp: Path, **env_extra: str) -> Iterator[WebProcess]:
    """`zilean web` on a free port, ready to answer; terminated after."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_", "WEB_"))},
        "DATABASE_URL": database_url,
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(port),
        "WEB_BASE_URL": base,
        "SECRET_KEY": SECRET,
        "AUTO_MIGRATE": "false",
        "LOG_DIR": str(tmp / "logs"),
        "LOG_LEVEL": "WARNING",
        **env_extra,
    }
    errors_path = tmp / "web.stderr"
    errors = errors_path.open("wb")  # a file, not a pipe: a full pipe would stall the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "zilean", "web"], env=env, stdout=subprocess.DEVNULL, stderr=errors, cwd=tmp
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"zilean web exited: {errors_path.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("zilean web did not start within 60 s")
            time.sleep(0.2)
        yield WebProcess(base, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        errors.close()
        logged = errors_path.read_text(errors="replace")
        if logged.strip():
            lines = logged.splitlines()
            print(f"(zilean web logged {len(lines)} lines; the last: {lines[-1][:200]})")


async def open_seeded(url: str) -> tuple[Database, Bus, str]:
    db = await open_database(url)
    bus = Bus(db)
    await bus.start()
    return db, bus, await seed(db)
