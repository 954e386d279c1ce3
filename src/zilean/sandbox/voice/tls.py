"""A self-signed certificate for the sandbox's wss:// voice endpoint (discord.py hardcodes wss://)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger(__name__)

CERT_NAME = "sandbox-voice-cert.pem"
KEY_NAME = "sandbox-voice-key.pem"
VALID_DAYS = 825
# Regenerate a cached certificate this long before it expires.
RENEW_MARGIN = dt.timedelta(days=7)


def _wanted_names(host: str) -> tuple[set[str], set[str]]:
    """The DNS names and IP addresses the certificate must cover for `host`."""
    dns = {"localhost"}
    ips = {"127.0.0.1"}
    try:
        ips.add(str(ipaddress.ip_address(host)))
    except ValueError:
        dns.add(host)
    return dns, ips


def _cached_is_usable(cert_path: Path, key_path: Path, host: str) -> bool:
    """True when a cached certificate exists, is not about to expire and covers the host."""
    if not (cert_path.is_file() and key_path.is_file()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    dns, ips = _wanted_names(host)
    have_dns = set(san.get_values_for_type(x509.DNSName))
    have_ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    fresh = cert.not_valid_after_utc - RENEW_MARGIN > dt.datetime.now(dt.UTC)
    return fresh and dns <= have_dns and ips <= have_ips


def _generate(cert_path: Path, key_path: Path, host: str) -> None:
    """Write a new self-signed EC P-256 certificate and key (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Groovy Zilean sandbox voice")])
    dns, ips = _wanted_names(host)
    alt_names: list[x509.GeneralName] = [x509.DNSName(d) for d in sorted(dns)]
    alt_names += [x509.IPAddress(ipaddress.ip_address(i)) for i in sorted(ips)]
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    # The certificate is its own trust anchor, so it is marked as a CA; the key identifiers and
    # key usages keep OpenSSL's strict verification (Python ≥ 3.13's default context) happy.
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    log.info("generated sandbox voice certificate %s", cert_path)


def ensure_certificate(cert_dir: Path | None, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """Return (cert_path, key_path), reusing a valid cached pair in cert_dir or generating one."""
    directory = cert_dir if cert_dir is not None else Path(tempfile.mkdtemp(prefix="zilean-voice-tls-"))
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / CERT_NAME, directory / KEY_NAME
    if not _cached_is_usable(cert_path, key_path, host):
        _generate(cert_path, key_path, host)
    return cert_path, key_path


def server_ssl_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    """A TLS server context for the voice websocket."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


def client_ssl_context(cert_path: Path) -> ssl.SSLContext:
    """A client context that trusts the sandbox certificate (for an injected aiohttp connector)."""
    return ssl.create_default_context(cafile=str(cert_path))
