"""Who may read /metrics: clients from METRICS_ALLOW_IPS (loopback by default) or with the METRICS_TOKEN.

Metrics name guilds' activity and the machine's load; on the internet they are nobody's business.
Behind nginx the dashboard sees the browser's address (uvicorn believes X-Forwarded-For only from
WEB_FORWARDED_ALLOW_IPS), so "loopback only" keeps /metrics private even through the proxy.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK = ("127.0.0.1/8", "::1/128")


@dataclass(frozen=True)
class MetricsAccess:
    """The allowed networks and the optional bearer token."""

    networks: tuple[Network, ...]
    token: str | None = None

    @classmethod
    def build(cls, allow: Sequence[str], token: str | None) -> MetricsAccess:
        """From METRICS_ALLOW_IPS entries (addresses or networks; empty: none) and METRICS_TOKEN."""
        entries = [entry.strip() for entry in allow if entry.strip()]
        networks = tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
        return cls(networks, token or None)

    def allows(self, client_host: str | None, authorization: str | None) -> bool:
        """True for a client in an allowed network or one presenting `Authorization: Bearer <token>`."""
        if self.token is not None and authorization is not None:
            scheme, _, given = authorization.partition(" ")
            given_bytes, token_bytes = given.strip().encode(), self.token.encode()
            if scheme.lower() == "bearer" and hmac.compare_digest(given_bytes, token_bytes):
                return True
        if client_host is None:
            return False
        try:
            address = ipaddress.ip_address(client_host)
        except ValueError:  # e.g. a unix socket peer or "testclient"
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)
