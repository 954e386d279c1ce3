"""PostgreSQL LISTEN on a dedicated asyncpg connection that reconnects and makes everyone catch up.

NOTIFY payloads carry only row ids; the listener turns them into in-process wake-ups. Consumers
always re-read the tables (rows with id > last seen, pending commands), so a notification lost
while the connection was down costs a delay, never a row: after each (re)connect every waiter
is woken to catch up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy.engine import URL

from zilean.db.bus.signal import CHANNELS, OUTCOMES, Wakeup
from zilean.db.tasks import cancel_and_wait

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
HEALTH_CHECK_S = 5.0  # an idle socket can die silently; a SELECT 1 finds out
RETRY_MAX_S = 2.0


def outcome_key(command_id: int) -> str:
    """The wake-up channel for one command's outcome."""
    return f"{OUTCOMES}:{command_id}"


def asyncpg_dsn(url: URL) -> str:
    """asyncpg wants postgresql://, not SQLAlchemy's postgresql+asyncpg://."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgListener:
    """Keeps one LISTEN connection open; `connected` tells whether NOTIFYs are arriving now."""

    def __init__(self, url: URL, wakeup: Wakeup, *, health_check_s: float = HEALTH_CHECK_S) -> None:
        self._dsn = asyncpg_dsn(url)
        self._wakeup = wakeup
        self._health_check_s = health_check_s
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None
        self.connected = asyncio.Event()
        self.connects = 0  # how many times a connection was (re)established

    async def start(self, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        """Start listening; returns once the first connection listens (or after `timeout_s`)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="zilean-bus-listener")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self.connected.wait()
        if not self.connected.is_set():
            log.warning("bus listener not connected yet; polling until it is")

    def server_pid(self) -> int | None:
        """The backend pid of the LISTEN connection (tests terminate it)."""
        conn = self._conn
        return None if conn is None or conn.is_closed() else int(conn.get_server_pid())

    async def close(self) -> None:
        """Stop listening and close the connection."""
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        import asyncpg  # here: SQLite processes (and `zilean send` on SQLite) never need it

        delay = 0.05
        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_S)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                for channel in CHANNELS:
                    await conn.add_listener(channel, self._on_notify)
                self._conn = conn
                self.connects += 1
                self.connected.set()
                delay = 0.05
                if self.connects > 1:
                    log.info("bus listener reconnected; catching up")
                self._wakeup.notify_all()  # anything sent while we were away is read now
                await self._watch(conn, lost)
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("bus listener connection problem: %s", exc or type(exc).__name__)
            finally:
                self.connected.clear()
                self._conn = None
                if conn is not None:
                    conn.terminate()
            # While disconnected, consumers fall back to polling; wake them so they notice.
            self._wakeup.notify_all()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def _watch(self, conn: Any, lost: asyncio.Event) -> None:
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._health_check_s):
                    await lost.wait()
            if lost.is_set() or conn.is_closed():
                break
            await conn.fetchval("SELECT 1", timeout=CONNECT_TIMEOUT_S)

    def _on_notify(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        if channel == OUTCOMES:
            for part in payload.split(","):
                with contextlib.suppress(ValueError):
                    self._wakeup.notify(outcome_key(int(part)))
            return
        self._wakeup.notify(channel)
