"""Shared fixtures. The database ones, for any test that needs the database:

- ``db_url``: the DATABASE_URL (a ``str``) of a migrated database whose tables are empty at the
  start of the test. Parametrised over the backends, so a test using it runs twice, with ids
  ``[sqlite]`` and ``[postgresql]`` (the PostgreSQL one carries the ``postgres`` marker).
- ``database``: an open ``zilean.db.Database`` on ``db_url`` (closed after the test).
- ``empty_db_url``: the URL of a brand-new database with no tables at all, per test and per
  backend (for migration tests).
- ``scratch_postgres_url``: a brand-new PostgreSQL database without tables, per test;
  ``new_postgres_database()`` makes more of them.
- ``postgres_admin_url``: session-wide URL of the PostgreSQL server (for tests that create
  their own databases); skips or fails like the PostgreSQL-parametrised fixtures.

Where PostgreSQL comes from: ``TEST_DATABASE_URL`` if set (CI:
``postgresql://postgres@127.0.0.1:5432/test``); otherwise a throwaway cluster started with
``initdb``/``pg_ctl`` in a temporary directory on a free port; otherwise the PostgreSQL cases are
skipped with a notice in the summary, unless ``REQUIRE_POSTGRES=1``, which turns that into a
failure. Each test run works in its own database ``zilean_test_<random>``, created at the start
and dropped at the end, so concurrent runs never see each other's rows. The schema is migrated
once per run and per backend; the tables are emptied before each test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url

from pg_cluster import throwaway_cluster
from zilean.db import Database, open_database, upgrade
from zilean.db.schema import metadata

T = TypeVar("T")

# Hypothesis's per-example deadline (200 ms) is a timing threshold: on a busy machine it fails
# examples whose behaviour is right. Properties assert behaviour; pytest-timeout bounds a hang.
hypothesis_settings.register_profile("zilean", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("zilean")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]

_postgres_notice: list[str] = []


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a private event loop in a worker thread.

    Session fixtures use it so they never touch the event loops pytest-asyncio gives each test.
    """

    async def main() -> T:
        return await factory()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def _asyncpg_dsn(url: str) -> str:
    """asyncpg wants postgresql://, not SQLAlchemy's postgresql+asyncpg://."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"REQUIRE_POSTGRES=1 but PostgreSQL is unavailable: {reason}", pytrace=False)
    if not _postgres_notice:
        _postgres_notice.append(reason)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """The PostgreSQL server every PostgreSQL test uses (see the module docstring)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        try:
            run_async(lambda: _ping(url))
        except Exception as exc:
            _unavailable(f"TEST_DATABASE_URL={url} is not reachable ({type(exc).__name__}: {exc})")
        yield url
        return
    if not (shutil.which("initdb") and shutil.which("pg_ctl")):
        _unavailable("TEST_DATABASE_URL is not set and initdb/pg_ctl are not installed")
    base = Path(tempfile.mkdtemp(prefix="zilean-pg-"))
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, base, ignore_errors=True)
        try:
            admin = cleanup.enter_context(throwaway_cluster(base))
        except Exception as exc:
            _unavailable(f"could not start a throwaway cluster with initdb/pg_ctl: {exc}")
        yield admin


async def _ping(url: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=10)
    await conn.close()


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=10)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.contextmanager
def _scratch_postgres_database(admin_url: str, label: str) -> Iterator[str]:
    name = f"zilean_test_{label}{secrets.token_hex(4)}"
    run_async(lambda: _admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(admin_url, name)
    finally:
        run_async(lambda: _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def _postgres_run_url(postgres_admin_url: str) -> Iterator[str]:
    """This run's own PostgreSQL database, migrated to head once."""
    with _scratch_postgres_database(postgres_admin_url, "") as url:
        run_async(lambda: upgrade(url))
        yield url


@pytest.fixture(scope="session")
def _sqlite_run_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """This run's SQLite database file, migrated to head once."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'zilean.db'}"
    run_async(lambda: upgrade(url))
    return url


_EMPTY_ORDER = [table.name for table in reversed(metadata.sorted_tables)]


def _empty_sqlite(url: str) -> None:
    conn = sqlite3.connect(make_url(url).database or "")
    try:
        conn.executescript("".join(f"DELETE FROM {name};" for name in _EMPTY_ORDER))
    finally:
        conn.close()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated database with empty tables, once per backend (see the module docstring)."""
    if request.param == "sqlite":
        url: str = request.getfixturevalue("_sqlite_run_url")
        _empty_sqlite(url)
        return url
    url = request.getfixturevalue("_postgres_run_url")
    run_async(lambda: _admin(url, "".join(f"DELETE FROM {name};" for name in _EMPTY_ORDER)))
    return url


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """An open Database on `db_url`, closed after the test."""
    db = await open_database(db_url)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new database without any table, once per backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    admin: str = request.getfixturevalue("postgres_admin_url")
    with _scratch_postgres_database(admin, "empty_") as url:
        yield url


@pytest.fixture
def new_postgres_database(postgres_admin_url: str) -> Iterator[Callable[[], str]]:
    """Call it for the URL of a brand-new, empty PostgreSQL database; all are dropped after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda: stack.enter_context(_scratch_postgres_database(postgres_admin_url, "scratch_"))


@pytest.fixture
def scratch_postgres_url(new_postgres_database: Callable[[], str]) -> str:
    """A brand-new, empty PostgreSQL database (no tables), dropped after the test."""
    return new_postgres_database()


def _xdist_controller(config: pytest.Config) -> bool:
    """True in the process that hands tests to pytest-xdist's workers under `--dist loadscope`."""
    dist = config.getvalue("dist") if config.pluginmanager.hasplugin("xdist") else "no"
    return dist == "loadscope" and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if _xdist_controller(config):
        from xdist_order import ScopeTimer

        config.pluginmanager.register(ScopeTimer(config), "zilean-scope-timer")


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # before xdist's own, which would answer first
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadscope` with the longest module handed out first (see tests/xdist_order.py)."""
    if not _xdist_controller(config):
        return None
    from xdist_order import make_scheduler

    return make_scheduler(config, log)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say loudly when the PostgreSQL half of the database tests did not run."""
    # Under xdist the skips happen in the workers: the reason comes back in their reports.
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
        if reason.startswith("Skipped: PostgreSQL unavailable: ") and not _postgres_notice:
            _postgres_notice.append(reason.removeprefix("Skipped: PostgreSQL unavailable: "))
    for reason in _postgres_notice:
        terminalreporter.write_sep("!", "PostgreSQL tests were SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"  {reason}")
        terminalreporter.write_line(
            "  set TEST_DATABASE_URL=postgresql://user@host:5432/db or install initdb/pg_ctl; "
            "REQUIRE_POSTGRES=1 makes this a failure"
        )
