"""`zilean resolve QUERY [--json]`: show what a query or link resolves to, as the bot would."""

from __future__ import annotations

import argparse

from zilean.core.errors import ZileanError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (see zilean.cli)
if TYPE_CHECKING:
    from zilean.config import Settings
    from zilean.core.sources import LoadResult, SourceOptions
    from zilean.core.track import Track


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("resolve", help="show what a search, link or local: query resolves to")
    parser.add_argument("query", nargs="+", help="words to search, a link, or local:WORDS")
    parser.add_argument("--json", action="store_true", help="one JSON object per track")
    parser.set_defaults(func=_resolve)


async def _load(options: SourceOptions, query: str) -> LoadResult:
    from zilean.core.sources import Resolver

    resolver = Resolver(options)
    try:
        return await resolver.resolve(query)
    finally:
        await resolver.close()


def _duration(track: Track) -> str:
    if track.duration_ms is None:
        return "live/unknown"
    seconds = round(track.duration_ms / 1000)
    return f"{seconds // 60}:{seconds % 60:02d}"


def _as_json(track: Track) -> str:
    import json

    duration = None if track.duration_ms is None else track.duration_ms / 1000
    record = {"title": track.title, "url": track.url, "duration": duration, "source": track.source}
    if track.artist:
        record["artist"] = track.artist
    return json.dumps(record, ensure_ascii=False)


def _as_line(track: Track) -> str:
    by = f" — {track.artist}" if track.artist else ""
    return f"{track.title}{by} ({_duration(track)}) [{track.source}] {track.url}"


def _resolve(args: argparse.Namespace, settings: Settings | None) -> int:
    import asyncio

    from zilean.core.sources import LoadFailed, NoMatches, PlaylistLoaded, TrackLoaded

    assert settings is not None
    query = " ".join(args.query)
    result = asyncio.run(_load(settings.source_options(), query))
    if isinstance(result, LoadFailed):
        raise ZileanError(result.message)
    if isinstance(result, NoMatches):
        raise ZileanError(f"no matches for {query!r}")
    tracks = (result.track,) if isinstance(result, TrackLoaded) else result.tracks
    if isinstance(result, PlaylistLoaded) and not args.json:
        cut = f", cut from {result.truncated_from}" if result.truncated_from else ""
        print(f"playlist: {result.name} ({len(result.tracks)} tracks{cut})")
    for track in tracks:
        print(_as_json(track) if args.json else _as_line(track))
    return 0
