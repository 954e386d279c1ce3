"""The bridge from the core player to discord.py: an Opus AudioSource fed by `Player.read_frame()`.

Every frame goes through the shared sender (`zilean.bot.sender`) → `VoiceClient.send_audio_packet(...,
encode=False)`, which applies DAVE end-to-end encryption and the transport encryption. The bot
never writes to the voice socket itself (DESIGN.md: a DAVE mistake would pass every sandbox test).
"""

from __future__ import annotations

import logging
from typing import Protocol

import discord

log = logging.getLogger(__name__)

OPUS_SILENCE = b"\xf8\xff\xfe"


class FrameReader(Protocol):
    """What the source needs from `zilean.core.player.Player`."""

    def read_frame(self) -> bytes | None: ...


class PlayerAudioSource(discord.AudioSource):
    """An already-encoded (Opus) source; returning b"" tells discord.py's AudioPlayer to finish."""

    def __init__(self, player: FrameReader) -> None:
        self._player = player
        self.frames = 0  # handed to discord.py so far (tests and metrics read it)

    def read(self) -> bytes:
        """The next 20 ms Opus frame from the player (called every 20 ms by the sender thread)."""
        frame = self._player.read_frame()
        if frame is None:
            return b""
        self.frames += 1
        return frame or OPUS_SILENCE  # an empty frame would end discord.py's player

    def is_opus(self) -> bool:
        """True: ffmpeg already encoded Opus, so discord.py sends the packets as they are."""
        return True

    def cleanup(self) -> None:
        """Nothing to release here: the player owns the ffmpeg processes."""
