"""The audio pipeline: one ffmpeg process per playing track, turned into 20 ms Opus packets.

ffmpeg decodes, applies the effects and the volume, resamples and encodes Opus (libopus) itself;
Python only splits its Ogg output into packets (see `zilean.core.ogg`). The filter graph is,
in this order:

1. `aformat` to float stereo — filters work on float so a boost cannot clip before the volume
   brings the level down, and stereo effects (8D, karaoke) see two channels even for mono input;
2. the effects chain (`zilean.core.effects.filter_chain`);
3. the volume gain — AFTER the effects, so `normalize` cannot undo the user's volume and the
   default 0.25× headroom also absorbs the gain of bass/treble boosts;
4. `aresample` to 48 kHz with soxr, so the encoder always gets 48 kHz whatever the source
   rate (a no-op when it already is);
5. the equalizer (`zilean.core.equalizer`), when not flat — after the resample because its
   filter gains are solved for 48 kHz; on floats, so its boosts cannot clip before the encoder.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import select
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from zilean.core.effects import filter_chain
from zilean.core.equalizer import FLAT, Equalizer
from zilean.core.equalizer import filter_chain as eq_chain
from zilean.core.errors import PlaybackError
from zilean.core.media import NETWORK_FORMATS, PROXY_HOST, MediaInput
from zilean.core.ogg import OggOpusParser

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
CHANNELS = 2
FRAME_MS = 20
# Discord's cap for voice channels of unboosted servers, and libopus's own stereo default (so a bare
# `ffmpeg -c:a libopus` differs from ours only in complexity); Opus at 96 kb/s stereo is near-transparent.
OPUS_BITRATE = "96k"
# libopus complexity (ffmpeg's -compression_level; its default is 10). Measured on a music-like file
# at 96 kb/s (bench/opus_complexity.py): a decode + encode costs ~20 % less CPU at 7 than at 10, for
# ~0.1 dB less SNR against the source; 8-10 give the same output at the same cost, and 6 and below
# lose ~1 dB or more.
OPUS_COMPLEXITY = 7
DEFAULT_GAIN = 0.25  # what 100 % means: the "no earrape" default of the roadmap
MAX_VOLUME_PERCENT = 200
# ffmpeg's read-ahead: the pipe holds about 10 s of 96 kb/s Opus (Ogg overhead included), so a
# network stall shorter than that is not heard. Each read takes all of it, so ffmpeg wakes up a
# few times a minute and encodes in bursts (its threads pass frames without sleeping in between).
PIPE_BYTES = 128 * 1024
READ_BYTES = PIPE_BYTES
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Linux; Python < 3.10 lacks the name
# ffmpeg's scheduling priority (nice value, 0-19; raising it needs no privilege). ffmpeg works up to
# 10 s ahead, so it can wait for a CPU; the sender cannot: at nice 0, 100 ffmpegs' encoding bursts
# kept preempting it. Measured at 100 streams on 2 vCPUs (BENCHMARKS.md): gap p99 of the median
# guild 26-33 ms at nice 0, 24.3-24.7 ms at nice 10, with no frame missing. A stream needs ~1 % of
# a core, far below even a nice-10 process's share of a busy CPU, so ffmpeg never starves.
FFMPEG_NICE = 10
# How long ffmpeg may wait on a stalled network read before giving up (microseconds).
NETWORK_TIMEOUT_US = 15_000_000
# ffmpeg's own reconnect cap (the egress proxy caps requests per track as well).
MAX_RECONNECTS = 5
# A track whose ffmpeg gave no first packet in this long fails instead of playing silence forever.
FIRST_PACKET_TIMEOUT_S = 15.0
_PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy", "no_proxy"})

Output = Literal["opus", "wav", "pcm"]


@dataclass(frozen=True, slots=True)
class PlaybackSpec:
    """Everything that decides what one ffmpeg process plays."""

    media: MediaInput
    effects: tuple[str, ...] = ()  # effect names, in the order the user added them
    volume_percent: int = 100  # what users see, 0..200
    start_ms: int = 0
    eq: Equalizer = FLAT  # the 15 band gains; FLAT adds no filter


def gain_for(volume_percent: int) -> float:
    """The linear gain for a volume users see (0..200 %): shown / 100 × 0.25."""
    if not 0 <= volume_percent <= MAX_VOLUME_PERCENT:
        raise PlaybackError(f"Volume must be between 0 and {MAX_VOLUME_PERCENT} %.")
    return volume_percent / 100 * DEFAULT_GAIN


def audio_filters(spec: PlaybackSpec) -> str:
    """The complete -af graph for a spec (see the module docstring for why this order)."""
    stages = ["aformat=sample_fmts=fltp:channel_layouts=stereo"]
    effects = filter_chain(spec.effects)
    if effects:
        stages.append(effects)
    stages.append(f"volume={gain_for(spec.volume_percent):.4f}")
    stages.append(f"aresample={SAMPLE_RATE}:resampler=soxr")
    equalizer = eq_chain(spec.eq)
    if equalizer:
        stages.append(equalizer)
    return ",".join(stages)


def input_args(media: MediaInput, start_ms: int = 0) -> list[str]:
    """ffmpeg input options and `-i` for a guarded MediaInput."""
    args = ["-protocol_whitelist", media.protocol_whitelist]
    if media.is_local_file:
        if not os.path.isabs(media.location):
            raise PlaybackError("A local track must have an absolute path.")
        location = "file:" + media.location
    else:
        # Every network input goes through the egress proxy (see zilean.core.sources.egress).
        if not media.proxy or not media.location.startswith(f"http://{PROXY_HOST}/"):
            raise PlaybackError("A network track must be read through the bot's egress proxy.")
        location = media.location
        args += [
            "-format_whitelist", NETWORK_FORMATS,
            "-http_proxy", media.proxy,
            "-reconnect", "1",
            "-reconnect_streamed", "1",
            "-reconnect_on_network_error", "1",
            "-reconnect_delay_max", "5",
            "-reconnect_max_retries", str(MAX_RECONNECTS),
            "-rw_timeout", str(NETWORK_TIMEOUT_US),
            # The proxy already followed and checked every redirect; it never answers with one.
            "-max_redirects", "0",
        ]  # fmt: skip
    if start_ms < 0:
        raise PlaybackError("The start position cannot be negative.")
    if start_ms:
        args += ["-ss", f"{start_ms / 1000:.3f}"]  # before -i: input seeking, fast
    return [*args, "-i", location]


def ffmpeg_env(media: MediaInput) -> dict[str, str] | None:
    """ffmpeg's environment: for a network input, http_proxy is the egress proxy, with no exemptions."""
    if media.is_local_file or not media.proxy:
        return None
    env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARIABLES}
    env["http_proxy"] = media.proxy  # nested opens (HLS segments, keys) read it too
    return env


