"""Database failures, each turned into one line that says what is wrong and how to fix it."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

from sqlalchemy.engine import URL

from zilean.core.errors import ZileanError


class DatabaseError(ZileanError):
    """The database cannot be reached, opened or migrated."""


class InvalidSettingError(ZileanError):
    """A guild setting or permission value is out of range."""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and SQLAlchemy's wrapped DBAPI error."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for nxt in (current.__cause__, current.__context__, getattr(current, "orig", None)):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _pg_address(url: URL) -> str:
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def describe_connect_error(url: URL, exc: BaseException) -> str:
    """One user-safe line for a failure to connect to the database at `url` (never the password)."""
    if url.get_backend_name() == "sqlite":
        return _describe_sqlite(url, exc)
    where = _pg_address(url)
    for err in _chain(exc):
        name = type(err).__name__
        if name == "InvalidPasswordError":
            return f"PostgreSQL at {where} refused the password for user {url.username!r}; check DATABASE_URL"
        if name == "InvalidCatalogNameError":
            return (
                f"PostgreSQL database {url.database!r} does not exist at {where}; "
                f"create it with: createdb {url.database}"
            )
        if name == "InvalidAuthorizationSpecificationError":
            return f"PostgreSQL at {where} rejected user {url.username!r}: {err}"
        if isinstance(err, socket.gaierror):
            return f"cannot reach PostgreSQL at {where}: unknown host {url.host!r}"
        if isinstance(err, ConnectionRefusedError) or (
            isinstance(err, OSError) and err.errno == errno.ECONNREFUSED
        ):
            return f"cannot reach PostgreSQL at {where}: connection refused (is the server running?)"
        if isinstance(err, TimeoutError):
            return f"cannot reach PostgreSQL at {where}: timed out"
        if isinstance(err, OSError) and err.strerror:
            return f"cannot reach PostgreSQL at {where}: {err.strerror.lower()}"
    return f"cannot connect to PostgreSQL at {where}: {_first_line(exc)}"


def _describe_sqlite(url: URL, exc: BaseException) -> str:
    path = url.database or ":memory:"
    for err in _chain(exc):
        text = str(err).lower()
        if "readonly" in text or "read-only" in text:
            return f"SQLite database {path} is read-only; make it and its directory writable"
        if "unable to open" in text:
            return f"cannot open SQLite database {path}; check that its directory exists and is writable"
    return f"cannot open SQLite database {path}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
