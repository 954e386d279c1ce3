"""Live updates by Server-Sent Events: each web process follows the bus and feeds its own clients.

    GET /api/servers/{id}/events        JSON events (this module's router)
    webui's page stream: `await live_response(request, ctx, user, guild, render)` with its own
    `render(live_event) -> list[ServerSentEvent]` (e.g. HTML fragments from the shared partials)

Event ids are bus event ids. A reconnecting browser sends `Last-Event-ID` (or a page passes
`?after=ID`, the id it rendered from); if anything for the guild happened since, the stream first
sends a snapshot of the current state under the newest id — every missed update is covered and a
reconnect storm costs one snapshot per client, not a replay. Nothing is missed between the
snapshot and the live events: the subscription opens before the snapshot is read.

JSON events (the API stream; `data` is JSON):
- `player`: the StatusView of the guild (see views.StatusView.json; `anchor_at` + `anchor_position_ms`
  let the page run its progress bar).
- `queue`: `{"total", "duration_ms"}` — the queue changed; re-read GET …/queue (or the page fragment).
- `directory`: `{"change"}` — members, roles, channels or the guild changed.
- `bye`: `{"reason"}` — the session ended or the user is no longer a member; the stream closes
  (a browser's EventSource reconnect then gets 401/404 and stops).
Keep-alive comments every PING_S; `X-Accel-Buffering: no` so nginx passes events at once.
The stream re-checks session and membership every RECHECK_S (jittered), at once after a `directory`
event that can mean the user left ("member_removed", "removed"), and is closed at once by a logout
in this process (by a logout elsewhere within RECHECK_S).

`render` is called once per (event, renderer) per process and its result shared by every client
of that guild, so it must not depend on the user.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from zilean.db.bus import Event, Lagged
from zilean.db.bus.events import position_from_anchor
from zilean.db.bus.records import TRANSIENT_ERRORS, describe
from zilean.db.connector import utcnow
from zilean.web.services import Services
from zilean.web.sessions import SessionUser
from zilean.web.views import LOOP_TO_WEB, StatusView, TrackView

log = logging.getLogger(__name__)

PING_S = 15.0
# Put into a stream's own subscription to wake it at once (logout, shutdown); never sent to browsers.
WAKE = Event(id=0, guild_id=None, kind="_wake", payload={})
RECHECK_S = 30.0
MEMO_SIZE = 512


@dataclass
class LiveEvent:
    """One update for a guild's pages: the bus event, and what it means (computed once per process)."""

    id: int
    guild_id: int
    kind: str  # "player" | "queue" | "directory" | … | "sync" (a snapshot after a gap)
    payload: dict[str, Any]
    services: Services
    _memo: dict[str, Any] = field(default_factory=dict)

    async def status(self) -> StatusView:
        """The player status: from the event itself for "player" events, else from the database."""
        if "status" not in self._memo:
            if self.kind == "player":
                self._memo["status"] = status_from_payload(self.guild_id, self.payload)
            else:
                self._memo["status"] = await self.services.guild_status(self.guild_id)
        status: StatusView = self._memo["status"]
        return status

    async def queue_summary(self) -> dict[str, int]:
        """{"total", "duration_ms"} of the queue now."""
        if "queue" not in self._memo:
            summary = await self.services.db.queue.summary(self.guild_id)
            self._memo["queue"] = {"total": summary.count, "duration_ms": summary.duration_ms}
        queue: dict[str, int] = self._memo["queue"]
        return queue


Render = Callable[[LiveEvent], Awaitable[list[ServerSentEvent]]]


def status_from_payload(guild_id: int, payload: dict[str, Any]) -> StatusView:
    """A StatusView from a bus "player" event (the bot just published it, so it is online)."""
    from datetime import datetime

    anchor = payload.get("anchor_at")
    track = TrackView.from_payload(payload.get("track"))
    voice = payload.get("voice_channel_id")
    return StatusView(
        guild_id=guild_id,
        bot_online=True,
        connected=voice is not None,
        paused=bool(payload.get("paused")),
        volume=int(payload.get("volume") or 0),
        effects=tuple(payload.get("effects") or ()),
        loop=LOOP_TO_WEB.get(str(payload.get("loop_mode")), "off"),
        position_ms=int(payload.get("position_ms") or 0),
        anchor_at=datetime.fromisoformat(anchor) if anchor and track else None,
        position_now_ms=position_from_anchor(payload, utcnow()) if track else 0,
        track=track,
        voice_channel_id=int(voice) if voice is not None else None,
    )


async def render_json(event: LiveEvent) -> list[ServerSentEvent]:
    """The API stream's rendering (see the module docstring)."""
    eid = str(event.id)
    if event.kind == "player":
        return [ServerSentEvent(json.dumps((await event.status()).json()), event="player", id=eid)]
    if event.kind == "queue":
        return [ServerSentEvent(json.dumps(await event.queue_summary()), event="queue", id=eid)]
    if event.kind == "sync":
        status = json.dumps((await event.status()).json())
        queue = json.dumps(await event.queue_summary())
        return [
            ServerSentEvent(status, event="player", id=eid),
            ServerSentEvent(queue, event="queue", id=eid),
        ]
    return [ServerSentEvent(json.dumps(event.payload), event=event.kind, id=eid)]


