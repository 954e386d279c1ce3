"""`zilean db upgrade | current | downgrade`: apply and inspect the schema migrations."""

from __future__ import annotations

import argparse
import asyncio

from zilean.config import Settings

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
    revision = asyncio.run(upgrade(settings.database_url, args.revision))
    print(f"{where}: at revision {_describe(revision)}")
    return 0


def _current(args: argparse.Namespace, settings: Settings | None) -> int:
    from zilean.db import current
    from zilean.db.engine import display_url, parse_url

    assert settings is not None
    where = display_url(parse_url(settings.database_url))
    revision = asyncio.run(current(settings.database_url))
    print(f"{where}: at revision {_describe(revision)}")
    return 0


def _downgrade(args: argparse.Namespace, settings: Settings | None) -> int:
    from zilean.db import downgrade
    from zilean.db.engine import display_url, parse_url

    assert settings is not None
    where = display_url(parse_url(settings.database_url))
    revision = asyncio.run(downgrade(settings.database_url, args.revision))
    print(f"{where}: at revision {_describe(revision)}")
    return 0
