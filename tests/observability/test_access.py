"""Who may read /metrics: allow-listed addresses and networks, or the bearer token, nobody else."""

from __future__ import annotations

from zilean.observability.access import MetricsAccess


def test_loopback_and_listed_networks_are_allowed_others_not() -> None:
    access = MetricsAccess.build(["127.0.0.1", "::1", "10.1.0.0/16"], None)
    assert access.allows("127.0.0.1", None)
    assert access.allows("::1", None)
    assert access.allows("::ffff:127.0.0.1", None)  # an IPv4 client on a dual-stack socket
    assert access.allows("10.1.200.3", None)
    assert not access.allows("10.2.0.1", None)
    assert not access.allows("203.0.113.9", None)
    assert not access.allows("testclient", None)
    assert not access.allows(None, None)


def test_the_token_lets_anyone_in_and_nothing_else_does() -> None:
    access = MetricsAccess.build([], "tok-123")
    assert access.allows("203.0.113.9", "Bearer tok-123")
    assert access.allows("203.0.113.9", "bearer tok-123")
    assert not access.allows("203.0.113.9", "Bearer tok-1234")
    assert not access.allows("203.0.113.9", "Basic tok-123")
    assert not access.allows("127.0.0.1", None)  # an empty allow-list allows no address
    assert not MetricsAccess.build([], None).allows("127.0.0.1", "Bearer ")
