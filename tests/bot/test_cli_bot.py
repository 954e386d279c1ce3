"""`zilean bot` arguments."""

from __future__ import annotations

import pytest

from zilean.cli import build_parser
from zilean.cli.bot import shard_ids_from
from zilean.core.errors import ConfigError


def test_bot_subcommand_is_registered_with_shard_options() -> None:
    args = build_parser().parse_args(["bot", "--shard-ids", "0,1", "--shard-count", "4"])
    assert args.command == "bot" and args.shard_count == 4
    assert shard_ids_from(args.shard_ids, args.shard_count) == [0, 1]


@pytest.mark.parametrize(
    ("ids", "count", "message"),
    [
        ("0,x", 4, "numbers"),
        ("0,1", None, "needs --shard-count"),
        ("3,4", 4, "between 0 and 3"),
        (",", 2, "between"),
    ],
)
def test_bad_shard_options_are_refused_clearly(ids: str, count: int | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        shard_ids_from(ids, count)


def test_no_shard_ids_means_all_shards() -> None:
    assert shard_ids_from(None, None) is None
