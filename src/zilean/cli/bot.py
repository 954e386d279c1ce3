"""`zilean bot`: the Discord bot on its own (production; several processes can split the shards)."""

from __future__ import annotations

import argparse

from zilean.cli.run import prepare
from zilean.core.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (see zilean.cli)
if TYPE_CHECKING:
    from zilean.config import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bot = sub.add_parser("bot", help="run the Discord bot (without the dashboard)")
    bot.add_argument("--shard-ids", help="comma-separated shard ids this process runs, e.g. 0,1")
    bot.add_argument("--shard-count", type=int, help="total number of shards across all processes")
    bot.set_defaults(func=_bot)


def shard_ids_from(text: str | None, count: int | None) -> list[int] | None:
    """Parse `--shard-ids`; each id must be below `--shard-count`, which it requires."""
    if text is None:
        return None
    try:
        ids = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ConfigError(f"--shard-ids must be comma-separated numbers, got {text!r}") from None
    if count is None:
        raise ConfigError("--shard-ids needs --shard-count (the total across all processes)")
    if not ids or ids[0] < 0 or ids[-1] >= count:
        raise ConfigError(f"--shard-ids must be between 0 and {count - 1}")
    return ids


def _bot(args: argparse.Namespace, settings: Settings | None) -> int:
    assert settings is not None
    if args.shard_count is not None and args.shard_count < 1:
        raise ConfigError("--shard-count must be at least 1")
    shard_ids = shard_ids_from(args.shard_ids, args.shard_count)
    prepare(args, settings, "bot.log")
    import asyncio

    from zilean.bot.runner import run_bot

    asyncio.run(run_bot(settings, shard_ids=shard_ids, shard_count=args.shard_count))
    return 0
