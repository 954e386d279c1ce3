"""MediaInput: a media location that passed the network guard, ready to hand to ffmpeg."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# ffmpeg may speak only these for a network input: plain http to the egress proxy (over tcp), and
# crypto for AES-128 HLS keys (also fetched through the proxy). No https/tls: those would not use it.
NETWORK_PROTOCOLS = "http,tcp,crypto"
PROXY_HOST = "zilean.invalid"  # the egress proxy's name for its tickets (RFC 6761: it never resolves)
# The demuxers ffmpeg may use for a network input: the audio formats we accept, and HLS with the
# containers of its segments (the proxy rewrites every playlist it serves). No dash, concat, image
# sequences or anything else that opens further resources.
NETWORK_FORMATS = "mp3,mov,matroska,ogg,wav,flac,aac,hls,mpegts"


class EgressTicket(Protocol):
    """What a stream needs to know about the proxy ticket it reads through."""

    @property
    def failure(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class MediaInput:
    """What ffmpeg reads. Built only by `zilean.core.sources` after the SSRF check, never from raw user text.

    `location` is an absolute path for files from the local library or a temporary upload copy
    (`is_local_file=True`); otherwise a URL of the egress proxy at `proxy`, which serves only what
    `ticket` registered. The ticket lives as long as some MediaInput holds it.
    """

    location: str
    is_local_file: bool = False
    proxy: str | None = None
    ticket: EgressTicket | None = field(default=None, compare=False, repr=False)

    @property
    def protocol_whitelist(self) -> str:
        return "file" if self.is_local_file else NETWORK_PROTOCOLS
