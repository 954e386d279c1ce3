"""The egress proxy: ffmpeg's only way out to the network, with the guard on every request.

ffmpeg never opens a site itself. It gets `http://zilean.invalid/<token>/<n>/<name>` (a name
that never resolves), `http_proxy` pointing here and a protocol whitelist without https/tls, so
every connection it makes is a TCP connect to this proxy on 127.0.0.1. The proxy serves only
what a `Ticket` registered: the vetted media URL and the entries of the HLS playlists it served
(rewritten so each entry is a proxy URL too). Each of those is fetched through the network guard —
every redirect hop and every connect checked, the connect made to the address that was checked
(DNS rebinding cannot switch it) — with the same headers every time (no User-Agent cloaking).
Anything else ffmpeg asks for is refused, counted and logged. DASH manifests are refused.

Per ticket the proxy also caps requests (a server that closes early made ffmpeg reconnect
thousands of times a second) and the play time of responses without a declared size (radio).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import unquote, urlsplit

import httpx

from zilean.core.errors import SourceError, ZileanError
from zilean.core.media import PROXY_HOST, MediaInput
from zilean.core.sources.netguard import NetGuard
from zilean.core.sources.streams import MAX_PLAYLIST_BYTES, looks_like_dash, looks_like_hls, rewrite_playlist

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 10.0
MAX_REQUEST_LINE = 8192
MAX_HEADER_LINES = 64
SNIFF_BYTES = 1024
# At most this many requests per ticket in any window: a live HLS stream needs about two a second.
REQUEST_WINDOW_S = 10.0
MAX_REQUESTS_PER_WINDOW = 40
MAX_ENTRIES = 20_000  # playlist entries remembered per ticket (a day of 4-s live segments)
DEFAULT_STREAM_LIMIT_S = 4 * 3600
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_PASSED_HEADERS = ("content-type", "content-length", "content-range", "accept-ranges", "content-encoding")
REASONS = {
    200: "OK",
    206: "Partial Content",
    403: "Forbidden",
    404: "Not Found",
    405: "Not Allowed",
    410: "Gone",
    416: "Range Not Satisfiable",
}


class Ticket:
    """One vetted media resource and the playlist entries it led to: all ffmpeg may fetch for a track.

    `failure` is a user-safe reason once the proxy gave up on it (the stream reports it).
    """

    def __init__(
        self, token: str, url: str, headers: dict[str, str], client: httpx.AsyncClient | None = None
    ) -> None:
        self.token = token
        self.headers = headers
        self.client = client  # None: the proxy's own guarded client
        self.failure: str | None = None
        self.requests = 0  # served or refused, for tests and logs
        self._urls: dict[int, str] = {0: url}
        self._numbers: dict[str, int] = {url: 0}
        self._next = 1
        self._recent: deque[float] = deque()
        self._unsized_since: float | None = None

    def location(self, number: int = 0) -> str:
        """The proxy URL of entry `number` (the upstream file name kept: ffmpeg checks extensions)."""
        path = unquote(urlsplit(self._urls[number]).path)
        name = _SAFE_NAME.sub("_", path.rsplit("/", 1)[-1])[:80] or "media"
        return f"http://{PROXY_HOST}/{self.token}/{number}/{name}"

    def entry(self, url: str) -> str:
        """Register a playlist entry and return the proxy URL ffmpeg gets for it instead."""
        number = self._numbers.get(url)
        if number is None:
            if len(self._urls) >= MAX_ENTRIES:
                oldest = next(iter(self._urls))
                self._numbers.pop(self._urls.pop(oldest), None)
            number, self._next = self._next, self._next + 1
            self._urls[number], self._numbers[url] = url, number
        return self.location(number)

    def upstream(self, number: int) -> str | None:
        return self._urls.get(number)

    def admit(self, now: float) -> bool:
        """Count a request; False once the ticket asked too often (it then fails for good)."""
        self.requests += 1
        self._recent.append(now)
        while self._recent and self._recent[0] < now - REQUEST_WINDOW_S:
            self._recent.popleft()
        if len(self._recent) > MAX_REQUESTS_PER_WINDOW and self.failure is None:
            log.warning(
                "ticket %s: %d requests in %.0f s; giving up",
                self.token[:8],
                len(self._recent),
                REQUEST_WINDOW_S,
            )
            self.failure = "The site kept dropping the connection, so the bot gave up on this track."
        return self.failure is None

    def unsized_deadline(self, now: float, limit_s: float) -> float:
        """When an unsized (radio) response of this ticket must stop; the clock starts at the first."""
        if self._unsized_since is None:
            self._unsized_since = now
        return self._unsized_since + limit_s


class _Refusal(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


class EgressProxy:
    """The loopback HTTP proxy ffmpeg must use; see the module docstring."""

    def __init__(
        self, guard: NetGuard, client: httpx.AsyncClient, *, stream_limit_s: float = DEFAULT_STREAM_LIMIT_S
    ) -> None:
        self._guard = guard
        self._client = client
        self._stream_limit_s = stream_limit_s
        self._tickets: weakref.WeakValueDictionary[str, Ticket] = weakref.WeakValueDictionary()
        self._server: asyncio.Server | None = None
        self._address = ""
        self._starting = asyncio.Lock()
        self._handlers: set[asyncio.Task[None]] = set()
        self.refused = 0  # requests for something no ticket registered

    @property
    def address(self) -> str:
        """`http://127.0.0.1:PORT`, the value of ffmpeg's http_proxy (empty until started)."""
        return self._address

    async def start(self) -> None:
        """Listen on a free loopback port (once; later calls return at once)."""
        async with self._starting:
            if self._server is None:
                self._server = await asyncio.start_server(
                    self._accept, "127.0.0.1", 0, limit=MAX_REQUEST_LINE
                )
                port = self._server.sockets[0].getsockname()[1]
                self._address = f"http://127.0.0.1:{port}"

    async def media_input(
        self, url: str, headers: dict[str, str] | None = None, *, client: httpx.AsyncClient | None = None
    ) -> MediaInput:
        """The MediaInput for a URL that passed the guard: ffmpeg will read it through this proxy.

        `client` fetches this ticket's resources instead of the proxy's own (YTDLP_PROXY's client)."""
        await self.start()
        ticket = Ticket(secrets.token_urlsafe(16), url, dict(headers or {}), client)
        self._tickets[ticket.token] = ticket
        return MediaInput(location=ticket.location(), proxy=self.address, ticket=ticket)

    async def close(self) -> None:
        """Stop listening and end the connections being served."""
        if self._server is not None:
            self._server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    # --- serving ----------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # ffmpeg went away (a seek, a close): nothing to answer
        except asyncio.CancelledError:
            pass  # close(): this task ends here (asyncio's stream callback would log a re-raise)
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                target, request_headers = await _read_request(reader)
            ticket, upstream = self._lookup(target)
        except (_Refusal, TimeoutError, ValueError) as exc:
            self.refused += 1
            log.warning("egress proxy refused a request from ffmpeg: %s", exc)
            await _answer(writer, exc.status if isinstance(exc, _Refusal) else 403)
            return
        headers = {**ticket.headers, "Accept-Encoding": "identity"}
        if "range" in request_headers:
            headers["Range"] = request_headers["range"]
        try:
            async with self._guard.open(ticket.client or self._client, upstream, headers=headers) as response:
                await self._relay(ticket, response, writer, _byte_range(request_headers.get("range", "")))
        except ZileanError as exc:
            # The guard refused a hop or a connect, or the site failed: ffmpeg sees an HTTP error.
            log.info("egress proxy: ticket %s entry refused or failed: %s", ticket.token[:8], exc.message)
            if ticket.failure is None:
                ticket.failure = exc.message
            with contextlib.suppress(ConnectionError):
                await _answer(writer, 403)
        except httpx.HTTPError as exc:
            log.info("egress proxy: upstream broke off (%r)", exc)  # ffmpeg may reconnect, within the cap

    def _lookup(self, target: str) -> tuple[Ticket, str]:
        parts = urlsplit(target)
        if (
            parts.scheme != "http"
            or (parts.hostname or "").lower() != PROXY_HOST
            or parts.port not in (None, 80)
        ):
            raise _Refusal(403, f"not a proxy URL: {target[:200]!r}")
        token, _, rest = parts.path.lstrip("/").partition("/")
        number = rest.partition("/")[0]
        ticket = self._tickets.get(token)
        if ticket is None or not number.isdigit():
            raise _Refusal(404, "an unknown or expired ticket")
        upstream = ticket.upstream(int(number))
        if upstream is None:
            raise _Refusal(404, f"ticket {token[:8]} has no entry {number}")
        if not ticket.admit(time.monotonic()):
            raise _Refusal(410, f"ticket {token[:8]} is over its request budget or failed")
        return ticket, upstream

    async def _relay(
        self,
        ticket: Ticket,
        response: httpx.Response,
        writer: asyncio.StreamWriter,
        wanted: tuple[int, int | None] | None,
    ) -> None:
        if response.status_code >= 400:
            await _answer(writer, response.status_code)
            return
        chunks = response.aiter_raw()
        head = await _first_bytes(chunks)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if looks_like_dash(content_type, head):
            ticket.failure = "That link is a DASH manifest, which the bot does not play."
            await _answer(writer, 403)
            return
        if looks_like_hls(content_type, head):
            body = bytearray(head)
            async for chunk in chunks:
                body += chunk
                if len(body) > MAX_PLAYLIST_BYTES:
                    raise SourceError("That stream's playlist is too large.")
            text = rewrite_playlist(body.decode("utf-8", "replace"), str(response.url), ticket.entry)
            data = text.encode()
            await _answer(
                writer,
                200,
                {"Content-Type": "application/vnd.apple.mpegurl", "Content-Length": str(len(data))},
                data,
            )
            return
        passed = {name: response.headers[name] for name in _PASSED_HEADERS if name in response.headers}
        length = response.headers.get("content-length", "")
        if length.isdigit():
            passed["accept-ranges"] = "bytes"  # ranges work even where the site ignores them (below)
            skip, count = 0, int(length)
            if response.status_code == 200 and wanted is not None and wanted[0] > 0:
                # The site ignored ffmpeg's Range (a seek): skip to it here and answer as the range.
                skip, total = wanted[0], count
                if skip >= total:
                    await _answer(writer, 416, {"Content-Range": f"bytes */{total}", "Content-Length": "0"})
                    return
                last = min(total - 1, wanted[1] if wanted[1] is not None else total - 1)
                count = last - skip + 1
                passed.update({"content-range": f"bytes {skip}-{last}/{total}", "content-length": str(count)})
                await _answer(writer, 206, passed)
            else:
                await _answer(writer, response.status_code, passed)
            async for chunk in _window(_prepend(head, chunks), skip, count):
                writer.write(chunk)
                await writer.drain()
            return
        # No declared size (radio): chunked, so that an upstream that breaks off reaches ffmpeg as
        # an error it may reconnect on (within the budget), not as the end; and capped by time.
        deadline = ticket.unsized_deadline(time.monotonic(), self._stream_limit_s)
        await _answer(writer, response.status_code, {**passed, "Transfer-Encoding": "chunked"})
        async for chunk in _prepend(head, chunks):
            if time.monotonic() >= deadline:
                limit = round(self._stream_limit_s / 60)
                log.info("ticket %s: unsized stream reached its %d-minute limit", ticket.token[:8], limit)
                ticket.failure = f"This stream reached the bot's {limit}-minute limit for endless streams."
                break
            if chunk:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()


