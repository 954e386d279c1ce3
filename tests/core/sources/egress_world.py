"""The attack cases of the egress review, played through the real resolver, egress proxy and ffmpeg.

Run by test_egress_attacks.py inside a private network namespace (`unshare -r -n -m`): loopback
there also carries a public address, PUBLIC_IP, on which an attacker site listens; a logging
"internal" server listens on 127.0.0.1 on the same port (so a DNS answer of 127.0.0.1 for the
attacker's name reaches it). /etc/hosts is bind-mounted: attacker.test is PUBLIC_IP, rebind.test
is 127.0.0.1 for the system (what ffmpeg would see if it resolved names itself), while the guard's
resolver answers PUBLIC_IP once for rebind.test and 127.0.0.1 afterwards (DNS rebinding).

Prints one JSON object: case -> what happened (reply, packets played, error, every hit of both servers).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import imageio_ffmpeg

from zilean.core.pipeline import OpusStream, PlaybackSpec
from zilean.core.sources import SourceOptions
from zilean.core.sources.netguard import system_resolve
from zilean.core.sources.resolver import Resolver
from zilean.core.sources.results import LoadFailed, TrackLoaded
from zilean.core.track import Track

PUBLIC_IP = "93.184.216.34"
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
HLS = "application/vnd.apple.mpegurl"
SWAP_AFTER = 4


def make_media(folder: Path) -> dict[str, bytes]:
    """A 3-s MP3 and three 2-s MPEG-TS segments of a tone."""
    run = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=440:d=6"]
    subprocess.run([*run, "-t", "3", "-c:a", "libmp3lame", str(folder / "song.mp3")], check=True)
    subprocess.run(
        [*run, "-c:a", "aac", "-f", "hls", "-hls_time", "2", "-hls_segment_filename",
         str(folder / "seg%d.ts"), str(folder / "list.m3u8")],
        check=True,
    )  # fmt: skip
    files = {"song.mp3": (folder / "song.mp3").read_bytes()}
    for number in range(3):
        files[f"seg{number}.ts"] = (folder / f"seg{number}.ts").read_bytes()
    return files


def playlist(*lines: str) -> bytes:
    body = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", *lines, "#EXT-X-ENDLIST", ""]
    return "\n".join(body).encode()


def segments(*names: str) -> list[str]:
    return [line for name in names for line in ("#EXTINF:2.0,", name)]


class World:
    """The attacker site and the internal server, with every request they saw."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.attacker_hits: list[tuple[str, str]] = []  # (path, User-Agent)
        self.internal_hits: list[str] = []
        self._attacker = ThreadingHTTPServer((PUBLIC_IP, 0), self._handler(self._attack))
        self.port = self._attacker.server_address[1]
        self._internal = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler(self._inner))
        for server in (self._attacker, self._internal):
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def url(self, path: str, host: str = "attacker.test") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def inward(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        for server in (self._attacker, self._internal):
            server.shutdown()
            server.server_close()

    def _handler(self, serve: Callable[[BaseHTTPRequestHandler], None]) -> type[BaseHTTPRequestHandler]:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                try:
                    serve(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler

    def _inner(self, request: BaseHTTPRequestHandler) -> None:
        self.internal_hits.append(request.path)
        send(request, 200, b"internal secret", "text/plain")

    def _attack(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        agent = request.headers.get("User-Agent", "")
        self.attacker_hits.append((path, agent))
        inward = self.inward
        if path == "/cloak.mp3":
            # The guard's User-Agent gets audio; ffmpeg's (Lavf/...) a playlist pointing inward.
            if agent.startswith("Lavf"):
                send(request, 200, playlist(*segments(f"{inward}/cloaked.ts")), HLS)
            else:
                send(request, 200, self.files["song.mp3"], "audio/mpeg")
        elif path == "/song.mp3":
            send(request, 200, self.files["song.mp3"], "audio/mpeg")
        elif path == "/live.m3u8":
            send(request, 200, playlist(*segments("seg0.ts", "seg1.ts", "seg2.ts")), HLS)
        elif path == "/seg1.ts":
            request.send_response(302)
            request.send_header("Location", f"{inward}/redirected.ts")
            request.send_header("Content-Length", "0")
            request.end_headers()
        elif path in ("/seg0.ts", "/seg2.ts"):
            send(request, 200, self.files[path[1:]], "video/mp2t")
        elif path == "/track.mpd":
            send(request, 200, mpd(inward), "application/dash+xml")
        elif path == "/unquoted.m3u8":
            send(request, 200, unquoted_playlist(inward), HLS)
        elif path == "/swap.m3u8":
            # Clean for the bot's checks (a sniff and a vetting fetch at `=play`, the same again when
            # the track starts), inward from then on: only the egress proxy is left to notice.
            seen = sum(1 for hit, _ in self.attacker_hits if hit == path)
            clean = playlist(*segments("seg0.ts", "seg2.ts"))
            body = unquoted_playlist(inward) if seen > SWAP_AFTER else clean
            send(request, 200, body, HLS)
        elif path == "/radio.mp3":
            # No declared size, a little audio, then the connection drops: ffmpeg used to reconnect
            # thousands of times a second.
            request.send_response(200)
            request.send_header("Content-Type", "audio/mpeg")
            request.send_header("Transfer-Encoding", "chunked")
            request.end_headers()
            data = self.files["song.mp3"][:2048]
            request.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            request.wfile.flush()
            request.close_connection = True
            request.connection.shutdown(socket.SHUT_RDWR)
        elif path == "/hang.mp3":
            if sum(1 for hit, _ in self.attacker_hits if hit == path) == 1:
                send(request, 200, self.files["song.mp3"], "audio/mpeg")  # the check at =play passes
            else:
                request.send_response(200)
                request.send_header("Content-Type", "audio/mpeg")
                request.send_header("Content-Length", str(len(self.files["song.mp3"])))
                request.end_headers()
                time.sleep(8)  # then never a byte
        else:
            send(request, 404, b"not found", "text/plain")


def send(request: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def mpd(inward: str) -> bytes:
    return f"""<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT6S" minBufferTime="PT2S"
     profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <BaseURL>{inward}/dash/</BaseURL>
  <Period><AdaptationSet mimeType="audio/mp4"><Representation id="a" bandwidth="64000" codecs="mp4a.40.2">
    <SegmentTemplate initialization="{inward}/dash/init.mp4" media="{inward}/dash/$Number$.m4s"
                     startNumber="1" duration="2" timescale="1"/>
  </Representation></AdaptationSet></Period>
</MPD>
""".encode()


def unquoted_playlist(inward: str) -> bytes:
    return playlist(
        f"#EXT-X-MAP:URI={inward}/init.mp4",
        f"#EXT-X-KEY:METHOD=AES-128,URI={inward}/key",
        *segments("seg0.ts", "seg2.ts"),
    )


def rebinding_resolver() -> Callable[[str, int], Any]:
    """The guard's resolver: rebind.test is public once, then 127.0.0.1; other names as the system says."""
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        if host == "rebind.test":
            asked.append(host)
            # Public while the bot checks and sniffs the link (a check and a connect), then inward.
            return [PUBLIC_IP] if len(asked) <= 2 else ["127.0.0.1"]
        return await system_resolve(host, port)

    return resolve


def drain(stream: OpusStream, timeout: float = 60) -> int:
    packets = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        packet = stream.read()
        if packet is None:
            return packets
        if packet:
            packets += 1
        else:
            time.sleep(0.005)
    raise AssertionError("the stream did not end")


async def play(resolver: Resolver, track: Track, first_packet_timeout: float = 15.0) -> dict[str, Any]:
    """Resolve the track's media as the bot does before playing, then play it to the end."""
    try:
        media = await resolver.stream_for(track)
    except Exception as exc:
        return {"stream_error": getattr(exc, "message", repr(exc))}
    stream = OpusStream(FFMPEG, PlaybackSpec(media), first_packet_timeout=first_packet_timeout)
    stream.start()
    try:
        packets = await asyncio.to_thread(drain, stream)
    finally:
        stream.close()
    ticket = media.ticket
    return {"packets": packets, "error": stream.error, "proxy_requests": getattr(ticket, "requests", None)}


async def load_and_play(resolver: Resolver, url: str) -> dict[str, Any]:
    """What `=play url` does: resolve (sniff, probe), then play the loaded track."""
    result = await resolver.resolve(url)
    if isinstance(result, LoadFailed):
        return {"load": "failed", "message": result.message}
    assert isinstance(result, TrackLoaded), result
    return {"load": "loaded", **await play(resolver, result.track)}


async def run_cases(world: World) -> dict[str, Any]:
    options = SourceOptions(ffmpeg_path=FFMPEG, search_provider="local")
    resolver = Resolver(options, resolve=rebinding_resolver())
    results: dict[str, Any] = {}

    def http_track(path: str, host: str = "attacker.test") -> Track:
        return Track(title=path, url=world.url(path, host), source="http")

    cases: dict[str, Callable[[], Any]] = {
        "hls_redirect": lambda: play(resolver, http_track("/live.m3u8")),
        "cloaking": lambda: load_and_play(resolver, world.url("/cloak.mp3")),
        "dash": lambda: load_and_play(resolver, world.url("/track.mpd")),
        "dash_queued": lambda: play(resolver, http_track("/track.mpd")),
        "unquoted_uri": lambda: load_and_play(resolver, world.url("/unquoted.m3u8")),
        "swapped_playlist": lambda: load_and_play(resolver, world.url("/swap.m3u8")),
        "rebinding": lambda: play(resolver, http_track("/song.mp3", host="rebind.test")),
        "reconnect_flood": lambda: play(resolver, http_track("/radio.mp3")),
        "no_first_packet": lambda: play(resolver, http_track("/hang.mp3"), first_packet_timeout=3.0),
        "clean_mp3": lambda: load_and_play(resolver, world.url("/song.mp3")),
    }
    wanted = sys.argv[1:] or list(cases)
    try:
        for name in wanted:
            before_attacker, before_internal = len(world.attacker_hits), len(world.internal_hits)
            outcome = await cases[name]()
            outcome["attacker_hits"] = world.attacker_hits[before_attacker:]
            outcome["internal_hits"] = world.internal_hits[before_internal:]
            outcome["proxy_refused"] = resolver.egress.refused
            results[name] = outcome
    finally:
        await resolver.close()
    return results


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        world = World(make_media(Path(folder)))
        try:
            results = asyncio.run(run_cases(world))
        finally:
            world.close()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
