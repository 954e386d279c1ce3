"""Measuring audio: level, dominant frequency, silence. Used by tests, benchmarks and the sandbox."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

SAMPLE_RATE = 48_000
FULL_SCALE = 32768.0


def pcm16_to_channels(pcm: bytes, channels: int = 2) -> FloatArray:
    """Interleaved signed 16-bit little-endian PCM → float array of shape (frames, channels), in ±1.0."""
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % (2 * channels)], dtype="<i2")
    return samples.reshape(-1, channels).astype(np.float64) / FULL_SCALE


def rms(samples: FloatArray) -> float:
    """Root mean square level of a 1-D signal (0.0 for an empty one)."""
    if samples.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(samples))))


def dbfs(level: float) -> float:
    """A linear level as dB relative to full scale (-inf for silence)."""
    return float(20 * np.log10(level)) if level > 0 else float("-inf")


def dominant_frequency(samples: FloatArray, rate: int = SAMPLE_RATE) -> float:
    """The frequency (Hz) of the strongest spectral peak, refined by parabolic interpolation."""
    if samples.size < 2:
        return 0.0
    windowed = (samples - np.mean(samples)) * np.hanning(samples.size)
    spectrum = np.abs(np.fft.rfft(windowed))
    spectrum[0] = 0.0
    peak = int(np.argmax(spectrum))
    offset = 0.0
    if 0 < peak < spectrum.size - 1:
        left, centre, right = np.log(spectrum[peak - 1 : peak + 2] + 1e-12)
        denominator = left - 2 * centre + right
        offset = 0.5 * (left - right) / denominator if denominator else 0.0
    return float((peak + offset) * rate / samples.size)


def band_level(samples: FloatArray, low_hz: float, high_hz: float, rate: int = SAMPLE_RATE) -> float:
    """RMS of the part of the signal between low_hz and high_hz (via the FFT)."""
    if samples.size == 0:
        return 0.0
    spectrum = np.fft.rfft(samples)
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0
    return rms(np.fft.irfft(spectrum, n=samples.size))


def is_silent(samples: FloatArray, threshold_dbfs: float = -60.0) -> bool:
    """True when the signal's RMS is below the threshold."""
    return dbfs(rms(samples)) < threshold_dbfs


def sine(freq_hz: float, seconds: float, amplitude: float = 0.5, rate: int = SAMPLE_RATE) -> FloatArray:
    """A mono test tone."""
    t = np.arange(int(seconds * rate)) / rate
    result: FloatArray = amplitude * np.sin(2 * np.pi * freq_hz * t)
    return result
