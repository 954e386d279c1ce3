"""Bus fixtures: a Bus on the `database` fixture (both backends) with fast timings for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from bus_helpers import fast_options, open_bus

from zilean.db import Database
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
    async for instance in open_bus(db_url, fast_options()):
        yield instance
