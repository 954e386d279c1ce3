"""The network guard refuses every non-public target, on the first request and on every hop."""

from __future__ import annotations

import httpx
import pytest
from local_http import RecordingServer

from zilean.core.errors import SourceError, UnsafeURLError
from zilean.core.sources.netguard import NetGuard, address_problem, system_resolve


def fake_dns(mapping: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """A resolve function answering from a fixed table (falls back to the system for IP literals)."""

    async def resolve(host: str, port: int) -> list[str]:
        if host in mapping:
            return mapping[host]
        return await system_resolve(host, port)

    return resolve


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:a00:1::1", "private"),  # 6to4 of 10.0.0.1
        ("192.0.2.1", "private"),  # TEST-NET documentation range
    ],
)
def test_non_public_addresses_are_named(address: str, kind: str) -> None:
    problem = address_problem(address)
    assert problem is not None and kind in problem


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(address) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "not file: links"),
        ("ftp://example.com/a.mp3", "not ftp: links"),
        ("gopher://127.0.0.1:70/", "not gopher: links"),
        ("/etc/passwd", "plain text"),
        ("http://[::1]/", "loopback"),
        ("http://127.0.0.1/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://2130706433/", "loopback"),  # 127.0.0.1 as one decimal number
        ("http:///nohost", "no host"),
    ],
)
async def test_unsafe_urls_are_refused_with_a_clear_message(url: str, words: str) -> None:
    with pytest.raises(UnsafeURLError) as caught:
        await NetGuard().check_url(url)
    assert words in caught.value.message


async def test_hostname_resolving_to_a_private_address_is_refused_before_any_request() -> None:
    sent: list[httpx.Request] = []
    guard = NetGuard(resolve=fake_dns({"evil.test": ["10.0.0.1"]}))
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200)))
    with pytest.raises(UnsafeURLError, match="private network address"):
        async with guard.open(client, "http://evil.test/song.mp3"):
            pass
    await client.aclose()
    assert sent == []


async def test_one_private_answer_among_public_ones_is_enough_to_refuse() -> None:
    guard = NetGuard(resolve=fake_dns({"mixed.test": ["93.184.216.34", "127.0.0.1"]}))
    with pytest.raises(UnsafeURLError, match="loopback"):
        await guard.check_url("https://mixed.test/")


async def test_unknown_host_is_a_source_error_not_a_crash() -> None:
    async def nxdomain(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(SourceError, match=r"Couldn't find the site nowhere\.test"):
        await NetGuard(resolve=nxdomain).check_url("http://nowhere.test/")


async def test_redirect_to_loopback_is_refused_and_never_fetched(
    media_server: RecordingServer, inner_server: RecordingServer
) -> None:
    inner_server.add("/secret", b"internal data")
    start = media_server.redirect("/go", inner_server.url("/secret"))
    guard = NetGuard([media_server.origin])
    async with guard.client() as client:
        with pytest.raises(UnsafeURLError, match="loopback"):
            await guard.fetch_head(client, start)
    assert media_server.hits == ["/go"]
    assert inner_server.hits == []


@pytest.mark.parametrize("target", ["file:///etc/passwd", "http://169.254.169.254/latest/meta-data/"])
async def test_redirect_to_file_or_metadata_is_refused(media_server: RecordingServer, target: str) -> None:
    start = media_server.redirect("/go", target, status=301)
    guard = NetGuard([media_server.origin])
    async with guard.client() as client:
        with pytest.raises(UnsafeURLError):
            await guard.fetch_head(client, start)


async def test_redirect_loops_end(media_server: RecordingServer) -> None:
    media_server.redirect("/a", "/b")
    media_server.redirect("/b", "/a")
    guard = NetGuard([media_server.origin], max_redirects=3)
    async with guard.client() as client:
        with pytest.raises(SourceError, match="redirects too many times"):
            await guard.fetch_head(client, media_server.url("/a"))
    assert len(media_server.hits) == 4


async def test_connections_are_checked_again_at_connect_time(inner_server: RecordingServer) -> None:
    """DNS rebinding: the name looked public when checked, then answers loopback at connect."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    guard = NetGuard(resolve=rebinding)
    async with guard.client() as client:
        with pytest.raises(UnsafeURLError, match="loopback"):
            await guard.fetch_head(client, f"http://rebind.test:{inner_server.port}/")
    assert inner_server.hits == []


async def test_guarded_client_refuses_even_without_the_url_check(inner_server: RecordingServer) -> None:
    guard = NetGuard()
    async with guard.client() as client:
        with pytest.raises(UnsafeURLError):
            await client.get(inner_server.url("/"))
    assert inner_server.hits == []


async def test_trusted_origin_is_fetched_with_a_range_request(media_server: RecordingServer) -> None:
    url = media_server.add("/data.bin", bytes(range(256)) * 1000)
    guard = NetGuard([media_server.origin + "/"])
    assert guard.is_trusted(url)
    async with guard.client() as client:
        head = await guard.fetch_head(client, url, limit=1000)
    assert head.status == 206
    assert head.total_size == 256_000
    assert head.data == (bytes(range(256)) * 4)[:1000]


async def test_trust_is_per_origin_not_per_host(
    media_server: RecordingServer, inner_server: RecordingServer
) -> None:
    guard = NetGuard([media_server.origin])
    assert not guard.is_trusted(inner_server.url("/"))
    with pytest.raises(UnsafeURLError):
        await guard.check_url(inner_server.url("/"))
    with pytest.raises(UnsafeURLError):
        await guard.check_url(media_server.url("/").replace("http:", "https:"))
