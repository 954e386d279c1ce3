"""Driving the real bot through the sandbox: users post, run slash commands, press buttons and listen."""

from __future__ import annotations

import asyncio
import base64
import io
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from audio_fixtures import tone
from polling import until_value
from zilean.core import analysis
from zilean.sandbox.server import Sandbox

SOURCE_AMPLITUDE = 0.5  # generated tones; their RMS is 0.5 / √2
STEP_SECONDS = 1.0
STEP_BASE_HZ = 300
STEP_HZ = 50
CHIME_HZ = (520, 580, 620, 700, 760)
# Tagged tracks for autoplay: (file, title, artist, album, Hz, seconds); told apart by pitch.
TAGGED = (
    ("river1", "River One", "Aurora Quartet", "Rivers", 480, 1),
    ("river2", "River Two", "Aurora Quartet", "Rivers", 840, 8),
)


# The bot's core cases run on both databases: a module's bot per backend (see conftest.bot_backend).
both_backends = pytest.mark.parametrize(
    "bot_backend",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
    scope="module",
)


def step_frequency(second: int) -> int:
    """The frequency of the steps file during second `second`."""
    return STEP_BASE_HZ + STEP_HZ * second


def make_media(ffmpeg: str, directory: Path) -> dict[str, Path]:
    """Generated files: a 440 Hz tone, a tone whose pitch changes every second, short tones, a fake mp3."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "tone": directory / "tone440.flac",
        "short": directory / "short660.flac",
        "steps": directory / "steps.flac",
    }
    _encode(ffmpeg, files["tone"], _tone(440, 30), "Tone 440")
    _encode(ffmpeg, files["short"], _tone(660, 2), "Short 660")
    files["markdown"] = directory / "markdown.flac"
    _encode(ffmpeg, files["markdown"], _tone(440, 2), "**Loud** _song_ @everyone")
    files["doomed"] = directory / "doomed.flac"  # a test deletes it while it is queued
    _encode(ffmpeg, files["doomed"], _tone(660, 2), "Doomed")
    for number, hz in enumerate(CHIME_HZ, start=1):  # distinct short tracks: an order can be seen
        files[f"chime{number}"] = directory / f"chime{number}.flac"
        _encode(ffmpeg, files[f"chime{number}"], _tone(hz, 2), f"Chime {number}")
    for name, title, artist, album, hz, seconds in TAGGED:
        files[name] = directory / "tagged" / f"{name}.flac"
        files[name].parent.mkdir(exist_ok=True)
        _encode(ffmpeg, files[name], _tone(hz, seconds), title, artist=artist, album=album)
    steps = np.concatenate([_tone(step_frequency(s), STEP_SECONDS) for s in range(60)])
    _encode(ffmpeg, files["steps"], steps, "Steps")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    files["fake_mp3"] = directory.parent / "holiday.mp3"
    files["fake_mp3"].write_bytes(png)
    return files


def _tone(freq_hz: float, seconds: float) -> np.ndarray:
    return tone(freq_hz, seconds, amplitude=SOURCE_AMPLITUDE)


def _encode(ffmpeg: str, path: Path, mono: np.ndarray, title: str, **tags: str) -> None:
    pcm = (np.repeat(mono[:, None], 2, axis=1) * 32767).astype("<i2").tobytes()
    metadata = [arg for key, value in tags.items() for arg in ("-metadata", f"{key}={value}")]
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "s16le", "-ar", str(analysis.SAMPLE_RATE), "-ac", "2",
         "-i", "pipe:0", "-metadata", f"title={title}", *metadata, "-c:a", "flac", str(path)],
        input=pcm,
        check=True,
    )  # fmt: skip


@dataclass
class Reply:
    """What the bot answered: text, embeds, components, ephemeral or not."""

    content: str
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    ephemeral: bool
    message_id: str | None
    allowed_mentions: Any = None
    response_type: int | None = None  # slash commands: the interaction's first callback type

    @property
    def text(self) -> str:
        """Content plus every embed's title, description and fields, for assertions."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            parts += [f"{f.get('name')} {f.get('value')}" for f in embed.get("fields", [])]
            parts.append((embed.get("footer") or {}).get("text", ""))
        return "\n".join(p for p in parts if p)

    def custom_ids(self) -> list[str]:
        """Every component custom id in the reply."""
        found = []
        for row in self.components:
            for item in row.get("components", []):
                if item.get("custom_id"):
                    found.append(item["custom_id"])
        return found


