"""`zilean status GUILD_ID [--json]`: the live player state and queue, read from the database."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (see zilean.cli)
if TYPE_CHECKING:
    from typing import Any

    from zilean.config import Settings

QUEUE_SHOWN = 10


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = sub.add_parser("status", help="show a guild's player and queue as the database has them")
    status.add_argument("guild_id", type=int, metavar="GUILD_ID")
    status.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    status.add_argument("--limit", type=int, default=QUEUE_SHOWN, metavar="N", help="queue entries shown")
    status.set_defaults(func=_status)


def _status(args: argparse.Namespace, settings: Settings | None) -> int:
    import asyncio
    import json

    assert settings is not None
    report = asyncio.run(_collect(settings, args.guild_id, args.limit))
    print(json.dumps(report, indent=2) if args.json else _text(report))
    return 0


async def _collect(settings: Settings, guild_id: int, limit: int) -> dict[str, Any]:
    from zilean.db import open_database
    from zilean.db.bus import Bus
    from zilean.db.bus.events import anchor_payload
    from zilean.db.connector import utcnow

    # No schema check (that needs Alembic and a write lock): a client never migrates; the bot does.
    db = await open_database(settings.database_url)
    try:
        bus = Bus(db)
        state = await db.player_state.load(guild_id)
        entries = await db.queue.page(guild_id, 0, limit)
        summary = await db.queue.summary(guild_id)
        owner = await bus.owner_of(guild_id)
        now = utcnow()
        player = None
        if state is not None:
            player = {**anchor_payload(state), "position_now_ms": state.position_at(now)}
        return {
            "guild_id": guild_id,
            "bot": {"online": owner is not None, "process_id": owner.process_id if owner else None},
            "player": player,
            "queue": {
                "count": summary.count,
                "duration_ms": summary.duration_ms,
                "entries": [
                    {
                        "index": i,
                        "id": entry.id,
                        "title": entry.track.title,
                        "url": entry.track.url,
                        "duration_ms": entry.track.duration_ms,
                        "requester_id": entry.track.requester_id,
                    }
                    for i, entry in enumerate(entries, start=1)
                ],
            },
            "at": now.isoformat(),
        }
    finally:
        await db.close()


def _clock(ms: int | None) -> str:
    if ms is None:
        return "live"
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _text(report: dict[str, Any]) -> str:
    bot = report["bot"]
    lines = [f"guild {report['guild_id']}: bot {'online' if bot['online'] else 'OFFLINE'}"]
    player = report["player"]
    if player is None or player["track"] is None:
        lines.append("nothing playing")
    else:
        track = player["track"]
        state = "paused" if player["paused"] else "playing"
        lines.append(
            f"{state}: {track['title']} [{_clock(player['position_now_ms'])}/{_clock(track['duration_ms'])}]"
        )
    if player is not None:
        effects = ", ".join(player["effects"]) or "none"
        lines.append(f"volume {player['volume']} %, loop {player['loop_mode']}, effects {effects}")
    queue = report["queue"]
    lines.append(f"queue: {queue['count']} track(s), {_clock(queue['duration_ms'])}")
    for entry in queue["entries"]:
        lines.append(f"  {entry['index']:>3}. {entry['title']} [{_clock(entry['duration_ms'])}]")
    if queue["count"] > len(queue["entries"]):
        lines.append(f"  … and {queue['count'] - len(queue['entries'])} more")
    return "\n".join(lines)