def _byte_range(value: str) -> tuple[int, int | None] | None:
    """(first, last) of a `bytes=first-[last]` Range header; None for anything else."""
    unit, _, spec = value.strip().partition("=")
    first, dash, last = spec.partition("-")
    if unit.lower() != "bytes" or not dash or not first.isdigit() or (last and not last.isdigit()):
        return None
    return int(first), int(last) if last else None


async def _window(chunks: AsyncIterator[bytes], skip: int, count: int) -> AsyncIterator[bytes]:
    """The `count` bytes of `chunks` that follow the first `skip`."""
    async for chunk in chunks:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        piece = chunk[skip : skip + count]
        skip = 0
        count -= len(piece)
        if piece:
            yield piece
        if count <= 0:
            return


async def _prepend(head: bytes, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield head
    async for chunk in chunks:
        yield chunk


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    """The target of ffmpeg's proxy request (absolute form) and its headers, lower-cased."""
    line = (await reader.readline()).decode("latin-1").strip()
    method, _, rest = line.partition(" ")
    target = rest.rpartition(" ")[0]
    if method != "GET" or not target:
        raise _Refusal(405, f"not a GET request: {line[:100]!r}")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADER_LINES):
        raw = (await reader.readline()).decode("latin-1").strip()
        if not raw:
            return target, headers
        name, _, value = raw.partition(":")
        headers[name.strip().lower()] = value.strip()
    raise _Refusal(403, "too many request headers")


async def _first_bytes(chunks: AsyncIterator[bytes]) -> bytes:
    head = b""
    async for chunk in chunks:
        head += chunk
        if len(head) >= SNIFF_BYTES:
            break
    return head


async def _answer(
    writer: asyncio.StreamWriter, status: int, headers: dict[str, str] | None = None, body: bytes = b""
) -> None:
    fields = {"Content-Length": str(len(body))} if headers is None else dict(headers)
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}", *(f"{k}: {v}" for k, v in fields.items())]
    writer.write(("\r\n".join([*lines, "Connection: close", "", ""])).encode("latin-1") + body)
    await writer.drain()
