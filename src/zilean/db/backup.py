"""`zilean db backup` / `db restore`: SQLite through its online backup API, PostgreSQL through
pg_dump -Fc / pg_restore. Both are safe while the bot runs and writes."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL

from zilean.db.engine import display_url, parse_url, sqlite_file
from zilean.db.errors import DatabaseError

log = logging.getLogger(__name__)

PREFIX = "zilean-"
SQLITE_SUFFIX, PG_SUFFIX = ".db", ".dump"
SUFFIXES = (SQLITE_SUFFIX, PG_SUFFIX)
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def sqlite_backup_path(path: Path, label: str) -> Path:
    """Where a one-off backup of the SQLite file `path` goes: beside it, labelled and stamped."""
    return path.with_name(f"{path.stem}.{label}-{_stamp()}{path.suffix or SQLITE_SUFFIX}")


def _pages(source: Path, destination: Path) -> None:
    """SQLite's backup API, every page in one step: one read transaction on `source`, so writers
    (WAL) carry on meanwhile and `destination` gets one consistent snapshot."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(destination, timeout=30)
        try:
            src.backup(dst, pages=-1)
        finally:
            dst.close()
    finally:
        src.close()


def _sqlite_copy(source: Path, destination: Path) -> None:
    if not source.is_file():
        raise DatabaseError(f"the SQLite database {source} does not exist")
    partial = destination.with_name(destination.name + ".partial")
    _pages(source, partial)
    os.replace(partial, destination)


async def sqlite_online_backup(source: Path, destination: Path) -> None:
    """A consistent copy of the SQLite database `source` at `destination`, taken while it is in use."""
    try:
        await asyncio.to_thread(_sqlite_copy, source, destination)
    except (sqlite3.Error, OSError) as exc:
        raise DatabaseError(f"cannot back up {source} to {destination}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    size: int
    pruned: list[Path]


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise DatabaseError(
            f"{name} is not installed; install the PostgreSQL client tools "
            "(Debian/Ubuntu: apt install postgresql-client, same major version as the server)"
        )
    return found


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    """libpq connection options for pg_dump/pg_restore; the password goes in the environment."""
    args = ["--host", url.host or "localhost", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return [*args, "--no-password"], env


async def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
        raise DatabaseError(f"{what} failed: {lines[0] if lines else f'exit code {proc.returncode}'}")


async def backup_database(url_text: str, directory: Path, *, keep: int, max_age_days: float) -> BackupResult:
    """Back up DATABASE_URL into `directory`, then prune old backups there."""
    url = parse_url(url_text)
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        source = sqlite_file(url.database)
        if source is None:
            raise DatabaseError(f"{display_url(url)} is not a file; there is nothing to back up")
        path = directory / f"{PREFIX}{_stamp()}{SQLITE_SUFFIX}"
        await sqlite_online_backup(source, path)
    else:
        path = directory / f"{PREFIX}{_stamp()}{PG_SUFFIX}"
        partial = path.with_name(path.name + ".partial")
        args, env = _pg_args(url)
        argv = [_pg_tool("pg_dump"), "--format=custom", *args, "--file", str(partial), url.database or ""]
        try:
            await _run(argv, env, "pg_dump")
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, path)
    pruned = await asyncio.to_thread(prune_backups, directory, keep=keep, max_age_days=max_age_days)
    log.info("backed up %s to %s", display_url(url), path)
    return BackupResult(path, (await asyncio.to_thread(path.stat)).st_size, pruned)


def prune_backups(directory: Path, *, keep: int, max_age_days: float) -> list[Path]:
    """Delete backups beyond the newest `keep` and those older than `max_age_days` (0 = no age
    limit); the newest backup always stays."""
    found = sorted(
        (p for p in directory.iterdir() if p.name.startswith(PREFIX) and p.suffix in SUFFIXES),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    cutoff = time.time() - max_age_days * 86_400
    doomed = [
        path
        for index, path in enumerate(found)
        if index > 0 and (index >= keep or (max_age_days > 0 and path.stat().st_mtime < cutoff))
    ]
    for path in doomed:
        path.unlink()
    return doomed


def _kind(path: Path) -> str:
    if not path.is_file():
        raise DatabaseError(f"the backup {path} does not exist")
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise DatabaseError(f"{path} is neither a SQLite database nor a pg_dump -Fc archive")


async def restore_database(url_text: str, backup: Path) -> None:
    """Replace the content of DATABASE_URL with the backup file `backup` (same backend)."""
    url = parse_url(url_text)
    kind, backend = await asyncio.to_thread(_kind, backup), url.get_backend_name()
    if kind != backend:
        raise DatabaseError(
            f"{backup} is a {kind} backup but DATABASE_URL is {backend}; restore it into a {kind} "
            "database, then move it with `zilean db copy SOURCE TARGET`"
        )
    if backend == "sqlite":
        target = sqlite_file(url.database)
        if target is None:
            raise DatabaseError(f"{display_url(url)} is not a file; restore needs an on-disk SQLite database")
        # The backup API writes page by page into the live file under its write lock: other
        # connections see either the old or the restored database, and -wal/-shm stay coherent.
        try:
            await asyncio.to_thread(_pages, backup, target)
        except (sqlite3.Error, OSError) as exc:
            raise DatabaseError(f"cannot restore {backup} into {target}: {exc}") from exc
        return
    args, env = _pg_args(url)
    argv = [
        _pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
        *args, "--dbname", url.database or "", str(backup),
    ]  # fmt: skip
    await _run(argv, env, "pg_restore")


