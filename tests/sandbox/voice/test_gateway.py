"""The voice websocket v8 over TLS, driven by a raw aiohttp client, and the UDP side it announces."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from zilean.sandbox.voice import VoiceServer, rtp

GUILD, USER, SESSION, TOKEN = 111, 222, "voice-session", "voice-token"


@pytest.fixture
async def http(voice_server: VoiceServer) -> AsyncIterator[aiohttp.ClientSession]:
    context = ssl.create_default_context(cafile=str(voice_server.cert_path))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session:
        yield session


async def _recv(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    payload: dict[str, Any] = json.loads(message.data)
    assert "d" in payload  # discord.py reads msg['d'] unconditionally
    return payload


async def _connect(http: aiohttp.ClientSession, server: VoiceServer) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(f"wss://{server.endpoint}/?v=8", compress=15)
    hello = await _recv(ws)
    assert hello["op"] == 8 and hello["d"]["heartbeat_interval"] > 0
    return ws


async def _identify(ws: aiohttp.ClientWebSocketResponse, token: str = TOKEN, session: str = SESSION) -> None:
    await ws.send_json(
        {
            "op": 0,
            "d": {
                "server_id": str(GUILD),
                "user_id": str(USER),
                "session_id": session,
                "token": token,
                "max_dave_protocol_version": 1,
            },
        }
    )


async def _closed_with(ws: aiohttp.ClientWebSocketResponse) -> int | None:
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    return ws.close_code


async def _handshake(
    http: aiohttp.ClientSession, server: VoiceServer
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any], bytes, socket.socket]:
    """IDENTIFY → READY → IP discovery → SELECT_PROTOCOL → SESSION_DESCRIPTION, like discord.py."""
    server.expect_session(guild_id=GUILD, user_id=USER, session_id=SESSION, token=TOKEN)
    ws = await _connect(http, server)
    await _identify(ws)
    ready = await _recv(ws)
    assert ready["op"] == 2
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5)
    sock.connect((ready["d"]["ip"], ready["d"]["port"]))
    request = bytearray(74)
    request[0:8] = (1).to_bytes(2, "big") + (70).to_bytes(2, "big") + ready["d"]["ssrc"].to_bytes(4, "big")
    sock.send(request)
    answer = await asyncio.to_thread(sock.recv, 100)
    ip = answer[8 : answer.index(0, 8)].decode()
    port = int.from_bytes(answer[-2:], "big")
    assert (ip, port) == sock.getsockname()
    await ws.send_json(
        {
            "op": 1,
            "d": {"protocol": "udp", "data": {"address": ip, "port": port, "mode": ready["d"]["modes"][0]}},
        }
    )
    description = await _recv(ws)
    assert description["op"] == 4
    return ws, ready["d"], bytes(description["d"]["secret_key"]), sock


async def test_full_handshake_speaking_heartbeat_and_packets(
    http: aiohttp.ClientSession, voice_server: VoiceServer
) -> None:
    ws, ready, key, sock = await _handshake(http, voice_server)
    try:
        assert ws.compress == 15  # permessage-deflate negotiated, as discord.py asks for it
        assert ready["modes"][0] == "aead_xchacha20_poly1305_rtpsize"
        assert "aead_aes256_gcm_rtpsize" in ready["modes"]
        assert ready["port"] == voice_server.udp_port and ready["ip"] == "127.0.0.1"
        assert len(key) == 32
        assert voice_server.stats(GUILD)["connected"] is True

        await ws.send_json({"op": 3, "d": {"t": 1234567, "seq_ack": 2}})
        ack = await _recv(ws)
        assert ack == {"op": 6, "d": {"t": 1234567}}

        await ws.send_json({"op": 5, "d": {"speaking": 1, "delay": 0, "ssrc": ready["ssrc"]}})
        for n in range(10):
            sock.send(
                rtp.encrypt_xchacha(
                    b"\xf8\xff\xfe", key, sequence=n + 1, timestamp=960 * n, ssrc=ready["ssrc"], counter=n
                )
            )
        sock.send(
            rtp.encrypt_xchacha(
                b"\xf8\xff\xfe", bytes(32), sequence=11, timestamp=0, ssrc=ready["ssrc"], counter=10
            )
        )
        async with asyncio.timeout(5):
            while voice_server.stats(GUILD)["decrypt_errors"] < 1:  # noqa: ASYNC110 - polled stats
                await asyncio.sleep(0.01)
        stats = voice_server.stats(GUILD)
        assert (stats["speaking"], stats["packets"], stats["ssrc"]) == (True, 10, ready["ssrc"])
        await ws.send_json({"op": 5, "d": {"speaking": 0, "delay": 0, "ssrc": ready["ssrc"]}})
        await ws.send_json({"op": 3, "d": {"t": 1, "seq_ack": 3}})
        await _recv(ws)
        assert voice_server.stats(GUILD)["speaking"] is False
    finally:
        sock.close()
        await ws.close()


async def test_wrong_token_closes_4004(http: aiohttp.ClientSession, voice_server: VoiceServer) -> None:
    voice_server.expect_session(guild_id=GUILD, user_id=USER, session_id=SESSION, token=TOKEN)
    ws = await _connect(http, voice_server)
    await _identify(ws, token="not-the-token")
    assert await _closed_with(ws) == 4004


async def test_unknown_session_closes_4006(http: aiohttp.ClientSession, voice_server: VoiceServer) -> None:
    voice_server.expect_session(guild_id=GUILD, user_id=USER, session_id=SESSION, token=TOKEN)
    ws = await _connect(http, voice_server)
    await _identify(ws, session="someone-else")
    assert await _closed_with(ws) == 4006


@pytest.mark.parametrize("frame", ["not json", '{"d": {}}', '{"op": 5, "d": 3}', '{"op": "x", "d": null}'])
async def test_malformed_payloads_close_4002(
    http: aiohttp.ClientSession, voice_server: VoiceServer, frame: str
) -> None:
    voice_server.expect_session(guild_id=GUILD, user_id=USER, session_id=SESSION, token=TOKEN)
    ws = await _connect(http, voice_server)
    if frame.startswith('{"op": 5'):
        await _identify(ws)
        await _recv(ws)
    await ws.send_str(frame)
    assert await _closed_with(ws) == 4002


async def test_unknown_opcode_closes_4001(http: aiohttp.ClientSession, voice_server: VoiceServer) -> None:
    voice_server.expect_session(guild_id=GUILD, user_id=USER, session_id=SESSION, token=TOKEN)
    ws = await _connect(http, voice_server)
    await _identify(ws)
    await _recv(ws)
    await ws.send_json({"op": 99, "d": None})
    assert await _closed_with(ws) == 4001


async def test_ops_before_identify_close_4003(http: aiohttp.ClientSession, voice_server: VoiceServer) -> None:
    ws = await _connect(http, voice_server)
    await ws.send_json({"op": 5, "d": {"speaking": 1, "delay": 0, "ssrc": 1}})
    assert await _closed_with(ws) == 4003


async def test_unsupported_mode_closes_4016(http: aiohttp.ClientSession, voice_server: VoiceServer) -> None:
    voice_server.expect_session(guild_id=GUILD, user_id=USER, session_id=SESSION, token=TOKEN)
    ws = await _connect(http, voice_server)
    await _identify(ws)
    await _recv(ws)
    mode = {"address": "127.0.0.1", "port": 1, "mode": "aead_aes256_gcm_rtpsize"}
    await ws.send_json({"op": 1, "d": {"protocol": "udp", "data": mode}})
    assert await _closed_with(ws) == 4016


async def test_drop_then_resume(http: aiohttp.ClientSession, voice_server: VoiceServer) -> None:
    ws, _ready, _key, sock = await _handshake(http, voice_server)
    sock.close()
    await voice_server.drop_websocket(GUILD)
    assert await _closed_with(ws) == 4015
    assert voice_server.stats(GUILD)["connected"] is False

    resumed = await _connect(http, voice_server)
    await resumed.send_json(
        {"op": 7, "d": {"token": TOKEN, "server_id": str(GUILD), "session_id": SESSION, "seq_ack": 2}}
    )
    answer = await _recv(resumed)
    assert answer["op"] == 9
    repeated = await _recv(resumed)  # discord.py needs the key again on the new socket
    assert repeated["op"] == 4 and bytes(repeated["d"]["secret_key"]) == _key
    stats = voice_server.stats(GUILD)
    assert (stats["connected"], stats["resumes"], stats["ws_connects"]) == (True, 1, 2)
    await resumed.close()


async def test_resume_accepts_the_token_of_a_newer_voice_server_update(
    http: aiohttp.ClientSession, voice_server: VoiceServer
) -> None:
    ws, _ready, _key, sock = await _handshake(http, voice_server)
    sock.close()
    await voice_server.drop_websocket(GUILD)
    await _closed_with(ws)
    voice_server.expect_session(guild_id=GUILD, user_id=USER, session_id=SESSION, token="newer")
    resumed = await _connect(http, voice_server)
    await resumed.send_json(
        {"op": 7, "d": {"token": "newer", "server_id": str(GUILD), "session_id": SESSION}}
    )
    assert (await _recv(resumed))["op"] == 9
    await resumed.close()


async def test_resume_with_a_bad_token_closes_4004(
    http: aiohttp.ClientSession, voice_server: VoiceServer
) -> None:
    ws, _ready, _key, sock = await _handshake(http, voice_server)
    sock.close()
    await voice_server.drop_websocket()
    await _closed_with(ws)
    again = await _connect(http, voice_server)
    await again.send_json({"op": 7, "d": {"token": "nope", "server_id": str(GUILD), "session_id": SESSION}})
    assert await _closed_with(again) == 4004


async def test_end_session_closes_4014_and_keeps_stats(
    http: aiohttp.ClientSession, voice_server: VoiceServer
) -> None:
    ws, _ready, _key, sock = await _handshake(http, voice_server)
    sock.close()
    voice_server.end_session(GUILD)
    assert await _closed_with(ws) == 4014
    stats = voice_server.stats(GUILD)
    assert stats["connected"] is False and stats["ssrc"] is None


async def test_the_certificate_is_needed(voice_server: VoiceServer) -> None:
    async with aiohttp.ClientSession() as plain:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await plain.ws_connect(f"wss://{voice_server.endpoint}/?v=8")


async def test_pause_udp_ignores_discovery(voice_server: VoiceServer) -> None:
    voice_server.pause_udp(0.5)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.2)
    try:
        sock.sendto(bytes.fromhex("00010046") + bytes(70), ("127.0.0.1", voice_server.udp_port))
        with pytest.raises(TimeoutError):
            await asyncio.to_thread(sock.recv, 100)
        assert voice_server.stats(GUILD)["udp_dropped_while_paused"] == 1
    finally:
        sock.close()


async def test_asyncio_transport_fallback_answers_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    # Where add_reader is missing (Windows' proactor loop) the server falls back to asyncio's transport.
    def no_reader(*_args: object) -> None:
        raise NotImplementedError

    monkeypatch.setattr("zilean.sandbox.voice.DrainingUdpReader", no_reader)
    server = VoiceServer()
    await server.start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5)
    try:
        sock.sendto(bytes.fromhex("000100460000002a") + bytes(66), ("127.0.0.1", server.udp_port))
        answer = await asyncio.to_thread(sock.recv, 100)
        assert len(answer) == 74 and answer[1] == 2 and answer[4:8] == bytes.fromhex("0000002a")
    finally:
        sock.close()
        await server.stop()


async def test_arrival_times_come_from_the_kernel_not_from_when_the_loop_reads(
    http: aiohttp.ClientSession, voice_server: VoiceServer
) -> None:
    ws, ready, key, sock = await _handshake(http, voice_server)

    def send_spaced() -> None:
        for n in range(6):
            sock.send(
                rtp.encrypt_xchacha(
                    b"\xfc\x00", key, sequence=n, timestamp=960 * n, ssrc=ready["ssrc"], counter=n
                )
            )
            time.sleep(0.02)  # sleeps only ever run long, so the true spacing is >= 20 ms

    try:
        sender = threading.Thread(target=send_spaced)
        sender.start()
        sender.join()  # blocks the event loop: every packet waits in the socket until now
        async with asyncio.timeout(5):
            while voice_server.stats(GUILD)["packets"] < 6:  # noqa: ASYNC110 - polled stats
                await asyncio.sleep(0.01)
        if sys.platform == "linux":
            # Read in one drain, they would all look simultaneous; the kernel saw them 20 ms apart.
            assert voice_server.stats(GUILD)["gap_p50_ms"] >= 19
    finally:
        sock.close()
        await ws.close()
