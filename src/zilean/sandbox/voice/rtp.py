"""Voice UDP packet formats: IP discovery and RTP with aead_xchacha20_poly1305_rtpsize."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions

MODE_XCHACHA = "aead_xchacha20_poly1305_rtpsize"
MODE_AES_GCM = "aead_aes256_gcm_rtpsize"
# Real Discord's offer; the sandbox lists xchacha first because it is the only one it can decrypt,
# and it is the mode discord.py ends up choosing against real Discord too.
OFFERED_MODES = [MODE_XCHACHA, MODE_AES_GCM]

DISCOVERY_SIZE = 74
DISCOVERY_REQUEST = 1
DISCOVERY_RESPONSE = 2
RTP_HEADER_SIZE = 12
NONCE_SIZE = 4
TAG_SIZE = 16
OPUS_PAYLOAD_TYPE = 120


class PacketError(ValueError):
    """A UDP packet that is not a well-formed voice packet."""


def is_discovery_request(data: bytes) -> bool:
    """True for a 74-byte IP discovery request (type 1, length 70)."""
    return len(data) == DISCOVERY_SIZE and data[:4] == struct.pack(">HH", DISCOVERY_REQUEST, 70)


def discovery_ssrc(data: bytes) -> int:
    """The SSRC carried by an IP discovery packet."""
    ssrc: int = struct.unpack_from(">I", data, 4)[0]
    return ssrc


def discovery_response(ssrc: int, address: str, port: int) -> bytes:
    """The 74-byte answer: type 2, length 70, ssrc, NUL-padded ASCII address, big-endian port."""
    encoded = address.encode("ascii")
    if len(encoded) > 63:
        raise ValueError("address too long for IP discovery")
    return struct.pack(">HHI64sH", DISCOVERY_RESPONSE, 70, ssrc, encoded, port)


@dataclass(frozen=True, slots=True)
class RtpHeader:
    """The fields of an RTP header the sandbox cares about."""

    sequence: int
    timestamp: int
    ssrc: int
    payload_type: int
    header_size: int  # 12, or 16 when the X bit adds the extension preamble to the AAD
    extension_words: int


def is_rtp(data: bytes) -> bool:
    """True when the packet looks like RTP version 2 (first two bits 10)."""
    return len(data) >= RTP_HEADER_SIZE and data[0] >> 6 == 2


def parse_header(data: bytes) -> RtpHeader:
    """Parse the RTP header; with the X bit, the 4-byte extension preamble belongs to the header."""
    if not is_rtp(data):
        raise PacketError("not an RTP packet")
    first, second, sequence, timestamp, ssrc = struct.unpack_from(">BBHII", data, 0)
    csrc_count = first & 0x0F
    header_size = RTP_HEADER_SIZE + 4 * csrc_count
    extension_words = 0
    if first & 0x10:
        if len(data) < header_size + 4:
            raise PacketError("truncated RTP extension")
        extension_words = struct.unpack_from(">H", data, header_size + 2)[0]
        header_size += 4
    return RtpHeader(sequence, timestamp, ssrc, second & 0x7F, header_size, extension_words)


def decrypt_xchacha(data: bytes, key: bytes) -> tuple[RtpHeader, bytes]:
    """Decrypt an rtpsize XChaCha20-Poly1305 packet; return the header and the Opus payload."""
    header = parse_header(data)
    if len(data) < header.header_size + TAG_SIZE + NONCE_SIZE:
        raise PacketError("packet too short")
    aad = data[: header.header_size]
    ciphertext = data[header.header_size : -NONCE_SIZE]
    nonce = data[-NONCE_SIZE:] + bytes(20)
    try:
        plain = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, aad, nonce, key)
    except nacl.exceptions.CryptoError as exc:
        raise PacketError("decryption failed") from exc
    # The extension body (not its preamble) is encrypted and sits at the start of the plaintext.
    return header, plain[4 * header.extension_words :]


def encrypt_xchacha(
    payload: bytes, key: bytes, *, sequence: int, timestamp: int, ssrc: int, counter: int
) -> bytes:
    """Build a packet the way discord.py does (used by tests and the benchmark's sender)."""
    header = struct.pack(">BBHII", 0x80, OPUS_PAYLOAD_TYPE, sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc)
    nonce_tail = struct.pack(">I", counter & 0xFFFFFFFF)
    sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        payload, header, nonce_tail + bytes(20), key
    )
    return header + sealed + nonce_tail
