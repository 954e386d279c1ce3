"""Engine construction: URL normalisation, SQLite pragmas, the PostgreSQL pool, one-line errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import text

from zilean.db import Database, DatabaseError, open_database
from zilean.db.engine import PG_MAX_OVERFLOW, PG_POOL_SIZE, create_engine, parse_url


@pytest.mark.parametrize(
    ("raw", "driver"),
    [
        ("postgresql://u:p@h/db", "postgresql+asyncpg"),
        ("postgres://u:p@h/db", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg"),
        ("sqlite:///x.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite"),
    ],
)
def test_urls_are_normalised_to_async_drivers(raw: str, driver: str) -> None:
    assert parse_url(raw).drivername == driver


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [("not a url", "is not a database URL"), ("mysql://u@h/db", "'mysql', which is not supported")],
)
def test_bad_urls_give_one_line(raw: str, fragment: str) -> None:
    with pytest.raises(DatabaseError) as caught:
        parse_url(raw)
    assert fragment in caught.value.message
    assert "\n" not in caught.value.message


def test_bad_url_error_never_shows_the_password() -> None:
    with pytest.raises(DatabaseError) as caught:
        parse_url("mysql://user:hunter2@host/db")
    assert "hunter2" not in caught.value.message


async def test_sqlite_gets_directory_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "z.db"
    db = await open_database(f"sqlite:///{path}")
    try:
        assert path.parent.is_dir()
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
    finally:
        await db.close()


def test_postgres_engine_is_pooled() -> None:
    engine = create_engine("postgresql://u@127.0.0.1/db")
    pool = engine.sync_engine.pool
    assert pool.size() == PG_POOL_SIZE  # type: ignore[attr-defined]
    assert PG_POOL_SIZE + PG_MAX_OVERFLOW == 20  # roadmap 3.5: min 5, max 20


async def test_database_opens_on_both_backends(db_url: str) -> None:
    db = await open_database(db_url)
    try:
        assert isinstance(db, Database)
        assert db.backend in ("sqlite", "postgresql")
        assert db_url.startswith(db.backend)
    finally:
        await db.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_postgres_is_one_clear_line() -> None:
    port = _closed_port()
    with pytest.raises(DatabaseError) as caught:
        await open_database(f"postgresql://postgres@127.0.0.1:{port}/x")
    assert caught.value.message == (
        f"cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused (is the server running?)"
    )


@pytest.mark.postgres
async def test_missing_postgres_database_and_role_are_named(postgres_admin_url: str) -> None:
    from sqlalchemy.engine import make_url

    server = make_url(postgres_admin_url)
    with pytest.raises(DatabaseError, match=r"database 'zilean_no_such_db' does not exist.*createdb"):
        await open_database(server.set(database="zilean_no_such_db").render_as_string(hide_password=False))
    with pytest.raises(DatabaseError, match="rejected user 'zilean_no_such_role'"):
        await open_database(server.set(username="zilean_no_such_role").render_as_string(hide_password=False))


async def test_file_in_place_of_the_data_directory(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a directory")
    with pytest.raises(DatabaseError, match="is a file, not a directory"):
        await open_database(f"sqlite:///{tmp_path / 'data' / 'z.db'}")


@pytest.mark.postgres
@pytest.mark.slow
async def test_wrong_postgres_password_is_named(tmp_path_factory: pytest.TempPathFactory) -> None:
    import shutil
    import tempfile

    from pg_cluster import throwaway_cluster

    if not (shutil.which("initdb") and shutil.which("pg_ctl")):
        pytest.skip("initdb/pg_ctl are not installed")
    base = Path(tempfile.mkdtemp(prefix="zilean-pg-pw-"))
    try:
        with throwaway_cluster(base, password="right-password") as url:
            wrong = url.replace("postgres@", "postgres:wrong-password@")
            with pytest.raises(DatabaseError) as caught:
                await open_database(wrong)
            port = url.rsplit(":", 1)[1].split("/")[0]
            assert caught.value.message == (
                f"PostgreSQL at 127.0.0.1:{port} refused the password for user 'postgres'; check DATABASE_URL"
            )
            assert "wrong-password" not in caught.value.message
            db = await open_database(url.replace("postgres@", "postgres:right-password@"))
            await db.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)
