"""The network guard: the bot fetches only public http(s) addresses (SSRF and local-file-read defence).

Every URL is checked before the first request and on every redirect hop, and the HTTP client's
connections are checked again at connect time and made to the address that was checked (so a DNS
answer that changes between the check and the connect — DNS rebinding — cannot reach an inner
address). ffmpeg never resolves or connects on its own: it fetches through the egress proxy
(`zilean.core.sources.egress`), which uses this guard for every request. `trusted_origins` are the
only exceptions.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from zilean.core.errors import SourceError, UnsafeURLError

log = logging.getLogger(__name__)

# host, port -> the addresses the name resolves to. Injectable so tests can fake DNS.
Resolve = Callable[[str, int], Awaitable[list[str]]]

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


async def system_resolve(host: str, port: int) -> list[str]:
    """Resolve a host name with the operating system's resolver (without blocking the loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def address_problem(text: str) -> str | None:
    """Why the bot must not connect to this IP address (a phrase for users), or None if it is public."""
    try:
        address: IPAddress = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return "an address that is not valid"
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv6 address can carry an IPv4 one that the kernel or a NAT64 gateway will reach.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None:
            return address_problem(str(embedded))
    if address.is_unspecified:
        return "an unspecified address (this machine)"
    if address.is_loopback:
        return "a loopback address (this machine)"
    if address.is_link_local:
        return "a link-local address (such as a cloud metadata service)"
    if isinstance(address, ipaddress.IPv4Address) and address in CGNAT:
        return "a carrier-grade NAT address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private network address"
    if not address.is_global:
        return "an address that is not on the public internet"
    return None


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, with the scheme's default port filled in."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    return scheme, host, port


@dataclass(frozen=True, slots=True)
class Head:
    """The first bytes of a fetched resource and what the server said about it."""

    url: str  # after redirects
    status: int
    content_type: str
    total_size: int | None  # the whole resource's size when the server tells it
    data: bytes


class NetGuard:
    """Checks URLs and connections against the public-address rule; fetches through that check."""

    def __init__(
        self,
        trusted_origins: Iterable[str] = (),
        *,
        resolve: Resolve | None = None,
        max_redirects: int = 5,
    ) -> None:
        self._trusted = frozenset(origin_of(origin) for origin in trusted_origins)
        self._endpoints = frozenset((host, port) for _, host, port in self._trusted)
        self._resolve = resolve or system_resolve
        self.max_redirects = max_redirects

    @property
    def trusted_origins(self) -> tuple[str, ...]:
        """The exempt origins as scheme://host:port strings (for the yt-dlp worker's own guard)."""
        return tuple(sorted(f"{s}://{h}:{p}" for s, h, p in self._trusted))

    def is_trusted(self, url: str) -> bool:
        """True if the URL's origin is one of the configured exceptions."""
        return origin_of(url) in self._trusted

    async def check_url(self, url: str) -> None:
        """Raise UnsafeURLError unless the URL is http(s) and every address its host has is public."""
        try:
            scheme, host, port = origin_of(url)
        except ValueError:
            raise UnsafeURLError("That link is malformed.") from None
        if scheme not in ALLOWED_SCHEMES:
            shown = f"{scheme}:" if scheme else "plain text"
            raise UnsafeURLError(f"Only http and https links can be played, not {shown} links.")
        if not host:
            raise UnsafeURLError("That link has no host name.")
        if (scheme, host, port) in self._trusted:
            return
        await self.public_addresses(host, port)

    async def public_addresses(self, host: str, port: int, *, trusted_endpoint_ok: bool = False) -> list[str]:
        """The addresses of host, or UnsafeURLError if any of them is not public.

        At connect time the scheme is unknown, so `trusted_endpoint_ok` exempts a trusted host and port.
        """
        try:
            addresses = await self._resolve(host, port)
        except (OSError, UnicodeError):
            raise SourceError(f"Couldn't find the site {host}.") from None
        if not addresses:
            raise SourceError(f"Couldn't find the site {host}.")
        if trusted_endpoint_ok and (host.lower(), port) in self._endpoints:
            return addresses
        for address in addresses:
            problem = address_problem(address)
            if problem:
                log.info("refused %s:%s -> %s (%s)", host, port, address, problem)
                raise UnsafeURLError(f"That link leads to {problem}, which the bot will not fetch.")
        return addresses

    def client(self, timeout: float = 10.0, *, proxy: str | None = None) -> httpx.AsyncClient:
        """An HTTP client whose every connection passes the address check; it never follows redirects.

        With `proxy` (YTDLP_PROXY: streams yt-dlp found through it may only work from its address)
        the proxy resolves and connects: URLs are still checked before each hop, connects cannot be.
        """
        transport = None if proxy else GuardedTransport(self)
        return httpx.AsyncClient(
            transport=transport,
            proxy=proxy,
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": "GroovyZilean/0.1 (+music bot)", "Accept-Encoding": "identity"},
        )

    @asynccontextmanager
    async def open(
        self, client: httpx.AsyncClient, url: str, *, headers: dict[str, str] | None = None
    ) -> AsyncIterator[httpx.Response]:
        """GET url as a stream, following at most `max_redirects` redirects, checking each hop."""
        current = url
        for _ in range(self.max_redirects + 1):
            await self.check_url(current)
            request = client.build_request("GET", current, headers=headers)
            try:
                response = await client.send(request, stream=True, follow_redirects=False)
            except httpx.TimeoutException:
                raise SourceError("The site took too long to answer.") from None
            except httpx.HTTPError as exc:
                log.info("fetch of %s failed: %r", current, exc)
                raise SourceError("Couldn't connect to that site.") from None
            location = response.headers.get("location")
            if response.status_code in REDIRECT_STATUSES and location:
                await response.aclose()
                current = urljoin(str(response.url), location)
                continue
            try:
                yield response
            finally:
                await response.aclose()
            return
        raise SourceError("That link redirects too many times.")

    async def fetch_head(
        self,
        client: httpx.AsyncClient,
        url: str,
        limit: int = 64 * 1024,
        headers: dict[str, str] | None = None,
    ) -> Head:
        """The first `limit` bytes of url (a Range request; servers that ignore it are cut off)."""
        wanted = {**(headers or {}), "Range": f"bytes=0-{limit - 1}"}
        async with self.open(client, url, headers=wanted) as response:
            if response.status_code >= 400:
                raise SourceError(f"The site answered with an error ({response.status_code}).")
            data = bytearray()
            try:
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) >= limit:
                        break
            except httpx.HTTPError as exc:  # broke off: what arrived is still a head to judge
                log.info("fetch of %s broke off after %d bytes: %r", url, len(data), exc)
                if not data:
                    raise SourceError("The site broke off the connection.") from None
            return Head(
                url=str(response.url),
                status=response.status_code,
                content_type=response.headers.get("content-type", "").split(";")[0].strip().lower(),
                total_size=_total_size(response),
                data=bytes(data[:limit]),
            )


def _total_size(response: httpx.Response) -> int | None:
    if response.status_code == 206:
        total = response.headers.get("content-range", "").rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = response.headers.get("content-length", "")
    return int(length) if length.isdigit() else None


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks the host itself, then connects to the checked address."""

    def __init__(self, guard: NetGuard) -> None:
        self._guard = guard
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._guard.public_addresses(host, port, trusted_endpoint_ok=True)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeURLError("Unix sockets are not fetched.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with a connection pool whose network backend is the guard."""

    def __init__(self, guard: NetGuard) -> None:
        super().__init__()
        # httpx has no public hook for the network backend; the pool is the documented httpcore one.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=_GuardedBackend(guard)
        )
