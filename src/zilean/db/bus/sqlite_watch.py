"""SQLite has no NOTIFY: notice other connections' commits with `PRAGMA data_version`.

Polling the bus tables every 50 ms cost the bot about 400 thread wake-ups a second, because
aiosqlite runs each call on a thread of its own and a poll takes a dozen calls. Each wake-up
competed with the audio sender for the GIL (BENCHMARKS.md, #5). `PRAGMA data_version` changes
whenever another connection has committed (sqlite.org/pragma.html#pragma_data_version). Asked of
a plain sqlite3 connection on the event loop, it takes about 3 µs and needs no thread. When it
changes, every waiter is woken to re-read the tables, exactly as a PostgreSQL NOTIFY would wake
them. Our own process's commits come through the pool's other connections and wake them too,
which is harmless. The consumers' slow safety poll backs the watch up.

The watch must go through SQLite and not read the `-shm` file itself. Closing any descriptor of a
file drops every POSIX lock this process holds on it, including SQLite's WAL locks. A first
version did that, and two processes then claimed the same bus command.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

from zilean.db.bus.signal import Wakeup
from zilean.db.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class SqliteChangeWatch:
    """Asks `PRAGMA data_version` every `interval_s`; wakes every waiter when it changes.

    `watching` is False while the database cannot be asked. Consumers then poll the tables at the
    short interval themselves, as they did before this watch existed.
    """

    def __init__(self, path: Path, wakeup: Wakeup, interval_s: float) -> None:
        self._path = path
        self._wakeup = wakeup
        self._interval_s = interval_s
        self._conn: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._last: int | None = None

    @property
    def watching(self) -> bool:
        return self._last is not None

    def start(self) -> None:
        if self._task is None:
            self._last = self._version()
            self._task = asyncio.create_task(self._run(), name="zilean-bus-sqlite-watch")

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _version(self) -> int | None:
        """The connection's data_version, or None when SQLite cannot answer right now."""
        try:
            if self._conn is None:
                # mode=rw: never create a database that is not there; timeout 0: never block the loop.
                uri = f"{self._path.absolute().as_uri()}?mode=rw"
                self._conn = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None)
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as exc:
            log.debug("cannot watch %s for commits: %s", self._path, exc)
            return None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            version = self._version()
            if version is None or version != self._last:
                self._wakeup.notify_all()  # a failed read may hide a commit: let everyone look
            self._last = version
