"""IP discovery and transport decryption, checked against discord.py's own packet code."""

from __future__ import annotations

import struct
import types

import nacl.bindings
import pytest

from zilean.sandbox.voice import rtp

from .conftest import discord

KEY = bytes(range(32))


def _discordpy_packet(payload: bytes, *, sequence: int, timestamp: int, ssrc: int, nonce: int) -> bytes:
    """Build a voice packet with discord.py's own header layout and encrypt method."""
    header = bytearray(12)
    header[0], header[1] = 0x80, 0x78
    struct.pack_into(">H", header, 2, sequence)
    struct.pack_into(">I", header, 4, timestamp)
    struct.pack_into(">I", header, 8, ssrc)
    client = types.SimpleNamespace(secret_key=list(KEY), _incr_nonce=nonce)
    client.checked_add = types.MethodType(discord.VoiceClient.checked_add, client)
    encrypt = discord.VoiceClient._encrypt_aead_xchacha20_poly1305_rtpsize
    return bytes(encrypt(client, bytes(header), payload))


def test_discovery_request_and_response_match_what_discordpy_reads() -> None:
    request = bytearray(74)  # built exactly as gateway.py discover_ip() does
    struct.pack_into(">H", request, 0, 1)
    struct.pack_into(">H", request, 2, 70)
    struct.pack_into(">I", request, 4, 4242)
    assert rtp.is_discovery_request(bytes(request))
    assert rtp.discovery_ssrc(bytes(request)) == 4242

    response = rtp.discovery_response(4242, "127.0.0.1", 50123)
    assert len(response) == 74 and response[1] == 0x02
    assert struct.unpack_from(">HHI", response) == (2, 70, 4242)
    ip_end = response.index(0, 8)
    assert response[8:ip_end].decode("ascii") == "127.0.0.1"
    assert struct.unpack_from(">H", response, len(response) - 2)[0] == 50123


def test_discovery_rejects_other_packets() -> None:
    assert not rtp.is_discovery_request(bytes(73))
    assert not rtp.is_discovery_request(rtp.discovery_response(1, "127.0.0.1", 1))


def test_decrypts_a_packet_encrypted_by_discordpy() -> None:
    opus = b"\xfc\x01\x02opus-frame"
    packet = _discordpy_packet(opus, sequence=7, timestamp=960 * 6, ssrc=4242, nonce=6)
    header, payload = rtp.decrypt_xchacha(packet, KEY)
    assert payload == opus
    assert (header.sequence, header.timestamp, header.ssrc, header.payload_type) == (7, 5760, 4242, 120)
    assert packet[-4:] == struct.pack(">I", 6)


def test_sender_helper_builds_the_same_bytes_as_discordpy() -> None:
    opus = b"\xf8\xff\xfe"
    ours = rtp.encrypt_xchacha(opus, KEY, sequence=1, timestamp=0, ssrc=99, counter=0)
    assert ours == _discordpy_packet(opus, sequence=1, timestamp=0, ssrc=99, nonce=0)


@pytest.mark.parametrize("offset", [1, 5, 12, -5, -1])
def test_a_tampered_packet_is_rejected(offset: int) -> None:
    packet = bytearray(_discordpy_packet(b"\xfc" * 40, sequence=1, timestamp=0, ssrc=1, nonce=0))
    packet[offset] ^= 0x01
    with pytest.raises(rtp.PacketError):
        rtp.decrypt_xchacha(bytes(packet), KEY)


def test_a_wrong_key_is_rejected() -> None:
    packet = _discordpy_packet(b"\xfc" * 40, sequence=1, timestamp=0, ssrc=1, nonce=0)
    with pytest.raises(rtp.PacketError):
        rtp.decrypt_xchacha(packet, bytes(32))


def test_header_extension_is_authenticated_and_its_body_stripped() -> None:
    # Discord's own clients set X: the 4-byte preamble is in the AAD, the body is encrypted.
    header = struct.pack(">BBHII", 0x90, 0x78, 3, 1920, 77) + struct.pack(">HH", 0xBEDE, 2)
    body, opus = b"\x10\xaa\x00\x00\x21\xbb\xcc\x00", b"\xfc opus"
    nonce = struct.pack(">I", 9)
    sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        body + opus, header, nonce + bytes(20), KEY
    )
    parsed, payload = rtp.decrypt_xchacha(header + sealed + nonce, KEY)
    assert payload == opus
    assert (parsed.header_size, parsed.extension_words, parsed.ssrc) == (16, 2, 77)
