"""Database: the engine and every repository, built once at start-up and passed down."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from zilean.db.connector import Connector
from zilean.db.engine import create_engine, display_url, ping
from zilean.db.ordering import DEFAULT_GAP
from zilean.db.repos.audit import AuditRepo
from zilean.db.repos.directory import DirectoryRepo
from zilean.db.repos.eq_presets import EqPresetsRepo
from zilean.db.repos.history import HistoryRepo
from zilean.db.repos.permissions import PermissionsRepo
from zilean.db.repos.player_state import PlayerStateRepo
from zilean.db.repos.queue import QueueRepo
from zilean.db.repos.settings import GuildSettingsRepo
from zilean.db.repos.stats import StatsRepo
from zilean.db.repos.web_auth import LoginStateRepo, UserRepo, WebSessionRepo

log = logging.getLogger(__name__)


class Database:
    """An open database: `db.queue`, `db.guild_settings`, … ; `await db.close()` when done."""

    def __init__(self, engine: AsyncEngine, *, queue_gap: int = DEFAULT_GAP) -> None:
        self.engine = engine
        self.connector = Connector(engine)
        self.guild_settings = GuildSettingsRepo(self.connector)
        self.eq_presets = EqPresetsRepo(self.connector)
        self.queue = QueueRepo(self.connector, gap=queue_gap)
        self.player_state = PlayerStateRepo(self.connector)
        self.history = HistoryRepo(self.connector)
        self.permissions = PermissionsRepo(self.connector)
        self.audit = AuditRepo(self.connector)
        self.stats = StatsRepo(self.connector)
        self.directory = DirectoryRepo(self.connector)
        self.users = UserRepo(self.connector)
        self.web_sessions = WebSessionRepo(self.connector)
        self.login_states = LoginStateRepo(self.connector)

    @property
    def backend(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self.connector.dialect

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


async def open_database(
    url: str, *, auto_migrate: bool | None = None, queue_gap: int = DEFAULT_GAP
) -> Database:
    """Connect to DATABASE_URL (one-line DatabaseError if that fails) and check the schema.

    auto_migrate True: upgrade to head (start-up with AUTO_MIGRATE); False: refuse a database that
    is not at head; None: no schema check (tests and tools that manage migrations themselves).
    """
    engine = create_engine(url)
    try:
        await ping(engine)
        if auto_migrate is not None:
            from zilean.db.migrate import ensure_current  # Alembic only when the schema is checked

            await ensure_current(engine, auto_migrate=auto_migrate)
    except BaseException:
        await engine.dispose()
        raise
    log.info("database ready: %s", display_url(engine.url))
    return Database(engine, queue_gap=queue_gap)