class LiveStreams:
    """This process's open streams: shared rendering per event, and closing a session's streams at logout."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._by_session: dict[str, dict[asyncio.Event, Any]] = {}
        self._memo: OrderedDict[tuple[int, int], asyncio.Future[list[ServerSentEvent]]] = OrderedDict()

    @property
    def open_count(self) -> int:
        """How many streams are open."""
        return sum(len(events) for events in self._by_session.values())

    def register(self, session_hash: str, subscription: Any) -> asyncio.Event:
        """A stream opens for a session; the event returned is set (and the stream woken) to close it."""
        closed = asyncio.Event()
        self._by_session.setdefault(session_hash, {})[closed] = subscription
        return closed

    def unregister(self, session_hash: str, closed: asyncio.Event) -> None:
        """A stream closed."""
        streams = self._by_session.get(session_hash)
        if streams is not None:
            streams.pop(closed, None)
            if not streams:
                del self._by_session[session_hash]

    def close_all(self) -> None:
        """Close every stream (the server is stopping)."""
        for session_hash in list(self._by_session):
            self.close_session(session_hash)

    def close_session(self, session_hash: str) -> None:
        """Close every stream of a session (logout)."""
        for closed, subscription in list(self._by_session.get(session_hash, {}).items()):
            closed.set()
            subscription.offer(Event(WAKE.id, subscription.guild_id, WAKE.kind, {}))

    async def rendered(self, event: Event, render: Render) -> list[ServerSentEvent]:
        """`render` of a bus event, computed once per process and shared by all its streams."""
        key = (event.id, id(render))
        future = self._memo.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._memo[key] = future
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
            live = LiveEvent(event.id, event.guild_id or 0, event.kind, event.payload, self.services)
            try:
                future.set_result(await render(live))
            except Exception as exc:
                future.set_exception(exc)
                del self._memo[key]
                raise
        if future.done():
            return future.result()
        return await asyncio.shield(future)

    async def snapshot(self, guild_id: int, event_id: int, render: Render) -> list[ServerSentEvent]:
        """The current state as a "sync" event under `event_id` (not shared: it reads the state now)."""
        return await render(LiveEvent(event_id, guild_id, "sync", {}, self.services))


def _last_event_id(request: Request, after: str | None) -> int | None:
    raw = request.headers.get("last-event-id") or after
    if raw and raw.isdigit():
        return int(raw)
    return None


async def live_response(
    request: Request,
    ctx: Any,  # zilean.web.context.WebContext (not imported: it imports this module)
    user: SessionUser,
    guild_id: int,
    render: Render = render_json,
    *,
    after: str | None = None,
) -> EventSourceResponse:
    """The SSE response for one guild's live events, for this user (see the module docstring)."""
    follower = await ctx.bus.follower()
    subscription = follower.subscribe(guild_id)
    streams: LiveStreams = ctx.streams
    closed = streams.register(user.session.id_hash, subscription)
    last = _last_event_id(request, after)

    async def still_allowed() -> str | None:
        try:
            session = await ctx.sessions.load(ctx.sessions.raw_id(request))
            member = await ctx.db.directory.member(guild_id, user.id) if session is not None else None
        except TRANSIENT_ERRORS as exc:  # a busy or lost database must not cut every stream: ask again later
            log.warning("live stream could not re-check access (%s); it stays open", describe(exc))
            return None
        if session is None:
            return "your session ended"
        if member is None:
            return "you are no longer a member of this server"
        return None

    async def events() -> AsyncIterator[ServerSentEvent]:
        sent = last or 0
        try:
            if last is not None:
                backlog = await ctx.bus.events.after(last, guild_id=guild_id, limit=1)
                if backlog:
                    newest = max(follower.last_id, backlog[-1].id)
                    for item in await streams.snapshot(guild_id, newest, render):
                        yield item
                    sent = newest
            loop = asyncio.get_running_loop()
            # spread the periodic re-checks of many streams opened together over time
            recheck_at = loop.time() + RECHECK_S * random.uniform(0.5, 1.0)
            while True:
                if closed.is_set():
                    yield _bye("your session ended")
                    return
                if loop.time() >= recheck_at:
                    reason = await still_allowed()
                    if reason is not None:
                        yield _bye(reason)
                        return
                    recheck_at = loop.time() + RECHECK_S
                try:
                    event = await _next(subscription, recheck_at - loop.time())
                except Lagged:
                    newest = follower.last_id
                    for item in await streams.snapshot(guild_id, newest, render):
                        yield item
                    sent = newest
                    continue
                if event is None or event.kind == WAKE.kind or event.id <= sent:
                    continue
                if may_end_membership(event, user.id):
                    reason = await still_allowed()
                    if reason is not None:
                        yield _bye(reason)
                        return
                try:
                    rendered = await streams.rendered(event, render)
                except TRANSIENT_ERRORS as exc:
                    log.warning("live event %s could not be rendered (%s); skipped", event.id, describe(exc))
                    continue
                for item in rendered:
                    yield item
                sent = event.id
        finally:
            subscription.close()
            streams.unregister(user.session.id_hash, closed)

    return EventSourceResponse(
        events(),
        ping=PING_S,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _next(subscription: Any, timeout_s: float) -> Event | None:
    """The next event (or the WAKE marker close_session sends), or None when `timeout_s` passes first."""
    if timeout_s <= 0:
        return None
    try:
        async with asyncio.timeout(timeout_s):
            event: Event = await subscription.get()  # may raise Lagged
            return event
    except TimeoutError:
        return None


# The directory changes after which a member may be gone (a voice move or a new nickname cannot do it).
MEMBERSHIP_CHANGES = frozenset({"member_removed", "removed"})


def may_end_membership(event: Event, user_id: int) -> bool:
    """True for a "directory" event that can mean `user_id` left (then the stream re-checks at once)."""
    if event.kind != "directory" or event.payload.get("change") not in MEMBERSHIP_CHANGES:
        return False
    affected = event.payload.get("user_id")
    return affected is None or str(affected) == str(user_id)


def _bye(reason: str) -> ServerSentEvent:
    return ServerSentEvent(json.dumps({"reason": reason}), event="bye")