class Driver:
    """Plays the users of the sandbox's default world."""

    def __init__(self, sandbox: Sandbox, http: httpx.AsyncClient) -> None:
        world = sandbox.world
        self.sandbox = sandbox
        self.http = http
        music = world.channel_named("Music")
        self.guild_id = music.guild_id
        self.voice_channel = music.id
        self.text_channel = world.channel_named("general").id
        self.bot_id = world.bot_user_id
        self.users = {name: world.user_named(name).id for name in ("owner", "dj", "alice", "bob")}
        self.dj_role = next(r.id for r in world.guilds[self.guild_id].roles.values() if r.name == "DJ")

    # --- users -----------------------------------------------------------------------------

    async def join_voice(self, user: str, channel_id: int | None = None) -> None:
        """`user` joins the Music channel (or `channel_id`)."""
        body = {"user_id": str(self.users[user]), "channel_id": str(channel_id or self.voice_channel)}
        (await self.http.post("/_sandbox/voice", json=body)).raise_for_status()

    async def leave_voice(self, user: str) -> None:
        """`user` leaves voice."""
        body = {"user_id": str(self.users[user]), "channel_id": None, "guild_id": str(self.guild_id)}
        (await self.http.post("/_sandbox/voice", json=body)).raise_for_status()

    async def say(
        self,
        user: str,
        content: str,
        *,
        attachments: list[tuple[str, bytes]] | None = None,
        within: float = 15,
    ) -> Reply:
        """Post a message as `user` and return the bot's first reply to it."""
        last = await self.last_message_id()
        body: dict[str, Any] = {
            "channel_id": str(self.text_channel),
            "user_id": str(self.users[user]),
            "content": content,
        }
        if attachments:
            body["attachments"] = [
                {"filename": name, "content_base64": base64.b64encode(data).decode()}
                for name, data in attachments
            ]
        response = await self.http.post("/_sandbox/messages", json=body)
        response.raise_for_status()
        return await self.bot_message_after(last, within=within, replying_to=response.json()["message_id"])

    async def slash(self, user: str, command: str, within: float = 15, **options: Any) -> Reply:
        """Run a slash command as `user`; return the bot's final answer (after any defer)."""
        body = {
            "channel_id": str(self.text_channel),
            "user_id": str(self.users[user]),
            "command": command,
            "options": options,
        }
        response = await self.http.post("/_sandbox/interactions", json=body)
        if response.is_error:
            raise AssertionError(f"/{command} {options}: {response.status_code} {response.text}")
        return await self._answer(response.json()["interaction_id"], within)

    async def press(
        self, user: str, message_id: str, custom_id: str, within: float = 15, values: list[str] | None = None
    ) -> dict[str, Any]:
        """Press a button (or pick `values` in a select menu); return the answered interaction."""
        body: dict[str, Any] = {
            "message_id": message_id,
            "user_id": str(self.users[user]),
            "custom_id": custom_id,
        }
        if values is not None:
            body["values"] = values
        response = await self.http.post("/_sandbox/components", json=body)
        response.raise_for_status()
        interaction_id = response.json()["interaction_id"]
        return await self._until(lambda s: s["acknowledged"] and s["responses"], interaction_id, within)

    async def _answer(self, interaction_id: str, within: float) -> Reply:
        def done(summary: dict[str, Any]) -> bool:
            final = [r for r in summary["responses"] if not r.get("loading") and r.get("kind") != "delete"]
            return bool(final)

        summary = await self._until(done, interaction_id, within)
        final = [r for r in summary["responses"] if not r.get("loading") and r.get("kind") != "delete"][-1]
        return Reply(
            final.get("content") or "",
            final.get("embeds") or [],
            final.get("components") or [],
            bool(final.get("ephemeral")),
            final.get("message_id"),
            final.get("allowed_mentions"),
            summary.get("response_type"),
        )

    async def _until(self, predicate: Any, interaction_id: str, within: float) -> dict[str, Any]:
        async def summary() -> dict[str, Any]:
            return dict((await self.http.get(f"/_sandbox/interactions/{interaction_id}")).json())

        return await until_value(
            summary, predicate, within=within, what=f"an answer to interaction {interaction_id}"
        )

    # --- channel ---------------------------------------------------------------------------

    async def messages(self, after: int = 0) -> list[dict[str, Any]]:
        """Messages in #general after `after`."""
        response = await self.http.get(
            f"/_sandbox/channels/{self.text_channel}/messages", params={"after": after}
        )
        response.raise_for_status()
        return list(response.json())

    async def last_message_id(self) -> int:
        """The newest message id in #general (0 when empty)."""
        found = await self.messages()
        return max((int(m["id"]) for m in found), default=0)

    async def bot_message_after(
        self, after: int, *, within: float = 15, containing: str | None = None, replying_to: str | None = None
    ) -> Reply:
        """The bot's first message after `after` (optionally: containing a text, or replying to a message)."""

        async def first_match() -> Reply | None:
            for message in await self.messages(after):
                if int(message["author"]["id"]) != self.bot_id:
                    continue
                reference = (message.get("message_reference") or {}).get("message_id")
                if replying_to is not None and reference != replying_to:
                    continue
                reply = Reply(
                    message.get("content") or "",
                    message.get("embeds") or [],
                    message.get("components") or [],
                    bool(message.get("ephemeral")),
                    message["id"],
                    message.get("allowed_mentions"),
                )
                if containing is None or containing in reply.text:
                    return reply
            return None

        found = await until_value(
            first_match,
            lambda reply: reply is not None,
            within=within,
            what=f"the bot posting{f' {containing!r}' if containing else ''}",
        )
        assert found is not None
        return found

    # --- listening -------------------------------------------------------------------------

    async def voice(self) -> dict[str, Any]:
        """The sandbox's view of the bot's voice connection and the last ~1 s of audio."""
        response = await self.http.get(f"/_sandbox/voice/{self.guild_id}")
        response.raise_for_status()
        return dict(response.json())

    async def listen(self, seconds: float) -> np.ndarray:
        """The last `seconds` of audio the bot sent, decoded (stereo float)."""
        response = await self.http.get(
            f"/_sandbox/voice/{self.guild_id}/audio.wav", params={"seconds": seconds}
        )
        response.raise_for_status()
        with wave.open(io.BytesIO(response.content)) as wav:
            pcm = wav.readframes(wav.getnframes())
        return analysis.pcm16_to_channels(pcm, 2)

    async def wait_voice(self, predicate: Any, within: float = 15) -> dict[str, Any]:
        """Poll the voice status until `predicate(status)` holds."""
        return await until_value(self.voice, predicate, within=within, what="the voice condition")

    async def packets_still(self, quiet_s: float = 0.3, within: float = 15) -> dict[str, Any]:
        """Wait until no packet has arrived for `quiet_s`; returns the status then."""
        last = await self.voice()
        loop = asyncio.get_running_loop()
        since = loop.time()
        deadline = since + within
        while loop.time() - since < quiet_s:
            if loop.time() > deadline:
                raise TimeoutError(f"packets kept arriving: {last}")
            await asyncio.sleep(0.05)
            now = await self.voice()
            if now["packets"] != last["packets"]:
                last, since = now, loop.time()
        return last

    async def assert_audio_held(self, observe_s: float = 1.0) -> None:
        """After a pause: the packets stop (discord.py may add its ≤ 5 silence frames) and no audio follows.

        The wait is on conditions (speaking off, no new packet for a while); the window after it is
        the measurement, and what it requires is exact: not one more audio frame.
        """
        await self.wait_voice(lambda s: not s["speaking"])
        held = await self.packets_still()
        await asyncio.sleep(observe_s)  # observing, not synchronising: nothing may arrive meanwhile
        after = await self.voice()
        assert audio_frames(after) == audio_frames(held), (held, after)
        assert after["packets"] - held["packets"] <= 5, (held, after)

    async def packets_flowing(self, within: float = 15) -> int:
        """Wait until packets keep arriving; returns the count."""
        first = (await self.voice())["packets"]
        status = await self.wait_voice(lambda s: s["packets"] >= first + 10, within)
        return int(status["packets"])


def audio_frames(status: dict[str, Any]) -> int:
    """Packets that carried sound (the sandbox counts Ogg headers apart and silence frames among them)."""
    return int(status["packets"]) - int(status["silence_frames"])


def frequency(samples: np.ndarray) -> float:
    """The dominant frequency of a stereo block."""
    return analysis.dominant_frequency(samples.mean(axis=1))


def level(samples: np.ndarray) -> float:
    """The RMS of a stereo block."""
    return analysis.rms(samples.ravel())
