"""The database layer: the only place with SQL. Build one Database at start-up and pass it down.

db = await open_database(settings.database_url, auto_migrate=settings.auto_migrate)
await db.queue.append(guild_id, tracks)
await db.close()
"""

from zilean.db.database import Database, open_database
from zilean.db.errors import DatabaseError, InvalidSettingError
from zilean.db.migrate import current, downgrade, head_revision, upgrade
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