def ffmpeg_argv(
    ffmpeg: str,
    spec: PlaybackSpec,
    *,
    output: Output = "opus",
    destination: str = "pipe:1",
    duration_ms: int | None = None,
) -> list[str]:
    """The argv of the ffmpeg process that plays `spec`.

    "opus": Ogg Opus, 48 kHz stereo, 20 ms frames; "wav": 16-bit 48 kHz stereo WAV;
    "pcm": raw s16le 48 kHz stereo. `destination` is stdout unless a file path is given.
    """
    # One thread per decoder, filter graph and encoder: a stream needs ~1 % of a core, and frame
    # threading only adds hand-offs between threads (measured: -16 % CPU per stream, and with 100
    # streams 100 ffmpegs × 11 threads flooded the scheduler).
    argv = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-filter_threads", "1"]
    argv += ["-threads", "1", *input_args(spec.media, spec.start_ms)]
    argv += ["-map", "0:a:0", "-vn", "-sn", "-dn", "-af", audio_filters(spec), "-threads", "1"]
    argv += ["-ac", str(CHANNELS), "-ar", str(SAMPLE_RATE)]
    if duration_ms is not None:
        argv += ["-t", f"{duration_ms / 1000:.3f}"]
    if output == "opus":
        argv += [
            "-c:a", "libopus",
            "-b:a", OPUS_BITRATE,
            "-compression_level", str(OPUS_COMPLEXITY),
            "-vbr", "on",
            "-application", "audio",
            "-frame_duration", str(FRAME_MS),
            # One Ogg page per packet, flushed at once: the first packet leaves ffmpeg within
            # milliseconds instead of after the muxer's default one-second page.
            "-f", "ogg",
            "-page_duration", str(FRAME_MS * 1000),
            "-flush_packets", "1",
        ]  # fmt: skip
    elif output == "wav":
        argv += ["-c:a", "pcm_s16le", "-f", "wav"]
    elif output == "pcm":
        argv += ["-c:a", "pcm_s16le", "-f", "s16le"]
    else:
        raise PlaybackError(f"Unknown output format {output!r}.")
    if destination != "pipe:1":
        argv += ["-y", "file:" + os.path.abspath(destination)]
    else:
        argv.append(destination)
    return argv


