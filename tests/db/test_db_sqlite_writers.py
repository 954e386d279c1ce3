"""A burst of SQLite writers in one process queues in order instead of starving past busy_timeout."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from zilean.db.connector import Connector
from zilean.db.engine import create_engine

WRITERS = 30
HOLD_S = 0.03  # each transaction awaits something while it holds the write lock
BUSY_MS = 200  # far less than WRITERS * HOLD_S: unordered waiters would give up


async def test_burst_of_writers_with_awaits_inside_all_commit(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'burst.db'}")

    @event.listens_for(engine.sync_engine, "connect")
    def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_MS}")

    try:
        first, second = Connector(engine), Connector(engine)  # two stores over one engine share the turn
        async with first.write() as conn:
            await conn.execute(text("CREATE TABLE hits (n INTEGER)"))

        async def write(connector: Connector, n: int) -> None:
            async with connector.write() as conn:
                await conn.execute(text("INSERT INTO hits VALUES (:n)"), {"n": n})
                await asyncio.sleep(HOLD_S)

        results = await asyncio.gather(
            *(write(first if n % 2 else second, n) for n in range(WRITERS)), return_exceptions=True
        )
        assert [r for r in results if r is not None] == []
        async with first.read() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM hits"))).scalar() == WRITERS
    finally:
        await engine.dispose()
