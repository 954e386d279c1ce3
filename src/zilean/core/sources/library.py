"""The local music folder: indexed with its tags, searched by words, played by `local:` queries.

The index is refreshed lazily: a search at most every `rescan_seconds` walks the folder (stat
only) and re-reads tags just for new or changed files. Big tag reads run in a separate process so
the audio process never spends long stretches in Python code.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from zilean.core.errors import SourceError
from zilean.core.media import MediaInput
from zilean.core.text import quoted_title
from zilean.core.track import Track

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = frozenset(
    {".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".wav", ".webm", ".aac"}
)
IN_PROCESS_TAG_READS = 20  # fewer changed files than this are read in a thread
LOCAL_PREFIX = "local:"
_WORDS = re.compile(r"[^\w]+")


@dataclass(frozen=True, slots=True)
class Entry:
    """One indexed file (path relative to the library root, POSIX separators)."""

    path: str
    title: str
    artist: str | None
    album: str | None
    duration_ms: int | None
    stamp: tuple[int, int]  # (mtime_ns, size): changes when the file does


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces ('AC/DC — Back!' -> 'ac dc back')."""
    return " ".join(_WORDS.sub(" ", text.casefold()).split())


def read_tags(root: str, paths: list[str]) -> list[Entry]:
    """Entries for the given files (run in a worker process for big batches)."""
    import mutagen

    entries = []
    for relative in paths:
        full = os.path.join(root, relative)
        try:
            stat = os.stat(full)
            media = mutagen.File(full, easy=True)
        except Exception:  # a broken file must not stop the scan
            log.info("library: cannot read tags of %s", relative)
            media = None
            stat = None
        if stat is None:
            continue
        tags = media.tags if media is not None and media.tags is not None else {}

        def first(key: str, tags: object = tags) -> str | None:
            try:
                values = tags[key]  # type: ignore[index]
            except (KeyError, ValueError, TypeError):
                return None
            return str(values[0]).strip() or None if values else None

        stem = Path(relative).stem
        guessed_artist, _, guessed_title = stem.partition(" - ")
        title = first("title") or (guessed_title if guessed_title else stem)
        artist = first("artist") or (guessed_artist if guessed_title else None)
        length = getattr(getattr(media, "info", None), "length", None)
        entries.append(
            Entry(
                path=relative,
                title=title,
                artist=artist,
                album=first("album"),
                duration_ms=round(length * 1000) if length else None,
                stamp=(stat.st_mtime_ns, stat.st_size),
            )
        )
    return entries


def walk(root: str) -> dict[str, tuple[int, int]]:
    """Every audio file under root with its (mtime_ns, size); stat calls only."""
    found: dict[str, tuple[int, int]] = {}
    for folder, _, names in os.walk(root):
        for name in names:
            if os.path.splitext(name)[1].lower() in AUDIO_SUFFIXES:
                full = os.path.join(folder, name)
                try:
                    stat = os.stat(full)
                except OSError:
                    continue
                relative = os.path.relpath(full, root).replace(os.sep, "/")
                found[relative] = (stat.st_mtime_ns, stat.st_size)
    return found


def score(entry: Entry, query: str) -> int:
    """How well entry matches a normalized query (0: not at all)."""
    title, artist = normalize(entry.title), normalize(entry.artist or "")
    words = query.split()
    haystack = f"{artist} {title} {normalize(entry.album or '')} {normalize(entry.path)}".split()
    if not words or not all(any(hay.startswith(word) for hay in haystack) for word in words):
        return 0
    points = 1
    if query in (title, f"{artist} {title}", f"{title} {artist}"):
        points += 10
    if all(word in f"{artist} {title}".split() for word in words):
        points += 3
    return points


class Library:
    """An index of a music folder."""

    def __init__(self, root: Path, *, rescan_seconds: float = 5.0) -> None:
        self.root = Path(root).expanduser().resolve()
        self.rescan_seconds = rescan_seconds
        self._entries: dict[str, Entry] = {}
        self._scanned_at = float("-inf")
        self._lock = asyncio.Lock()
        self._pool: ProcessPoolExecutor | None = None

    async def refresh(self, *, force: bool = False) -> None:
        """Re-read new and changed files (at most every rescan_seconds unless forced)."""
        async with self._lock:
            if not force and time.monotonic() - self._scanned_at < self.rescan_seconds:
                return
            if not self.root.is_dir():
                raise SourceError("The local music folder does not exist.")
            stamps = await asyncio.to_thread(walk, str(self.root))
            changed = [path for path, stamp in stamps.items() if self._entries.get(path, None) is None
                       or self._entries[path].stamp != stamp]  # fmt: skip
            for gone in set(self._entries) - set(stamps):
                del self._entries[gone]
            if changed:
                for entry in await self._read(changed):
                    self._entries[entry.path] = entry
                log.info("library: %d files, %d (re)read", len(self._entries), len(changed))
            self._scanned_at = time.monotonic()

    async def _read(self, paths: list[str]) -> list[Entry]:
        if len(paths) < IN_PROCESS_TAG_READS:
            return await asyncio.to_thread(read_tags, str(self.root), paths)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return await asyncio.get_running_loop().run_in_executor(self._pool, read_tags, str(self.root), paths)

    async def search(self, words: str, limit: int = 10) -> list[Track]:
        """Tracks whose artist, title, album or file name match every word, best first."""
        await self.refresh()
        exact = self._entries.get(words.removeprefix(LOCAL_PREFIX))
        if exact:
            return [self.track(exact)]
        query = normalize(words.replace(" - ", " "))
        ranked = sorted(
            ((score(entry, query), entry) for entry in self._entries.values()),
            key=lambda pair: (-pair[0], pair[1].path),
        )
        return [self.track(entry) for points, entry in ranked[:limit] if points > 0]

    async def entries(self) -> list[Entry]:
        """Every indexed file (refreshed as a search would)."""
        await self.refresh()
        return list(self._entries.values())

    def entry_of(self, track: Track) -> Entry | None:
        """The index entry of a `local:` track, if it is still indexed."""
        if track.source != "local":
            return None
        return self._entries.get(track.url.removeprefix(LOCAL_PREFIX))

    def track(self, entry: Entry) -> Track:
        """The Track for an index entry; its url is `local:` + the path inside the library."""
        return Track(
            title=entry.title,
            url=LOCAL_PREFIX + entry.path,
            source="local",
            duration_ms=entry.duration_ms,
            artist=entry.artist,
        )

    def media_input(self, track: Track) -> MediaInput:
        """The file to play for a `local:` track; only files inside the library folder."""
        relative = track.url.removeprefix(LOCAL_PREFIX)
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise SourceError(f"{quoted_title(track.title)} is no longer in the music folder.")
        return MediaInput(location=str(path), is_local_file=True)

    def close(self) -> None:
        """Stop the tag-reading process, if one was started."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
