"""The local music folder: tags indexed, searched, played by local: queries, rescanned on change."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from media_files import make_tone

from zilean.core.errors import SourceError
from zilean.core.sources import LoadFailed, NoMatches, Resolver, SourceOptions, TrackLoaded
from zilean.core.sources.library import Library, normalize
from zilean.core.track import Track


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("music")
    (root / "Jazz").mkdir()
    make_tone(
        root / "Jazz" / "01.mp3",
        ["-c:a", "libmp3lame"],
        1,
        {"title": "Blue in Green", "artist": "Miles Davis"},
    )
    make_tone(root / "Jazz" / "02.flac", ["-c:a", "flac"], 2, {"title": "So What", "artist": "Miles Davis"})
    make_tone(root / "Nina Simone - Feeling Good.wav", ["-c:a", "pcm_s16le"], 1)
    (root / "notes.txt").write_text("not music")
    return root


def copy_of(music: Path, tmp_path: Path) -> Path:
    target = tmp_path / "lib"
    shutil.copytree(music, target)
    return target


async def test_search_uses_tags_and_file_names(music: Path) -> None:
    library = Library(music)
    [hit] = await library.search("blue green")
    assert (hit.title, hit.artist, hit.source, hit.url) == (
        "Blue in Green",
        "Miles Davis",
        "local",
        "local:Jazz/01.mp3",
    )
    assert hit.duration_ms == pytest.approx(1000, abs=100)
    titles = [t.title for t in await library.search("miles")]
    assert sorted(titles) == ["Blue in Green", "So What"]
    [nina] = await library.search("nina simone - feeling good")
    assert (nina.title, nina.artist) == ("Feeling Good", "Nina Simone")
    assert await library.search("coltrane") == []
    assert await library.search("notes") == []  # not an audio file
    library.close()


async def test_exact_artist_title_ranks_first(music: Path) -> None:
    library = Library(music)
    hits = await library.search("Miles Davis - So What")
    assert hits[0].title == "So What"
    library.close()


def test_normalize() -> None:
    assert normalize("AC/DC — Back in  Black!") == "ac dc back in black"


async def test_local_queries_through_the_resolver(music: Path) -> None:
    resolver = Resolver(SourceOptions(library_dir=music, search_provider="local"))
    try:
        loaded = await resolver.resolve("local:Miles Davis - So What")
        assert isinstance(loaded, TrackLoaded) and loaded.track.title == "So What"
        again = await resolver.resolve(loaded.track.url)  # the url itself is a local: query
        assert isinstance(again, TrackLoaded) and again.track == loaded.track
        searched = await resolver.resolve("feeling good")  # plain text uses the "local" provider
        assert isinstance(searched, TrackLoaded) and searched.track.artist == "Nina Simone"
        assert await resolver.resolve("local:unknown words") == NoMatches("unknown words")
        media = await resolver.stream_for(loaded.track)
        assert media.is_local_file and media.protocol_whitelist == "file"
        assert media.location == str((music / "Jazz" / "02.flac").resolve())
    finally:
        await resolver.close()


async def test_resolver_search_gives_several_hits_best_first(music: Path) -> None:
    resolver = Resolver(SourceOptions(library_dir=music, search_provider="local"))
    try:
        hits = await resolver.search("local:miles", 5)
        assert sorted(t.title for t in hits) == ["Blue in Green", "So What"]
        assert [t.title for t in await resolver.search("Miles Davis - So What", 1)] == ["So What"]
        assert await resolver.search("  ", 5) == []
        assert await resolver.search("coltrane", 5) == []
    finally:
        await resolver.close()
    without = Resolver(SourceOptions())
    try:
        with pytest.raises(SourceError, match="LIBRARY_DIR"):
            await without.search("local:miles", 5)
    finally:
        await without.close()


async def test_library_refuses_paths_outside_the_folder(music: Path) -> None:
    library = Library(music)
    with pytest.raises(SourceError, match="no longer in the music folder"):
        library.media_input(Track(title="x", url="local:../../etc/passwd", source="local"))
    with pytest.raises(SourceError):
        library.media_input(Track(title="x", url="local:/etc/passwd", source="local"))


async def test_without_library_dir_local_queries_fail_clearly() -> None:
    resolver = Resolver(SourceOptions())
    try:
        assert await resolver.resolve("local:anything") == LoadFailed(
            "The local music library is not set up (LIBRARY_DIR)."
        )
    finally:
        await resolver.close()


async def test_rescan_picks_up_new_changed_and_removed_files(music: Path, tmp_path: Path) -> None:
    root = copy_of(music, tmp_path)
    library = Library(root, rescan_seconds=3600)
    assert await library.search("summertime") == []
    make_tone(root / "new.mp3", ["-c:a", "libmp3lame"], 1, {"title": "Summertime", "artist": "Ella"})
    assert await library.search("summertime") == []  # not rescanned yet: cheap searches
    await library.refresh(force=True)
    [found] = await library.search("summertime")
    assert found.artist == "Ella"

    library.rescan_seconds = 0
    make_tone(root / "new.mp3", ["-c:a", "libmp3lame"], 1, {"title": "Autumn Leaves", "artist": "Ella"})
    os.utime(root / "new.mp3", ns=(1, 1))  # a different mtime even on coarse clocks
    assert [t.title for t in await library.search("ella")] == ["Autumn Leaves"]
    (root / "new.mp3").unlink()
    assert await library.search("ella") == []
    library.close()


async def test_a_big_batch_is_read_in_a_worker_process(music: Path, tmp_path: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    for i in range(25):
        shutil.copy(music / "Jazz" / "01.mp3", root / f"track{i:02d}.mp3")
    library = Library(root)
    hits = await library.search("blue in green", limit=100)
    assert len(hits) == 25
    assert library._pool is not None  # the batch went to the process pool
    library.close()
