"""Build the AsyncEngine: URL checks, SQLite pragmas, the PostgreSQL pool, one-line connect errors."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from zilean.core.redact import redact_url
from zilean.db.errors import DatabaseError, describe_connect_error

log = logging.getLogger(__name__)

SUPPORTED = "sqlite+aiosqlite:///./data/zilean.db or postgresql+asyncpg://user:password@host:5432/db"
SQLITE_BUSY_TIMEOUT_MS = 5_000
# Roadmap 3.5: keep 5 connections, allow bursts to 20; drop connections older than 30 min.
PG_POOL_SIZE = 5
PG_MAX_OVERFLOW = 15
PG_CONNECT_TIMEOUT_S = 10
# Execution option read by the SQLite "begin" hook: writers take the write lock up front.
BEGIN_MODE_OPTION = "zilean_sqlite_begin"


def parse_url(raw: str) -> URL:
    """DATABASE_URL as a SQLAlchemy URL on an async driver; postgres:// and postgresql:// mean asyncpg."""
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise DatabaseError(
            f"DATABASE_URL {_redact(raw)!r} is not a database URL; use e.g. {SUPPORTED}"
        ) from None
    if url.drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        return url.set(drivername="postgresql+asyncpg")
    if url.drivername in ("sqlite", "sqlite+aiosqlite"):
        return url.set(drivername="sqlite+aiosqlite")
    raise DatabaseError(f"DATABASE_URL uses {url.drivername!r}, which is not supported; use e.g. {SUPPORTED}")


def _redact(raw: str) -> str:
    """The URL without a password, for messages (a malformed one too)."""
    return redact_url(raw.strip())


def display_url(url: URL) -> str:
    """The URL as shown to users: never the password."""
    return url.render_as_string(hide_password=True)


def create_engine(
    raw_url: str, *, pool_size: int = PG_POOL_SIZE, max_overflow: int = PG_MAX_OVERFLOW
) -> AsyncEngine:
    """An AsyncEngine for DATABASE_URL; SQLite gets its directory created and WAL/busy/foreign-key pragmas."""
    url = parse_url(raw_url)
    if url.get_backend_name() == "sqlite":
        _prepare_sqlite_path(url)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _install_sqlite_hooks(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"timeout": PG_CONNECT_TIMEOUT_S},
    )


async def ping(engine: AsyncEngine) -> None:
    """Open one connection and run SELECT 1, or raise a one-line DatabaseError."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise DatabaseError(describe_connect_error(engine.url, exc)) from exc


def sqlite_file(database: str | None) -> Path | None:
    """The file of an on-disk SQLite database (a URL's `database`); None for in-memory and URI ones."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _prepare_sqlite_path(url: URL) -> None:
    database = sqlite_file(url.database)
    if database is None:
        return
    directory = database.expanduser().resolve().parent
    if directory.exists() and not directory.is_dir():
        raise DatabaseError(f"the data directory {directory} is a file, not a directory; fix DATABASE_URL")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = (
            "permission denied" if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else exc.strerror
        )
        raise DatabaseError(f"cannot create the data directory {directory}: {reason}") from None
    # SQLite also writes the -wal and -shm files beside the database, so the directory must be writable.
    if not os.access(directory, os.W_OK):
        raise DatabaseError(
            f"the data directory {directory} is read-only; SQLite needs to write {database.name} "
            "and its -wal file there (fix the permissions or point DATABASE_URL elsewhere)"
        )


def _enable_wal(cursor: Any) -> None:
    """Switch to WAL, retrying while another process has the file locked.

    Two processes opening a new database at once can find it locked, and SQLite's busy handler does
    not cover this lock (it would risk a deadlock), so the switch fails at once with "database is
    locked". Seen in CI, in `test_two_processes_starting_at_once_migrate_once`.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the sqlite3 module so BEGIN (and DDL) is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            _enable_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; fsync only at checkpoints
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE for writers: a deferred read-then-write transaction cannot wait for the lock.
        mode = conn.get_execution_options().get(BEGIN_MODE_OPTION, "DEFERRED")
        if mode not in ("DEFERRED", "IMMEDIATE"):
            raise ValueError(f"unknown SQLite begin mode {mode!r}")
        conn.exec_driver_sql(f"BEGIN {mode}")
