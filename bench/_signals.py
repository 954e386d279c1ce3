"""A music-like test file for the benchmarks: 44.1 kHz stereo MP3, the shape of a typical source."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np

RATE = 44_100


def music_like(seconds: float, seed: int = 1) -> np.ndarray:
    """Chords, a bass line, hi-hat noise and a kick, panned differently per channel; floats in ±1."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    beat = (t * 2) % 1.0  # 120 bpm
    chord_roots = np.array([220.0, 174.61, 261.63, 196.0])[(t // 2).astype(int) % 4]
    chords = sum(np.sin(2 * np.pi * chord_roots * ratio * t) for ratio in (1.0, 1.26, 1.5)) * 0.12
    bass = np.sin(2 * np.pi * chord_roots / 4 * t) * 0.2
    kick = np.sin(2 * np.pi * 55 * t) * np.exp(-beat * 18) * 0.4
    hats = rng.uniform(-1, 1, t.size) * np.exp(-((t * 4) % 1.0) * 30) * 0.08
    vocal = np.sin(2 * np.pi * 440 * t + 3 * np.sin(2 * np.pi * 5 * t)) * 0.1  # centre, with vibrato
    left = chords * 0.8 + bass + kick + hats * 1.2 + vocal
    right = chords * 1.0 + bass + kick + hats * 0.6 + vocal
    return np.stack([left, right], axis=1) / 1.2


def write_mp3(ffmpeg: str, path: Path, seconds: float) -> Path:
    """Write the music-like signal as a 192 kb/s MP3 (via a temporary WAV)."""
    wav_path = path.with_suffix(".wav")
    pcm = (np.clip(music_like(seconds), -1, 1) * 32767).astype("<i2")
    with wave.open(str(wav_path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())
    subprocess.run(
        [
            ffmpeg,
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(wav_path),
            "-c:a",
            "libmp3lame",
            "-b:a",
            "192k",
            str(path),
        ],
        check=True,
    )
    wav_path.unlink()
    return path
