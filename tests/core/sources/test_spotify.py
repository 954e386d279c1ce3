"""Spotify links through a local fake of the Web API; tracks matched lazily on the search provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from media_files import make_tone

from fakes.spotify import FakeSpotify, running
from zilean.core.errors import SourceError
from zilean.core.sources import LoadFailed, PlaylistLoaded, Resolver, SourceOptions, TrackLoaded
from zilean.core.sources.spotify import NO_CREDENTIALS, is_spotify_link, parse_link


@pytest.fixture
def spotify() -> Iterator[FakeSpotify]:
    fake = FakeSpotify(album_page_size=2, playlist_page_size=2)
    with running(fake):
        fake.add_track("t1", "Blue in Green", ["Miles Davis"], 337_000)
        fake.add_track("t2", "So What", ["Miles Davis"], 562_000)
        fake.add_track("t3", "Freddie Freeloader", ["Miles Davis", "Wynton Kelly"], 589_000)
        fake.add_track("t4", "Not In The Library", ["Nobody"], 1000)
        fake.add_album("kob", "Kind of Blue", ["t2", "t3", "t1"])
        fake.add_playlist("pl", "Late Night", ["t1", None, "t2", "t3", "t4"])
        yield fake


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spotify_music")
    make_tone(root / "a.mp3", ["-c:a", "libmp3lame"], 1, {"title": "Blue in Green", "artist": "Miles Davis"})
    return root


def options(fake: FakeSpotify, music: Path | None = None, **extra: object) -> SourceOptions:
    values: dict[str, object] = {
        "spotify_client_id": fake.client_id,
        "spotify_client_secret": fake.client_secret,
        "spotify_api_base": fake.api_base,
        "spotify_accounts_base": fake.accounts_base,
        "library_dir": music,
        "search_provider": "local",
    }
    return SourceOptions(**{**values, **extra})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("link", "parsed"),
    [
        ("https://open.spotify.com/track/t1?si=abc", ("track", "t1")),
        ("https://open.spotify.com/intl-de/album/kob", ("album", "kob")),
        ("spotify:playlist:pl", ("playlist", "pl")),
    ],
)
def test_links_are_recognised(link: str, parsed: tuple[str, str]) -> None:
    assert is_spotify_link(link)
    assert parse_link(link) == parsed


def test_other_links_are_not_spotify() -> None:
    assert not is_spotify_link("https://open.spotify.com/artist/x")
    assert not is_spotify_link("https://evil.example/open.spotify.com/track/x")


async def test_without_credentials_a_clear_message(spotify: FakeSpotify) -> None:
    resolver = Resolver(SourceOptions(spotify_api_base=spotify.api_base))
    try:
        assert await resolver.resolve("https://open.spotify.com/track/t1") == LoadFailed(NO_CREDENTIALS)
    finally:
        await resolver.close()
    assert spotify.requests == []


async def test_wrong_credentials_are_reported(spotify: FakeSpotify) -> None:
    resolver = Resolver(options(spotify, spotify_client_secret="wrong"))
    try:
        result = await resolver.resolve("spotify:track:t1")
    finally:
        await resolver.close()
    assert isinstance(result, LoadFailed) and "refused the bot's credentials" in result.message


async def test_track_album_and_playlist_with_paging(spotify: FakeSpotify) -> None:
    resolver = Resolver(options(spotify))
    try:
        track = await resolver.resolve("https://open.spotify.com/track/t3")
        album = await resolver.resolve("https://open.spotify.com/album/kob")
        playlist = await resolver.resolve("spotify:playlist:pl")
        missing = await resolver.resolve("spotify:track:nope")
    finally:
        await resolver.close()
    assert isinstance(track, TrackLoaded)
    assert track.track.title == "Freddie Freeloader"
    assert track.track.artist == "Miles Davis, Wynton Kelly"
    assert (track.track.source, track.track.duration_ms) == ("spotify", 589_000)
    assert track.track.url == "https://open.spotify.com/track/t3"
    assert track.track.thumbnail == "https://i.scdn.co/image/t3"
    assert track.track.stream_url is None  # matched only when it is about to play

    assert isinstance(album, PlaylistLoaded) and album.name == "Kind of Blue"
    assert [t.title for t in album.tracks] == ["So What", "Freddie Freeloader", "Blue in Green"]
    assert album.tracks[0].thumbnail == "https://i.scdn.co/image/kob"  # simplified tracks use the album's art
    assert isinstance(playlist, PlaylistLoaded) and playlist.name == "Late Night"
    assert [t.title for t in playlist.tracks] == [
        "Blue in Green", "So What", "Freddie Freeloader", "Not In The Library"
    ]  # fmt: skip
    assert playlist.truncated_from is None
    assert "GET /v1/albums/kob/tracks" in spotify.requests
    assert spotify.requests.count("GET /v1/playlists/pl/tracks") == 2
    assert spotify.requests.count("POST /api/token") == 1  # the app token is reused
    assert isinstance(missing, LoadFailed) and "doesn't know that link" in missing.message


async def test_playlist_cap(spotify: FakeSpotify) -> None:
    resolver = Resolver(options(spotify, playlist_limit=2))
    try:
        result = await resolver.resolve("spotify:playlist:pl")
    finally:
        await resolver.close()
    assert isinstance(result, PlaylistLoaded)
    assert [t.title for t in result.tracks] == ["Blue in Green", "So What"]
    assert result.truncated_from == 5


async def test_tracks_are_matched_on_the_search_provider_when_played(
    spotify: FakeSpotify, music: Path
) -> None:
    resolver = Resolver(options(spotify, music))
    try:
        album = await resolver.resolve("spotify:album:kob")
        assert isinstance(album, PlaylistLoaded)
        blue = album.tracks[2]
        media = await resolver.stream_for(blue)
        assert media.is_local_file and media.location == str((music / "a.mp3").resolve())
        assert (await resolver.match(blue)).url == "local:a.mp3"
        with pytest.raises(SourceError, match="Couldn't find “So What” to play"):
            await resolver.stream_for(album.tracks[0])
    finally:
        await resolver.close()
