"""The self-signed certificate: names, caching, and a TLS client that trusts only it."""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

from cryptography import x509

from zilean.sandbox.voice import tls


def test_certificate_covers_localhost_names(tmp_path: Path) -> None:
    cert_path, key_path = tls.ensure_certificate(tmp_path)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert key_path.stat().st_mode & 0o077 == 0


def test_certificate_is_cached_in_cert_dir(tmp_path: Path) -> None:
    first = tls.ensure_certificate(tmp_path)[0].read_bytes()
    assert tls.ensure_certificate(tmp_path)[0].read_bytes() == first


def test_a_cached_certificate_for_another_host_is_replaced(tmp_path: Path) -> None:
    first = tls.ensure_certificate(tmp_path)[0].read_bytes()
    cert_path, _ = tls.ensure_certificate(tmp_path, host="127.0.0.2")
    assert cert_path.read_bytes() != first
    san = x509.load_pem_x509_certificate(cert_path.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert ipaddress.ip_address("127.0.0.2") in san.value.get_values_for_type(x509.IPAddress)


def test_without_cert_dir_a_temporary_one_is_used() -> None:
    cert_path, key_path = tls.ensure_certificate(None)
    assert cert_path.is_file() and key_path.is_file()


def test_client_context_verifies_hostname_and_strict_chain(tmp_path: Path) -> None:
    cert_path, key_path = tls.ensure_certificate(tmp_path)
    client = tls.client_ssl_context(cert_path)
    client.verify_flags |= ssl.VERIFY_X509_STRICT  # what Python ≥ 3.13 turns on by default
    server = tls.server_ssl_context(cert_path, key_path)
    assert client.check_hostname and client.verify_mode is ssl.CERT_REQUIRED
    _handshake(client, server, "127.0.0.1")
    _handshake(client, server, "localhost")


def _handshake(client: ssl.SSLContext, server: ssl.SSLContext, name: str) -> None:
    """Run a TLS handshake in memory between the two contexts."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client.wrap_bio(c_in, c_out, server_hostname=name)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"c": False, "s": False}
    for _ in range(10):
        for key, side in (("c", c), ("s", s)):
            if not done[key]:
                try:
                    side.do_handshake()
                    done[key] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return
    raise AssertionError("handshake did not finish")
