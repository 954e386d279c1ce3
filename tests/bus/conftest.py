"""Bus fixtures: a Bus on the `database` fixture (both backends) with fast timings for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from bus_helpers import fast_options

from zilean.db import Database, open_database
from zilean.db.bus import Bus


@pytest.fixture
async def bus(database: Database) -> AsyncIterator[Bus]:
    """A started Bus on the test database."""
    instance = Bus(database, fast_options())
    await instance.start()
    try:
        yield instance
    finally:
        await instance.close()


@pytest.fixture
async def other_bus(db_url: str) -> AsyncIterator[Bus]:
    """A second Bus on its own engine: shares no in-process signal with `bus` (another process's view)."""
    db = await open_database(db_url)
    instance = Bus(db, fast_options())
    await instance.start()
    try:
        yield instance
    finally:
        await instance.close()
        await db.close()
