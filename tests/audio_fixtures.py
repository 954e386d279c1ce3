"""Test signals and helpers shared by audio tests: generators, a WAV writer, ffmpeg runners, servers."""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import threading
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from zilean.core.analysis import SAMPLE_RATE, FloatArray, pcm16_to_channels


@functools.cache
def ffmpeg_exe() -> str:
    """The ffmpeg the product uses by default (the imageio-ffmpeg wheel)."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def tone(freq_hz: float, seconds: float, amplitude: float = 0.5, rate: int = SAMPLE_RATE) -> FloatArray:
    """A mono sine."""
    t = np.arange(round(seconds * rate)) / rate
    result: FloatArray = amplitude * np.sin(2 * np.pi * freq_hz * t)
    return result


def tones(freqs: list[float], seconds: float, amplitude: float = 0.25, rate: int = SAMPLE_RATE) -> FloatArray:
    """A mono mix of equal-amplitude sines."""
    mix: FloatArray = np.sum([tone(f, seconds, amplitude, rate) for f in freqs], axis=0)
    return mix


def steps(freqs: list[float], seconds_each: float = 1.0, amplitude: float = 0.5) -> FloatArray:
    """A mono tone whose frequency changes every `seconds_each` (for seeking tests)."""
    return np.concatenate([tone(f, seconds_each, amplitude) for f in freqs])


def white_noise(seconds: float, amplitude: float = 0.2, seed: int = 7) -> FloatArray:
    """Uniform white noise (deterministic)."""
    rng = np.random.default_rng(seed)
    result: FloatArray = rng.uniform(-amplitude, amplitude, round(seconds * SAMPLE_RATE))
    return result


def pink_noise(seconds: float, amplitude: float = 0.2, seed: int = 11) -> FloatArray:
    """Pink (1/f power) noise, shaped in the frequency domain; peak-normalised to `amplitude`."""
    rng = np.random.default_rng(seed)
    size = round(seconds * SAMPLE_RATE)
    spectrum = np.fft.rfft(rng.standard_normal(size))
    freqs = np.fft.rfftfreq(size, 1 / SAMPLE_RATE)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    noise = np.fft.irfft(spectrum, n=size)
    result: FloatArray = amplitude * noise / np.max(np.abs(noise))
    return result


def burst(
    freq_hz: float, seconds: float, at: float, length: float = 0.02, amplitude: float = 0.8
) -> FloatArray:
    """Silence with one short tone burst starting at `at` seconds (for echo and reverb)."""
    signal = np.zeros(round(seconds * SAMPLE_RATE))
    start = round(at * SAMPLE_RATE)
    piece = tone(freq_hz, length, amplitude) * np.hanning(round(length * SAMPLE_RATE))
    signal[start : start + piece.size] = piece
    return signal


def stereo(left: FloatArray, right: FloatArray | None = None) -> FloatArray:
    """Shape (frames, 2); a mono signal in both channels (centre-panned) when `right` is None."""
    return np.stack([left, left if right is None else right], axis=1)


def write_wav(path: Path, samples: FloatArray, rate: int = SAMPLE_RATE) -> Path:
    """Write float samples (mono 1-D or (frames, channels)) as a 16-bit WAV."""
    frames = samples if samples.ndim == 2 else samples[:, None]
    pcm = (np.clip(frames, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(frames.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def run_pcm(argv: list[str], timeout: float = 60) -> FloatArray:
    """Run an ffmpeg argv writing s16le stereo to stdout; its output as (frames, 2) floats."""
    done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise AssertionError(f"ffmpeg failed: {done.stderr.decode(errors='replace')[-500:]}")
    return pcm16_to_channels(done.stdout)


def integrated_lufs(path: Path) -> float:
    """EBU R128 integrated loudness of a file, measured by ffmpeg's ebur128 filter."""
    done = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = re.findall(r"I:\s+(-?[\d.]+) LUFS", done.stderr)
    assert found, done.stderr[-500:]
    return float(found[-1])


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a player that stops mid-download resets the connection; that is expected


@contextmanager
def http_server(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 (a random port); yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
