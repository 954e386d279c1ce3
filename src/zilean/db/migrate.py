"""Alembic, run programmatically on our async engine: upgrade, downgrade, current, head."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from zilean.db.engine import BEGIN_MODE_OPTION, create_engine, ping
from zilean.db.errors import DatabaseError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x7A696C65616E  # "zilean": PostgreSQL advisory lock held while migrating


def alembic_config() -> Config:
    """An Alembic Config pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision this version of the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


async def upgrade(url: str, revision: str = "head") -> str | None:
    """Migrate the database at `url` up to `revision`; returns the revision it is at afterwards."""
    await _run_command(url, lambda config: command.upgrade(config, revision))
    return await current(url)


async def downgrade(url: str, revision: str) -> str | None:
    """Migrate the database at `url` down to `revision` ("base" empties it)."""
    await _run_command(url, lambda config: command.downgrade(config, revision))
    return await current(url)


async def current(url: str) -> str | None:
    """The revision the database at `url` is at; None for an empty database."""
    engine = create_engine(url)
    try:
        await ping(engine)
        return await current_on(engine)
    finally:
        await engine.dispose()


async def current_on(engine: AsyncEngine) -> str | None:
    """The revision of the database behind an existing engine."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    try:
        async with engine.connect() as conn:
            return await conn.run_sync(read)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot read the schema revision: {_first_line(exc)}") from exc


async def ensure_current(engine: AsyncEngine, *, auto_migrate: bool) -> None:
    """Start-up check: migrate when AUTO_MIGRATE is on, else refuse a database not at head."""
    head = head_revision()
    if auto_migrate:
        await _run_command_on(engine, lambda config: command.upgrade(config, "head"))
        return
    at = await current_on(engine)
    if at != head:
        raise DatabaseError(
            f"the database schema is at revision {at or 'none'} but this version needs {head}; "
            "run `zilean db upgrade` (or set AUTO_MIGRATE=true)"
        )


async def _run_command(url: str, action: Callable[[Config], None]) -> None:
    engine = create_engine(url)
    try:
        await ping(engine)
        await _run_command_on(engine, action)
    finally:
        await engine.dispose()


async def _run_command_on(engine: AsyncEngine, action: Callable[[Config], None]) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config)

    sqlite = engine.dialect.name == "sqlite"
    try:
        async with engine.connect() as conn:
            if sqlite:
                # Batch migrations copy and DROP tables; with foreign keys on, dropping a parent
                # table would cascade-delete its children's rows. The pragma only works outside
                # a transaction, hence the raw connection before BEGIN.
                await _sqlite_pragma(conn, "PRAGMA foreign_keys=OFF")
            try:
                # One transaction for the whole run, taken with the write lock (SQLite) or the
                # migration advisory lock (PostgreSQL): two processes starting at once with
                # AUTO_MIGRATE run it once; the second finds the schema already at head.
                await conn.execution_options(**{BEGIN_MODE_OPTION: "IMMEDIATE"})
                async with conn.begin():
                    if not sqlite:
                        await conn.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
                    await conn.run_sync(run)
            finally:
                if sqlite:
                    await _sqlite_pragma(conn, "PRAGMA foreign_keys=ON")
    except CommandError as exc:
        raise DatabaseError(f"migration refused: {_first_line(exc)}") from exc
    except SQLAlchemyError as exc:
        raise DatabaseError(f"migration failed: {_first_line(exc)}") from exc


async def _sqlite_pragma(conn: AsyncConnection, pragma: str) -> None:
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    await raw.execute(pragma)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
