"""The bus between bot and dashboard, through the database. Build one per process and pass it down.

    bus = Bus(db)                       # db: an open zilean.db.Database
    await bus.start()                   # PostgreSQL: opens the LISTEN connection
    # web / CLI: queue a command and wait for what the bot made of it
    command = await bus.send(guild_id, "pause", {}, user_id=42, timeout_s=10)
    # bot: run the commands of my shards through my own command code
    worker = bus.worker(handler, shard_ids=[0], shard_count=1); await worker.start()
    # web: follow events (one follower per process, fanned out to subscribers)
    follower = await bus.follower(); sub = follower.subscribe(guild_id)
    await bus.close()

Bot and web in one process share the Bus, so the in-process signal wakes the other side at once;
in separate processes PostgreSQL NOTIFY (ids only) wakes them, and on SQLite a watch on
`PRAGMA data_version` does (sqlite_watch.py); both back that up with a slow safety poll.
Every consumer re-reads the tables, so a lost wake-up only costs time.
"""

from zilean.db.bus.actions import ACTIONS, ActionError
from zilean.db.bus.core import Bus, BusOptions
from zilean.db.bus.follow import EventFollower, Lagged, Subscription
from zilean.db.bus.records import BotProcess, Command, Event, Outcome
from zilean.db.bus.worker import WorkerTiming

__all__ = [
    "ACTIONS",
    "ActionError",
    "BotProcess",
    "Bus",
    "BusOptions",
    "Command",
    "Event",
    "EventFollower",
    "Lagged",
    "Outcome",
    "Subscription",
    "WorkerTiming",
]
