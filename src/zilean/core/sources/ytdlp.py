"""Runs yt-dlp out of process: a few long-lived worker processes, one request each at a time, with a timeout.

A worker that times out is killed and replaced, so a hung site cannot pin a worker. Failures
come back as SourceError with a message safe for users (age-restricted, private, region-locked…).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import sys
from collections.abc import Iterable
from typing import Any

from zilean.core.errors import SourceError, UnsafeURLError
from zilean.core.sources.ytdlp_config import ENV_NAME, YtDlpConfig

log = logging.getLogger(__name__)

WORKER_MODULE = "zilean.core.sources.ytdlp_worker"
MAX_ANSWER_BYTES = 32 * 1024 * 1024
START_TIMEOUT = 60.0

MESSAGES = {
    "unsupported": "That page has nothing the bot can play (unsupported link).",
    "age": "That video is age-restricted, so the bot can't play it.",
    "private": "That video is private.",
    "region": "That video is not available in the bot's region.",
    "timeout": "The site took too long to answer.",
    "network": "The bot couldn't reach that site.",
    "live": "That live stream or premiere has not started yet.",
    "signin": (
        'The site wants the bot to sign in (a "confirm you\'re not a bot" check). '
        "The bot's owner can set YTDLP_COOKIES_FILE to a cookies file of a signed-in account."
    ),
    "rate_limited": (
        "The site is limiting how often the bot may ask (HTTP 429). Try again in a while; "
        "the bot's owner can set YTDLP_COOKIES_FILE or YTDLP_PROXY if it keeps happening."
    ),
    "premium": "That needs a paid (premium or members-only) account, so the bot can't play it.",
    "unavailable": "That video is unavailable (removed, or the link is wrong).",
    "error": "The site refused to give the bot that media.",
}


class ExtractFailed(SourceError):
    """yt-dlp could not extract; `kind` is one of MESSAGES' keys (what the fallback decides on)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def failure_message(kind: str, detail: str = "") -> str:
    """The user-facing message for a worker failure kind."""
    if kind == "unsafe":
        target = detail or "a private or local address"
        return f"That link leads to {target}, which the bot will not fetch."
    return MESSAGES.get(kind, MESSAGES["error"])


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


class YtDlpRunner:
    """A small pool of yt-dlp worker processes."""

    def __init__(
        self,
        trusted_endpoints: Iterable[tuple[str, int]] = (),
        *,
        timeout: float = 30.0,
        workers: int = 1,
        python: str = sys.executable,
        config: YtDlpConfig | None = None,
    ) -> None:
        self._trusted = sorted(set(trusted_endpoints))
        self._config = config or YtDlpConfig()
        self._timeout = timeout
        self._python = python
        self._ids = itertools.count(1)
        self._slots: asyncio.Queue[_Worker | None] = asyncio.Queue()
        self._all: set[_Worker] = set()
        self._size = max(1, workers)
        for _ in range(self._size):
            self._slots.put_nowait(None)

    async def extract(
        self, url: str, *, flat: bool, limit: int = 500, allow_generic: bool = True
    ) -> dict[str, Any]:
        """yt-dlp's (trimmed) answer for url: a video, a playlist or {"type": "generic"}; or SourceError."""
        request = {
            "id": next(self._ids),
            "url": url,
            "flat": flat,
            "limit": limit,
            "allow_generic": allow_generic,
        }
        answer = await self._ask(request)
        if not answer.get("ok"):
            kind, detail = str(answer.get("kind", "error")), str(answer.get("detail", ""))
            log.info("yt-dlp refused %s: %s %s", url, kind, detail)
            if kind == "unsafe":
                raise UnsafeURLError(failure_message(kind, detail))
            raise ExtractFailed(failure_message(kind, detail), kind)
        info: dict[str, Any] = answer["info"]
        return info

    async def diagnose(self) -> list[str]:
        """A worker's yt-dlp verbose header (versions, JS runtimes, optional libraries); no network."""
        answer = await self._ask({"id": next(self._ids), "diagnose": True, "url": ""})
        if not answer.get("ok"):
            raise SourceError("The media extractor could not describe itself.")
        return [str(line) for line in answer["info"]["header"]]

    async def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        worker = await self._slots.get()
        try:
            if worker is None or not worker.alive:
                worker = await self._spawn()
            assert worker.process.stdin is not None and worker.process.stdout is not None
            worker.process.stdin.write(json.dumps(request).encode() + b"\n")
            await worker.process.stdin.drain()
            async with asyncio.timeout(self._timeout):
                line = await worker.process.stdout.readline()
            if not line:
                raise SourceError(MESSAGES["error"])
            answer: dict[str, Any] = json.loads(line)
            return answer
        except TimeoutError:
            log.warning("yt-dlp worker timed out on %s; replacing it", request.get("url"))
            if worker is not None:
                await self._discard(worker)
                worker = None
            raise SourceError(MESSAGES["timeout"]) from None
        except BaseException:
            if worker is not None:
                await self._discard(worker)
                worker = None
            raise
        finally:
            if worker is not None and not worker.alive:
                await self._discard(worker)
                worker = None
            self._slots.put_nowait(worker)

    async def _spawn(self) -> _Worker:
        args = [arg for host, port in self._trusted for arg in ("--trust", f"{host}:{port}")]
        process = await asyncio.create_subprocess_exec(
            self._python, "-m", WORKER_MODULE, *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=MAX_ANSWER_BYTES,
            env={**os.environ, ENV_NAME: self._config.to_env()},  # not argv: it may hold a proxy password
        )  # fmt: skip
        worker = _Worker(process)
        self._all.add(worker)
        assert process.stdout is not None
        try:
            async with asyncio.timeout(START_TIMEOUT):
                ready = await process.stdout.readline()
        except TimeoutError:
            ready = b""
        if not ready:
            await self._discard(worker)
            raise SourceError("The media extractor could not start.")
        return worker

    async def _discard(self, worker: _Worker) -> None:
        worker.kill()
        await worker.process.wait()
        self._all.discard(worker)

    async def start(self, every: bool = False) -> None:
        """Start one worker (or every one, side by side) ahead of the first request: each worker's
        import of yt-dlp and its extractor table takes about a second."""
        if every:
            await asyncio.gather(*(self._start_one() for _ in range(self._size)))
        else:
            await self._start_one()

    async def _start_one(self) -> None:
        worker = await self._slots.get()
        try:
            if worker is None or not worker.alive:
                worker = await self._spawn()
        finally:
            self._slots.put_nowait(worker)

    async def close(self) -> None:
        """Stop every worker (side by side: each may take its 2 s)."""
        await asyncio.gather(*(self._stop(worker) for worker in list(self._all)))

    async def _stop(self, worker: _Worker) -> None:
        if worker.process.stdin is not None:
            worker.process.stdin.close()
        try:
            async with asyncio.timeout(2.0):
                await worker.process.wait()
        except TimeoutError:
            await self._discard(worker)
        self._all.discard(worker)
