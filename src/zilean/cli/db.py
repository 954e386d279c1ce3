"""`zilean db upgrade | current | downgrade | copy | backup | restore`: the database's life."""

from __future__ import annotations

import argparse
import sys

from zilean.cli import path_arg

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (see zilean.cli)
if TYPE_CHECKING:
    from collections.abc import Coroutine
    from typing import Any, TypeVar

    from zilean.config import Settings

    T = TypeVar("T")

# zilean.db (SQLAlchemy + Alembic) is imported inside the commands: `zilean --help` stays quick.


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="migrate or inspect the database (DATABASE_URL)")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db_sub.add_parser("upgrade", help="apply migrations (default: up to the newest)")
    up.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    up.set_defaults(func=_upgrade)
    cur = db_sub.add_parser("current", help="show the schema revision of the database")
    cur.set_defaults(func=_current)
    down = db_sub.add_parser("downgrade", help="revert migrations down to REVISION ('base' empties it)")
    down.add_argument("revision", help="target revision, e.g. 0001 or base")
    down.set_defaults(func=_downgrade)
    copy = db_sub.add_parser(
        "copy", help="copy every table to another database (SQLite ↔ PostgreSQL) and verify it"
    )
    copy.add_argument("source", metavar="SOURCE_URL", help="the database to copy from")
    copy.add_argument("target", metavar="TARGET_URL", help="the database to copy into (migrated first)")
    copy.add_argument("--force", action="store_true", help="replace the rows a non-empty target has")
    copy.add_argument("--batch", type=_positive, default=5000, help="rows per insert (default 5000)")
    copy.set_defaults(func=_copy, no_settings=True)
    backup = db_sub.add_parser("backup", help="back up DATABASE_URL (safe while the bot runs)")
    backup.add_argument("--dir", type=path_arg, default="backups", help="where (default: ./backups)")
    backup.add_argument("--keep", type=_positive, default=14, help="newest backups kept (default 14)")
    backup.add_argument(
        "--max-age-days", type=float, default=30.0, help="delete older backups (default 30; 0 = never)"
    )
    backup.set_defaults(func=_backup)
    restore = db_sub.add_parser("restore", help="replace DATABASE_URL's content with a backup file")
    restore.add_argument("file", type=path_arg, metavar="FILE", help="a file made by `zilean db backup`")
    restore.add_argument("--force", action="store_true", help="even while a bot runs on the database")
    restore.set_defaults(func=_restore)


def _run_async(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio  # here, not at the top: `zilean --help` imports this module

    return asyncio.run(coro)


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _describe(revision: str | None) -> str:
    from zilean.db import head_revision

    if revision is None:
        return "none (empty database)"
    return f"{revision} (head)" if revision == head_revision() else revision


def _upgrade(args: argparse.Namespace, settings: Settings | None) -> int:
    from zilean.db import upgrade
    from zilean.db.engine import display_url, parse_url

    assert settings is not None
    where = display_url(parse_url(settings.database_url))
    revision = _run_async(upgrade(settings.database_url, args.revision))
    print(f"{where}: at revision {_describe(revision)}")
    return 0


def _current(args: argparse.Namespace, settings: Settings | None) -> int:
    from zilean.db import current
    from zilean.db.engine import display_url, parse_url

    assert settings is not None
    where = display_url(parse_url(settings.database_url))
    revision = _run_async(current(settings.database_url))
    print(f"{where}: at revision {_describe(revision)}")
    return 0


def _downgrade(args: argparse.Namespace, settings: Settings | None) -> int:
    from zilean.db import downgrade
    from zilean.db.engine import display_url, parse_url

    assert settings is not None
    where = display_url(parse_url(settings.database_url))
    revision = _run_async(downgrade(settings.database_url, args.revision))
    print(f"{where}: at revision {_describe(revision)}")
    return 0


class _TableProgress:
    """One line per table on stderr: redrawn in place on a terminal, printed once when done otherwise."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()

    def __call__(self, table: str, done: int, total: int) -> None:
        if not self.live and done < total:
            return
        width = 30
        filled = width if total == 0 else width * done // total
        line = f"  {table:<18} [{'#' * filled}{'.' * (width - filled)}] {done:>9,}/{total:,} rows"
        end = "\n" if done >= total else ""
        print(("\r" if self.live else "") + line, end=end, file=sys.stderr, flush=True)


def _copy(args: argparse.Namespace, settings: Settings | None) -> int:
    from zilean.db.copy import copy_database
    from zilean.db.engine import display_url, parse_url

    source, target = display_url(parse_url(args.source)), display_url(parse_url(args.target))
    print(f"copying {source} → {target}", file=sys.stderr)
    report = _run_async(
        copy_database(args.source, args.target, force=args.force, batch=args.batch, progress=_TableProgress())
    )
    if report.backup:
        print(f"backed up the source first to {report.backup}")
    print(
        f"ok: copied {report.rows:,} rows in {len(report.tables)} tables in {report.seconds:.1f} s; "
        "row counts and checksums of every table match the source"
    )
    return 0


def _backup(args: argparse.Namespace, settings: Settings | None) -> int:
    from zilean.db.backup import backup_database

    assert settings is not None
    result = _run_async(
        backup_database(settings.database_url, args.dir, keep=args.keep, max_age_days=args.max_age_days)
    )
    print(f"backed up to {result.path} ({result.size:,} bytes)")
    for path in result.pruned:
        print(f"pruned {path}")
    return 0


def _restore(args: argparse.Namespace, settings: Settings | None) -> int:
    from zilean.core.errors import ZileanError
    from zilean.db import current, head_revision
    from zilean.db.backup import restore_database
    from zilean.db.copy import running_bot
    from zilean.db.engine import create_engine, display_url, parse_url

    assert settings is not None
    where = display_url(parse_url(settings.database_url))

    async def restore() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            running = await running_bot(engine)
        finally:
            await engine.dispose()
        if running and not args.force:
            raise ZileanError(f"a bot is running on {where} ({running}); stop it first or pass --force")
        await restore_database(settings.database_url, args.file)
        return await current(settings.database_url)

    revision = _run_async(restore())
    print(f"restored {args.file} into {where}: at revision {_describe(revision)}")
    if revision != head_revision():
        print("run `zilean db upgrade` before starting the bot", file=sys.stderr)
    return 0
