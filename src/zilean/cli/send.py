"""`zilean send GUILD_ID ACTION [ARGS…] --as USER_ID`: queue a command as the dashboard does."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (see zilean.cli)
if TYPE_CHECKING:
    from zilean.config import Settings

# zilean.db is imported inside the command: `zilean --help` stays quick.

EXIT_DONE = 0
EXIT_NOT_DONE = 2


# The names of zilean.db.bus.actions.ACTIONS (a test keeps them equal), listed without importing it.
ACTION_NAMES = (
    "play pause resume skip previous stop seek volume effects loop shuffle clear remove move join leave "
    "settings permission"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    send = sub.add_parser(
        "send",
        help="send a command to the bot through the database, as the dashboard does",
        description="Queue a command for the bot that runs the guild, wait for it and print the outcome "
        "(exit 0 done, 2 refused/failed/expired). Examples: send 123 play never gonna --as 42; "
        "send 123 seek 1:30 --as 42; send 123 loop queue --as 42.",
        epilog=f"actions: {ACTION_NAMES}",
    )
    send.add_argument("guild_id", type=int, metavar="GUILD_ID")
    send.add_argument("action", metavar="ACTION")
    send.add_argument("args", nargs="*", metavar="ARGS", help="the action's arguments")
    send.add_argument(
        "--as",
        dest="user_id",
        type=int,
        required=True,
        metavar="USER_ID",
        help="the Discord user the command runs as (their permissions apply)",
    )
    send.add_argument("--no-wait", action="store_true", help="queue it and exit without waiting")
    send.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds to wait for the outcome (default 30)",
    )
    send.set_defaults(func=_send)


def _send(args: argparse.Namespace, settings: Settings | None) -> int:
    import asyncio

    from zilean.db.bus.actions import payload_from_args

    assert settings is not None
    payload = payload_from_args(args.action, args.args)
    return asyncio.run(_run(settings, args, payload))


async def _run(settings: Settings, args: argparse.Namespace, payload: dict[str, object]) -> int:
    from zilean.db import open_database
    from zilean.db.bus import Bus

    # No schema check (that needs Alembic and a write lock): a client never migrates; the bot does.
    db = await open_database(settings.database_url)
    bus = Bus(db)
    try:
        await bus.start()
        command = await bus.submit(args.guild_id, args.action, payload, user_id=args.user_id, origin="cli")
        if args.no_wait:
            print(f"queued: command {command.id}")
            return EXIT_DONE
        command = await bus.wait(command.id, args.timeout)
        if command.status == "pending" and await bus.commands.cancel_if_pending(
            command.id, f"no bot took this command within {args.timeout:g} s; it was cancelled"
        ):
            command = await bus.wait(command.id, 0)
        if command.status == "claimed":
            print(
                f"running: the bot took command {command.id} but has not answered within {args.timeout:g} s"
            )
            return EXIT_NOT_DONE
        print(f"{command.status}: {command.outcome or '(no message)'}")
        return EXIT_DONE if command.status == "done" else EXIT_NOT_DONE
    finally:
        await bus.close()
        await db.close()
