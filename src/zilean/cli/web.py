"""`zilean web`: the dashboard alone (production: one or more processes behind nginx, one database)."""

from __future__ import annotations

import argparse

from zilean.cli.run import prepare

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (see zilean.cli)
if TYPE_CHECKING:
    from zilean.config import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    web = sub.add_parser("web", help="run the web dashboard (without the bot)")
    web.add_argument("--host", help="address to listen on (default WEB_HOST)")
    web.add_argument("--port", type=int, help="port to listen on (default WEB_PORT)")
    web.set_defaults(func=_web)


def _web(args: argparse.Namespace, settings: Settings | None) -> int:
    assert settings is not None
    prepare(args, settings, "web.log")
    import asyncio

    asyncio.run(serve_dashboard_alone(settings, host=args.host, port=args.port))
    return 0


async def serve_dashboard_alone(
    settings: Settings, *, host: str | None = None, port: int | None = None
) -> None:
    """Open the database and a maintaining bus, serve the dashboard until SIGINT/SIGTERM."""
    import asyncio
    import contextlib
    import signal

    from zilean.db import open_database
    from zilean.db.bus import Bus
    from zilean.web.app import create_app
    from zilean.web.server import DashboardServer

    db = await open_database(settings.database_url, auto_migrate=settings.auto_migrate)
    bus = Bus(db)
    try:
        # Alone, the web expires commands for offline bots and prunes old rows itself.
        await bus.start(maintain=True)
        server = DashboardServer(create_app(settings, db, bus), settings, host=host, port=port)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, server.stop)
        print(f"Dashboard listening on {server.url} (open {settings.web_base_url})", flush=True)
        await server.serve()
    finally:
        await bus.close()
        await db.close()
