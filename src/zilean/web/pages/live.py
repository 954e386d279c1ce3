"""The player page's live stream: bus events in, rendered fragments out, as Server-Sent Events.

Each bus event is mapped to the fragments it changes and those are re-rendered from the database
(never patched from the event), so what a page shows is always what a fresh load would show. A burst
of events (a playlist, a shuffle) is coalesced into one render per fragment. The SSE `id` is the bus
event id: a browser that reconnects sends `Last-Event-ID` and gets every fragment re-rendered once —
nothing is missed and nothing is replayed event by event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from zilean.db.bus import Event, Lagged, Subscription
from zilean.web.pages.views import FRAGMENTS

log = logging.getLogger(__name__)

KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing an idle stream
CHECK_S = 5.0  # how often an idle stream re-checks the bot's heartbeat and the viewer's membership
RETRY_MS = 2000  # what the browser waits before reconnecting
GONE_HTML = '<p class="banner">You are no longer a member of this server; this page has stopped updating.</p>'

# Which fragments a kind of bus event changes. Unknown kinds (directory, voice…) re-render the banner.
AFFECTS: dict[str, tuple[str, ...]] = {
    "player": ("banner", "nowplaying", "controls", "history"),
    "queue": ("queue",),
}
EVERYTHING = FRAGMENTS
_UNKNOWN = object()  # no track seen yet: the next player event re-renders the history


def sse_message(event: str, data: str, event_id: int | None = None) -> str:
    """One SSE message; every line of `data` gets its own `data:` field (the browser rejoins them)."""
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


def kinds_for(events: Iterable[Event], track_before: object = _UNKNOWN) -> tuple[str, ...]:
    """The fragments a batch of events changes, in page order. The history changes only when a
    "player" event carries another track than `track_before` (a pause or a volume change does not)."""
    wanted: set[str] = set()
    track = track_before
    for event in events:
        wanted.update(AFFECTS.get(event.kind, ("banner",)))
        if event.kind == "player":
            track = event.payload.get("track")
    if track == track_before:
        wanted.discard("history")
    return tuple(kind for kind in FRAGMENTS if kind in wanted)


def last_track(events: Iterable[Event], track_before: object) -> object:
    """The track of the newest "player" event of a batch (or `track_before` when there is none)."""
    track = track_before
    for event in events:
        if event.kind == "player":
            track = event.payload.get("track")
    return track


Render = Callable[[tuple[str, ...]], Awaitable[dict[str, str]]]


async def _no_fragments() -> dict[str, str]:
    return {}


Check = Callable[[], Awaitable[bool]]


async def stream(
    subscription: Subscription,
    render: Render,
    *,
    still_allowed: Check,
    bot_online: Check,
    resume: bool,
    last_id: int = 0,
    keepalive_s: float = KEEPALIVE_S,
    check_s: float = CHECK_S,
) -> AsyncIterator[str]:
    """The SSE text for one page until the viewer loses access (or the client goes away).

    `resume`: the browser reconnected (it sent Last-Event-ID), so it may have missed events.
    """
    try:
        online = await bot_online()
        track: object = _UNKNOWN
        yield f"retry: {RETRY_MS}\n\n"
        if resume:
            for name, html in (await render(EVERYTHING)).items():
                yield sse_message(name, html, last_id or None)
        idle = 0.0
        while True:
            batch: list[Event] = []
            lagged = False
            try:
                async with asyncio.timeout(check_s):
                    batch.append(await subscription.get())
            except TimeoutError:
                pass
            except Lagged:
                lagged = True
            try:  # take whatever else is already waiting: one render per fragment for a burst
                while (more := subscription.get_nowait()) is not None:
                    batch.append(more)
            except Lagged:
                lagged = True
            kinds = EVERYTHING if lagged else kinds_for(batch, track)
            track = last_track(batch, track)
            # The checks run beside the render, not before it: they cost a live update no time.
            allowed, now_online, rendered = await asyncio.gather(
                still_allowed(), bot_online(), render(kinds) if kinds else _no_fragments()
            )
            if not allowed:
                log.info("live stream of guild %s closed: the viewer lost access", subscription.guild_id)
                yield sse_message("gone", GONE_HTML)
                return
            if now_online != online and "banner" not in kinds:
                kinds = ("banner", *kinds)
                rendered = {**await render(("banner",)), **rendered}
            online = now_online
            if kinds:
                idle = 0.0
                newest = max((e.id for e in batch), default=None)
                for name in kinds:
                    yield sse_message(name, rendered[name], newest)
            else:
                idle += check_s
                if idle >= keepalive_s:
                    idle = 0.0
                    yield ": keepalive\n\n"
    finally:
        subscription.close()
