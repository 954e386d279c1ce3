"""The database layer: the only place with SQL. Build one Database at start-up and pass it down.

db = await open_database(settings.database_url, auto_migrate=settings.auto_migrate)
await db.queue.append(guild_id, tracks)
await db.close()
"""

from zilean.db.database import Database, open_database
from zilean.db.errors import DatabaseError, InvalidSettingError
from zilean.db.records import (
    AuditEntry,
    ChannelInfo,
    GuildInfo,
    GuildSettings,
    HistoryEntry,
    MemberInfo,
    PermissionRule,
    PlayerState,
    QueueEntry,
    QueueSummary,
    RoleInfo,
)

# Alembic is imported on first use of these, not with zilean.db: `zilean send` and `status` never
# migrate, and start quicker without it.


async def upgrade(url: str, revision: str = "head") -> str | None:
    """Migrate the database at `url` up to `revision`; returns the revision it is at afterwards."""
    from zilean.db import migrate

    return await migrate.upgrade(url, revision)


async def downgrade(url: str, revision: str) -> str | None:
    """Migrate the database at `url` down to `revision` ("base" empties it)."""
    from zilean.db import migrate

    return await migrate.downgrade(url, revision)


async def current(url: str) -> str | None:
    """The revision the database at `url` is at; None for an empty database."""
    from zilean.db import migrate

    return await migrate.current(url)


def head_revision() -> str:
    """The newest revision this version of the code knows."""
    from zilean.db import migrate

    return migrate.head_revision()


__all__ = [
    "AuditEntry",
    "ChannelInfo",
    "Database",
    "DatabaseError",
    "GuildInfo",
    "GuildSettings",
    "HistoryEntry",
    "InvalidSettingError",
    "MemberInfo",
    "PermissionRule",
    "PlayerState",
    "QueueEntry",
    "QueueSummary",
    "RoleInfo",
    "current",
    "downgrade",
    "head_revision",
    "open_database",
    "upgrade",
]
