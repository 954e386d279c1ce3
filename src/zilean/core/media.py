"""MediaInput: a media location that passed the network guard, ready to hand to ffmpeg."""

from __future__ import annotations

from dataclasses import dataclass

# ffmpeg may speak only these when reading a network input: no file:, concat:, subfile:, data: ...
NETWORK_PROTOCOLS = "http,https,tcp,tls,crypto"


@dataclass(frozen=True, slots=True)
class MediaInput:
    """What ffmpeg reads. Built only by `zilean.core.sources` after the SSRF check, never from raw user text.

    `location` is an http(s) URL, or an absolute path for files from the local library or a
    temporary upload copy (`is_local_file=True`).
    """

    location: str
    headers: tuple[tuple[str, str], ...] = ()
    is_local_file: bool = False

    @property
    def protocol_whitelist(self) -> str:
        return "file" if self.is_local_file else NETWORK_PROTOCOLS