class OpusStream:
    """One ffmpeg process → 20 ms Opus packets, read from its pipe without a thread of its own.

    `read()` hands out the next packet from a small buffer and, when that is empty, reads what
    ffmpeg has written so far without blocking. The pipe itself is the playback buffer: ffmpeg
    runs ahead until it is full (PIPE_BYTES ≈ 10 s of audio), then waits. A reader thread per
    stream used to wake for every packet; with 100 streams those threads cost more CPU than
    sending the audio and, contending for the GIL, delayed the sender (BENCHMARKS.md).
    Thread-safe between one reading thread and `close()` from any thread.
    """

    def __init__(
        self, ffmpeg: str, spec: PlaybackSpec, *, first_packet_timeout: float = FIRST_PACKET_TIMEOUT_S
    ) -> None:
        self.spec = spec
        self._argv = ffmpeg_argv(ffmpeg, spec)  # validates the spec before anything starts
        self._first_packet_timeout = first_packet_timeout
        self._started_at = 0.0
        self._packets: deque[bytes] = deque()
        self._parser = OggOpusParser()
        self._process: subprocess.Popen[bytes] | None = None
        self._stdout = -1
        self._stderr_reader: threading.Thread | None = None
        self._stderr_tail = b""
        self._lock = threading.Lock()  # guards the pipe against close() from another thread
        self._closed = False
        self._eof = False  # ffmpeg closed its output: only its exit status is still to come
        self._ended = False  # no packet will follow the buffered ones
        self._error: str | None = None
        self._packets_seen = 0
        self._packets_read = 0

    def start(self) -> None:
        """Spawn ffmpeg (and a thread that keeps its stderr for error messages)."""
        with self._lock:
            if self._process is not None or self._closed:
                raise PlaybackError("This stream was already started.")
            log.debug("ffmpeg: %s", " ".join(self._argv))
            self._started_at = time.monotonic()
            self._process = subprocess.Popen(
                self._argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,
                env=ffmpeg_env(self.spec.media),
            )
            with contextlib.suppress(OSError):  # it may have exited already (a bad input)
                os.setpriority(os.PRIO_PROCESS, self._process.pid, FFMPEG_NICE)
            assert self._process.stdout is not None
            self._stdout = self._process.stdout.fileno()
            os.set_blocking(self._stdout, False)
            with contextlib.suppress(OSError):  # a smaller pipe only means less read-ahead
                fcntl.fcntl(self._stdout, F_SETPIPE_SZ, PIPE_BYTES)
        reader = threading.Thread(target=self._drain_stderr, name="ffmpeg-stderr", daemon=True)
        try:
            reader.start()
        except RuntimeError:  # no thread left: do not leave an ffmpeg behind that nobody reads
            self.close()
            raise
        self._stderr_reader = reader

    def read(self) -> bytes | None:
        """The next packet without blocking; b"" when none is ready yet; None once ended or closed."""
        self._fill()
        if self._closed:
            return None
        if self._packets:
            self._packets_read += 1
            return self._packets.popleft()
        if not self._ended and self._packets_seen == 0:
            self._give_up_when_silent()
        return None if self._ended else b""

    def _give_up_when_silent(self) -> None:
        """No first packet yet: past the deadline, end with a clear reason (a hung link never plays)."""
        if time.monotonic() - self._started_at < self._first_packet_timeout:
            return
        with self._lock:
            if self._closed or self._process is None or self._ended or self._packets_seen:
                return
            log.warning("ffmpeg gave no audio in %.0f s; ending the track", self._first_packet_timeout)
            limit = self._first_packet_timeout
            self._error = self._ticket_failure() or (
                f"This link produced no audio within {limit:g} second{'' if limit == 1 else 's'}, "
                "so the bot skipped it."
            )
            self._process.kill()
            self._ended = True

    def _ticket_failure(self) -> str | None:
        ticket = self.spec.media.ticket
        return None if ticket is None else ticket.failure

    def wait_ready(self, timeout: float) -> bool:
        """Block up to `timeout` s; True once a packet is buffered (tools and tests; players poll read())."""
        deadline = time.monotonic() + timeout
        while not self._packets and not self._ended and not self._closed:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self._eof:
                time.sleep(min(left, 0.005))  # waiting for the exit status
            else:
                select.select([self._stdout], [], [], min(left, 0.1))
            self._fill()
        return bool(self._packets) or self._packets_read > 0

    def close(self) -> None:
        """Kill ffmpeg and reap it; safe to call more than once."""
        with self._lock:
            self._closed = True
            process = self._process
            if process is not None:
                if process.poll() is None:
                    process.kill()
                process.wait()
                for pipe in (process.stdout, process.stderr):
                    if pipe is not None:
                        pipe.close()
        thread = self._stderr_reader
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    @property
    def error(self) -> str | None:
        """A user-safe message when ffmpeg failed (non-zero exit or no audio), else None."""
        return self._error

    @property
    def packets_read(self) -> int:
        """How many audio packets read() has returned."""
        return self._packets_read

    @property
    def returncode(self) -> int | None:
        """ffmpeg's exit status once it has been reaped, else None."""
        return None if self._process is None else self._process.poll()

    def __enter__(self) -> OpusStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fill(self) -> None:
        """Parse pages until a packet is buffered or nothing more is ready for now."""
        while not self._packets and self._next_page():
            pass

    def _next_page(self) -> bool:
        """Parse the next Ogg page into the packet buffer, reading the pipe (without waiting) when no
        whole page is left; False when there is nothing more to do for now (underrun, end, close).

        Reads are large (ffmpeg wakes up rarely and encodes in bursts) but parsed one page per call,
        so no single read() of the sender pays for a whole burst.
        """
        with self._lock:
            if self._closed or self._process is None or self._ended:
                return False
            try:
                page = self._parser.take_page()
                if page is None and not self._eof and self._read_pipe():
                    page = self._parser.take_page()
            except PlaybackError as exc:
                self._error = exc.message
                self._process.kill()  # the output is unusable; nobody will drain the pipe any more
                self._eof = True
                page = None
            if page is None:
                if self._eof:
                    self._end_when_exited()
                return False
            self._packets.extend(page)
            self._packets_seen += len(page)
            return True

    def _read_pipe(self) -> bool:
        """Push what ffmpeg has written so far into the parser; False if nothing was there yet."""
        try:
            chunk = os.read(self._stdout, READ_BYTES)
        except BlockingIOError:
            return False  # nothing written yet: an underrun, not an end
        except OSError:
            chunk, self._error = b"", "The audio stream broke off."
        if not chunk:
            self._eof = True
            return False
        self._parser.push(chunk)
        return True

    def _end_when_exited(self) -> None:
        """After EOF: once ffmpeg has exited (and its stderr is read), decide whether it failed."""
        process = self._process
        assert process is not None
        code = process.poll()
        reader = self._stderr_reader
        if code is None or (reader is not None and reader.is_alive()):
            return  # exiting: look again on the next read
        if self._error is None and code != 0:
            detail = self._stderr_tail.decode("utf-8", "replace").strip().splitlines()
            # stderr may hold signed URLs: it goes to the log, never to users.
            log.warning("ffmpeg exited with %s: %s", code, detail[-1] if detail else "(no message)")
            if code < 0:  # killed by a signal (the OOM killer, an operator): not the file's fault
                self._error = self._ticket_failure() or "The audio process was stopped unexpectedly."
            else:
                self._error = self._ticket_failure() or _user_message(
                    self._stderr_tail, is_local=self.spec.media.is_local_file
                )
        elif self._error is None and self._packets_seen == 0:
            self._error = self._ticket_failure() or "This track has no audio to play from that position."
        elif self._error is None:
            # Cut short by the egress proxy (a refused playlist entry, the request budget, the time cap).
            self._error = self._ticket_failure()
        self._ended = True

    def _drain_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        stderr = self._process.stderr
        try:
            while chunk := os.read(stderr.fileno(), 4096):
                self._stderr_tail = (self._stderr_tail + chunk)[-4096:]
        except OSError:
            pass


# ffmpeg's wording for failures of the network input (as opposed to undecodable content).
_NETWORK_FAILURES = (
    b"HTTP error",
    b"Server returned",
    b"Connection refused",
    b"timed out",
    b"Connection reset",
    b"Input/output error",  # what a refused redirect (-max_redirects 0) looks like
)


def _user_message(stderr: bytes, *, is_local: bool) -> str:
    """A user-safe reason for a failed ffmpeg run (never its raw output, which may hold URLs)."""
    if not is_local and any(marker in stderr for marker in _NETWORK_FAILURES):
        return "This track's audio could not be downloaded (the site refused or did not answer)."
    return "This track could not be played (the file is not audio ffmpeg can decode)."
