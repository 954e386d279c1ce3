"""A dashboard with a realistic guild in its database (no bot): for layout, accessibility and screenshots.

The bot's part is what it publishes (directory, player state, queue, history); with no bot process
the player shows the "bot offline" banner, which is part of what these tests look at.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from browser_kit import Served, free_socket, served

from zilean.config import Settings
from zilean.core.track import Track
from zilean.db import Database, open_database
from zilean.db.bus import Bus
from zilean.db.records import ChannelInfo, GuildInfo, MemberInfo, PlayerState
from zilean.web.app import create_app

GUILD = 4_200_000_000_000_000_001
OTHER_GUILD = 4_200_000_000_000_000_002
VOICE = 4_200_000_000_000_000_101
VIEWER = 81
FRIEND = 82
QUEUE_LENGTH = 120


def showcase_settings(database_url: str, base_url: str, tmp: Path, **more: Any) -> Settings:
    """Settings for a dashboard under test (no .env read)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "web_base_url": base_url,
        "secret_key": "browser-test-secret-key-long-enough-0123456789",
        "discord_client_id": "1",
        "discord_client_secret": "s",
        "log_dir": tmp / "logs",
        "lyrics_api_base": "",  # the lyrics panel never reaches lrclib.net from a test
        **more,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def publish(db: Database) -> None:
    """Two guilds, a voice channel with the viewer in it, something playing, a long queue, a history."""
    members = [
        MemberInfo(GUILD, VIEWER, "alice", "Alice", voice_channel_id=VOICE),
        MemberInfo(GUILD, FRIEND, "bob", "Bob"),
    ]
    await db.directory.replace_guild(
        GuildInfo(GUILD, "Friday Night Music Club"),
        [ChannelInfo(GUILD, VOICE, "voice", "Music")],
        [],
        members,
    )
    await db.directory.replace_guild(
        GuildInfo(OTHER_GUILD, "Study Room"), [], [], [MemberInfo(OTHER_GUILD, VIEWER, "alice", "Alice")]
    )
    playing = Track(
        "Clair de Lune (Suite bergamasque, L. 75)",
        "https://example.org/clair-de-lune",
        "http",
        301_000,
        artist="Claude Debussy",
        requester_id=FRIEND,
    )
    await db.player_state.save(
        PlayerState(
            guild_id=GUILD,
            track=playing,
            position_ms=83_000,
            anchor_at=datetime.now(UTC),
            volume=120,
            effects=("bassboost", "echo"),
            loop_mode="queue",
        )
    )
    titles = ["Gymnopédie No. 1", "Nocturne in E-flat major, Op. 9 No. 2", "The Swan", "Arabesque No. 1"]
    queue = [
        Track(f"{titles[i % len(titles)]} — take {i + 1}", f"local:q{i}.flac", "local", 150_000 + i * 1_000,
              requester_id=(VIEWER, FRIEND)[i % 2])
        for i in range(QUEUE_LENGTH)
    ]  # fmt: skip
    await db.queue.append(GUILD, queue)
    for title in ("Prelude in C major", "Canon in D", "Moonlight Sonata"):
        await db.history.record(GUILD, Track(title, f"local:{title}.flac", "local", 200_000))


@contextlib.asynccontextmanager
async def showcase_dashboard(tmp: Path, **settings: Any) -> AsyncIterator[Served]:
    """The dashboard on a fresh SQLite file with the showcase published, served on a random port."""
    url = f"sqlite+aiosqlite:///{tmp / 'showcase.db'}"
    db = await open_database(url, auto_migrate=True)
    bus = Bus(db)
    await bus.start()
    sock = free_socket()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        await publish(db)
        app = create_app(showcase_settings(url, base_url, tmp, **settings), db, bus)
        async with served(app, sock) as running:
            yield running
    finally:
        await bus.close()
        await db.close()
