"""A trusted origin exempts one host *and port*: another port on that host stays refused, at connect too."""

from __future__ import annotations

import pytest
from local_http import RecordingServer

from zilean.core.errors import UnsafeURLError
from zilean.core.sources.netguard import NetGuard


async def test_the_connect_time_check_exempts_the_trusted_port_only(
    media_server: RecordingServer, inner_server: RecordingServer
) -> None:
    """Both servers are 127.0.0.1; only the media server's port is trusted."""
    assert media_server.port != inner_server.port
    guard = NetGuard([media_server.origin])
    trusted = await guard.public_addresses("127.0.0.1", media_server.port, trusted_endpoint_ok=True)
    assert trusted == ["127.0.0.1"]
    with pytest.raises(UnsafeURLError, match="loopback"):
        await guard.public_addresses("127.0.0.1", inner_server.port, trusted_endpoint_ok=True)


async def test_the_guarded_client_reaches_the_trusted_port_and_not_its_neighbour(
    media_server: RecordingServer, inner_server: RecordingServer
) -> None:
    """The client skips the URL check, so only the connect-time check stands between it and the port."""
    url = media_server.add("/ok.bin", b"fine")
    guard = NetGuard([media_server.origin])
    async with guard.client() as client:
        response = await client.get(url)
        assert response.status_code == 200 and response.content == b"fine"
        with pytest.raises(UnsafeURLError):
            await client.get(inner_server.url("/secret"))
    assert inner_server.hits == []
