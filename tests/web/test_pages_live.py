"""The player page's live stream and form translation, without a browser or a bot."""

from __future__ import annotations

import asyncio

import pytest

from zilean.db.bus import Event, Lagged
from zilean.db.records import PlayerState
from zilean.web.pages import live
from zilean.web.pages.forms import FormError, body_for
from zilean.web.pages.render import duration


class FakeSubscription:
    """A Subscription as EventFollower hands out: get(), get_nowait(), close(); Lagged once if told."""

    guild_id = 1

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event | type[Lagged]] = asyncio.Queue()
        self.closed = False

    async def get(self) -> Event:
        item = await self.queue.get()
        if item is Lagged:
            raise Lagged()
        assert isinstance(item, Event)
        return item

    def get_nowait(self) -> Event | None:
        try:
            item = self.queue.get_nowait()
        except asyncio.QueueEmpty:
            return None
        if item is Lagged:
            raise Lagged()
        assert isinstance(item, Event)
        return item

    def close(self) -> None:
        self.closed = True


def test_sse_message_splits_lines_and_carries_the_id() -> None:
    text = live.sse_message("queue", "<li>a</li>\n<li>b</li>", 42)
    assert text == "event: queue\nid: 42\ndata: <li>a</li>\ndata: <li>b</li>\n\n"
    assert live.sse_message("x", "") == "event: x\ndata: \n\n"


def test_kinds_for_maps_events_to_fragments_in_page_order() -> None:
    events = [Event(1, 1, "queue", {}), Event(2, 1, "player", {}), Event(3, 1, "queue", {})]
    assert live.kinds_for(events) == ("banner", "nowplaying", "controls", "queue", "history")
    assert live.kinds_for([Event(4, 1, "queue", {})]) == ("queue",)
    assert live.kinds_for([Event(5, 1, "directory", {})]) == ("banner",)
    track = {"title": "A"}
    paused = [Event(6, 1, "player", {"track": track, "paused": True})]
    assert "history" not in live.kinds_for(paused, track)  # same track: the history did not change
    assert "history" in live.kinds_for([*paused, Event(7, 1, "player", {"track": {"title": "B"}})], track)
    assert live.last_track(paused, None) == track


async def _collect(gen: object, count: int) -> list[str]:
    out = []
    async for item in gen:  # type: ignore[attr-defined]
        out.append(item)
        if len(out) == count:
            break
    return out


async def test_a_burst_of_events_renders_each_fragment_once() -> None:
    sub = FakeSubscription()
    renders: list[tuple[str, ...]] = []

    async def render(kinds: tuple[str, ...]) -> dict[str, str]:
        renders.append(kinds)
        return {kind: f"<p>{kind}</p>" for kind in kinds}

    async def yes() -> bool:
        return True

    for i in range(1, 6):
        sub.queue.put_nowait(Event(i, 1, "queue", {}))
    gen = live.stream(sub, render, still_allowed=yes, bot_online=yes, resume=False, check_s=5)
    out = await _collect(gen, 2)
    assert out[0].startswith("retry:")
    assert out[1] == "event: queue\nid: 5\ndata: <p>queue</p>\n\n"
    assert renders == [("queue",)]
    await gen.aclose()
    assert sub.closed


async def test_reconnect_and_lag_re_render_everything_and_losing_access_ends_the_stream() -> None:
    sub = FakeSubscription()
    allowed = [True]

    async def render(kinds: tuple[str, ...]) -> dict[str, str]:
        return {kind: kind for kind in kinds}

    async def still_allowed() -> bool:
        return allowed[0]

    async def online() -> bool:
        return True

    gen = live.stream(sub, render, still_allowed=still_allowed, bot_online=online, resume=True, last_id=7)
    out = await _collect(gen, 1 + len(live.EVERYTHING))
    assert [line.split("\n")[0] for line in out[1:]] == [f"event: {k}" for k in live.EVERYTHING]
    assert all("id: 7" in line for line in out[1:])
    sub.queue.put_nowait(Lagged)
    out = await _collect(gen, len(live.EVERYTHING))
    assert [line.split("\n")[0] for line in out] == [f"event: {k}" for k in live.EVERYTHING]
    allowed[0] = False
    sub.queue.put_nowait(Event(9, 1, "queue", {}))
    rest = [item async for item in gen]
    assert rest == [live.sse_message("gone", live.GONE_HTML)]
    assert sub.closed


async def test_the_bot_going_offline_pushes_the_banner() -> None:
    sub = FakeSubscription()
    online = [True]

    async def render(kinds: tuple[str, ...]) -> dict[str, str]:
        return {kind: kind for kind in kinds}

    async def yes() -> bool:
        return True

    async def bot_online() -> bool:
        return online[0]

    gen = live.stream(sub, render, still_allowed=yes, bot_online=bot_online, resume=False, check_s=0.01)
    assert (await gen.__anext__()).startswith("retry:")
    online[0] = False
    assert await gen.__anext__() == "event: banner\ndata: banner\n\n"
    await gen.aclose()


def test_forms_become_api_bodies() -> None:
    state = PlayerState(guild_id=1, effects=("nightcore", "8d"))
    assert body_for("pause", {}, None) == ("pause", {})
    assert body_for("volume", {"volume": "150"}, None) == ("volume", {"volume": 150})
    assert body_for("seek", {"position_s": "90"}, None) == ("seek", {"position_ms": 90_000})
    assert body_for("loop", {"mode": "one"}, None) == ("loop", {"mode": "one"})
    assert body_for("effect", {"toggle": "8d"}, state) == ("effects", {"effects": ["nightcore"]})
    assert body_for("effect", {"toggle": "echo"}, state) == (
        "effects",
        {"effects": ["nightcore", "8d", "echo"]},
    )
    assert body_for("move", {"entry_id": "7", "to": "1"}, None) == ("move", {"entry_id": 7, "to": 1})
    assert body_for("play", {"query": " x "}, None) == ("play", {"query": "x", "position": "end"})
    for control, form in (("volume", {"volume": "loud"}), ("play", {"query": " "}), ("nope", {})):
        with pytest.raises(FormError):
            body_for(control, form, None)


def test_duration_format() -> None:
    assert [duration(ms) for ms in (0, 59_999, 61_000, 3_600_000 + 62_000)] == [
        "0:00",
        "0:59",
        "1:01",
        "1:01:02",
    ]
    assert duration(None) == ""
