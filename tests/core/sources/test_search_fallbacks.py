"""SEARCH_FALLBACKS: a search the provider blocks goes to the next provider and says so; a link never does.

The provider is made unreachable for real: yt-dlp runs through YTDLP_PROXY pointing at a closed
port, so YouTube and SoundCloud both fail as "network" without touching the internet.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from media_files import make_tone

from zilean.core.sources import LoadFailed, NoMatches, Resolver, SourceOptions, TrackLoaded
from zilean.core.sources.ytdlp_config import YtDlpConfig

pytestmark = pytest.mark.asyncio(loop_scope="module")

UNREACHABLE = "couldn't reach"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    music = tmp_path_factory.mktemp("music")
    make_tone(music / "harbour.flac", ["-c:a", "flac"], 1, {"title": "Harbour Lights", "artist": "The Tides"})
    return music


def options(library: Path, fallbacks: tuple[str, ...]) -> SourceOptions:
    dead = f"http://127.0.0.1:{closed_port()}"
    return SourceOptions(
        search_provider="ytsearch",
        search_fallbacks=fallbacks,
        library_dir=library,
        ytdlp_workers=1,
        ytdlp=YtDlpConfig(proxy=dead, js_runtime="none"),
        trusted_origins=(dead,),
    )


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def resolver(library: Path) -> AsyncIterator[Resolver]:
    """YouTube blocked, fallbacks as by default: SoundCloud (blocked too), then the library."""
    running = Resolver(options(library, ("scsearch", "local")))
    try:
        yield running
    finally:
        await running.close()


async def test_a_blocked_search_falls_back_to_the_library_and_says_so(resolver: Resolver) -> None:
    result = await resolver.resolve("harbour lights")
    assert isinstance(result, TrackLoaded), result
    assert result.track.source == "local" and result.track.title == "Harbour Lights"
    assert result.note is not None
    assert "YouTube" in result.note and "unreachable" in result.note and "local library" in result.note


async def test_the_search_command_falls_back_too(resolver: Resolver) -> None:
    tracks = await resolver.search("tides", 5)
    assert [t.title for t in tracks] == ["Harbour Lights"]


async def test_a_search_no_fallback_knows_keeps_the_providers_reason(resolver: Resolver) -> None:
    result = await resolver.resolve("zebra crossing anthem")
    assert isinstance(result, LoadFailed) and UNREACHABLE in result.message, result


async def test_a_failing_link_is_never_replaced(resolver: Resolver) -> None:
    dead = resolver.options.trusted_origins[0]
    result = await resolver.resolve(f"{dead}/harbour-lights")  # the title is in the library
    assert isinstance(result, LoadFailed), result  # the link's own failure, not a search elsewhere
    assert "connect" in result.message or UNREACHABLE in result.message, result


async def test_a_search_the_provider_answers_is_not_a_fallback(resolver: Resolver) -> None:
    result = await resolver.resolve("local:harbour")
    assert isinstance(result, TrackLoaded) and result.note is None


async def test_without_fallbacks_a_blocked_search_fails_as_before(library: Path) -> None:
    alone = Resolver(options(library, ()))
    try:
        result = await alone.resolve("harbour lights")
    finally:
        await alone.close()
    assert isinstance(result, LoadFailed) and UNREACHABLE in result.message, result
    assert not isinstance(result, NoMatches)
