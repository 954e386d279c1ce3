"""libopus complexity (ffmpeg's -compression_level 10..0): encode CPU against quality vs the source.

Run: .venv/bin/python bench/opus_complexity.py [--seconds 60] [--rounds 7] [--bitrate 96k]
Each level encodes the bench's music-like MP3 (`_signals.write_mp3`) as the floor command does,
plus our bitrate: `ffmpeg -i X -ar 48000 -c:a libopus -b:a 96k -compression_level N -f ogg`.

CPU = user + sys seconds of the ffmpeg child per second of audio, levels interleaved in a shuffled
order each round; median and minimum over rounds (contention only ever adds CPU time).

Quality = the decoded Opus against the source decoded and resampled to 48 kHz the same way (so only
the encoder differs), after aligning the two by cross-correlation:
- SNR over the whole file, and segmental SNR (the median over 20 ms frames of each frame's SNR,
  frames quieter than -50 dBFS left out), so a few loud passages cannot carry the figure;
- SNR of the mid (L+R) and side (L-R) signals: libopus's complexity >= 8 adds a rate-distortion
  search over each band's stereo angle, so the stereo image is where levels 7 and 8 should differ;
- per octave band from an STFT: the noise-to-signal ratio (NSR, error energy / the band's source
  energy; the worst band is listed) and the noise's level against the whole signal's energy, which
  tells a quiet band with a poor NSR (likely masked by loud neighbours) from audible noise.
SNR is not a perceptual measure: it only shows whether levels differ in how closely they follow
the waveform. Equal numbers at equal bitrate mean the cheaper search did not cost fidelity here.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _signals import write_mp3
from effects_cpu import _cores, _cpu_model, child_cpu

RATE = 48_000
LEVELS = tuple(range(10, -1, -1))
# Octave bands (lower edge, upper edge) in Hz: 31.25 Hz .. 16 kHz; the top band stops at 20 kHz,
# where Opus's full band ends (the 192 kb/s MP3 source is low-passed near 19-20 kHz anyway).
BANDS = tuple((31.25 * 2**k, min(62.5 * 2**k, 20_000.0)) for k in range(10))
FRAME = RATE // 50  # 20 ms
SILENCE_DBFS = -50.0


def encode_argv(ffmpeg: str, source: Path, level: int, bitrate: str, out: str) -> list[str]:
    return [
        ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", str(source), "-ar", str(RATE),
        "-c:a", "libopus", "-b:a", bitrate, "-compression_level", str(level), "-f", "ogg", out,
    ]  # fmt: skip


def decode(ffmpeg: str, path: Path) -> np.ndarray:
    """Any file → float32 48 kHz stereo samples, shape (n, 2)."""
    argv = [ffmpeg, "-nostdin", "-loglevel", "error", "-i", str(path), "-ar", str(RATE), "-ac", "2"]
    raw = subprocess.run([*argv, "-f", "f32le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, "<f4").reshape(-1, 2).astype(np.float64)


def align(ref: np.ndarray, out: np.ndarray, max_lag: int = 4800) -> tuple[np.ndarray, np.ndarray]:
    """Both signals cut to their overlap after shifting `out` by the lag of highest correlation."""
    a, b = ref.sum(axis=1), out.sum(axis=1)
    n = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    lag = int(lags[np.argmax(corr[lags])])  # out[i + lag] ≈ ref[i]
    if lag >= 0:
        out = out[lag:]
    else:
        ref = ref[-lag:]
    length = min(len(ref), len(out))
    return ref[:length], out[:length]


def quality(ref: np.ndarray, out: np.ndarray) -> dict[str, float]:
    """SNR, segmental, mid and side SNR, octave-band NSR and band noise level (all dB) of `out` vs `ref`."""
    ref, out = align(ref, out)
    err = out - ref
    result = {"snr": _snr(ref, err)}
    result["mid"] = _snr(ref.sum(axis=1), err.sum(axis=1))
    result["side"] = _snr(ref[:, 0] - ref[:, 1], err[:, 0] - err[:, 1])
    frames = len(ref) // FRAME
    sig = (ref[: frames * FRAME] ** 2).reshape(frames, -1).sum(axis=1)
    noise = (err[: frames * FRAME] ** 2).reshape(frames, -1).sum(axis=1)
    loud = sig / (FRAME * 2) > 10 ** (SILENCE_DBFS / 10)
    result["segsnr"] = float(np.median(10 * np.log10(sig[loud] / np.maximum(noise[loud], 1e-20))))
    window = np.hanning(4096)
    spec_ref = _power_spectrum(ref, window)
    spec_err = _power_spectrum(err, window)
    freqs = np.fft.rfftfreq(len(window), 1 / RATE)
    for low, high in BANDS:
        band = (freqs >= low) & (freqs < high)
        result[_band_label(low)] = 10 * np.log10(spec_err[band].sum() / spec_ref[band].sum())
        result["noise " + _band_label(low)] = 10 * np.log10(spec_err[band].sum() / spec_ref.sum())
    return result


def band_levels(x: np.ndarray) -> dict[str, float]:
    """Each octave band's share of the signal's energy, dB."""
    window = np.hanning(4096)
    spec = _power_spectrum(x, window)
    freqs = np.fft.rfftfreq(len(window), 1 / RATE)
    return {
        _band_label(low): float(10 * np.log10(spec[(freqs >= low) & (freqs < high)].sum() / spec.sum()))
        for low, high in BANDS
    }


def _snr(ref: np.ndarray, err: np.ndarray) -> float:
    return float(10 * np.log10((ref**2).sum() / (err**2).sum()))


def _power_spectrum(x: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Power per frequency bin summed over 50 %-overlapping frames and both channels."""
    hop = len(window) // 2
    total = np.zeros(len(window) // 2 + 1)
    for channel in x.T:
        starts = range(0, len(channel) - len(window), hop)
        frames = np.stack([channel[s : s + len(window)] for s in starts]) * window
        total += (np.abs(np.fft.rfft(frames, axis=1)) ** 2).sum(axis=0)
    return total


def _band_label(low: float) -> str:
    return f"{low / 1000:g}k" if low >= 1000 else f"{low:g}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--bitrate", default="96k")
    args = parser.parse_args()
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        source = write_mp3(ffmpeg, tmp / "music.mp3", args.seconds)
        samples: dict[int, list[float]] = {level: [] for level in LEVELS}
        child_cpu(encode_argv(ffmpeg, source, 10, args.bitrate, "/dev/null"))  # warm the cache
        for _ in range(args.rounds):
            order = list(LEVELS)
            random.shuffle(order)
            for level in order:
                cpu = child_cpu(encode_argv(ffmpeg, source, level, args.bitrate, "/dev/null"))
                samples[level].append(cpu / args.seconds)
        ref = decode(ffmpeg, source)
        source_bands = band_levels(ref)
        scores: dict[int, dict[str, float]] = {}
        for level in LEVELS:
            out = tmp / f"level{level}.ogg"
            subprocess.run(encode_argv(ffmpeg, source, level, args.bitrate, str(out)), check=True)
            scores[level] = quality(ref, decode(ffmpeg, out))
            scores[level]["kbps"] = out.stat().st_size * 8 / args.seconds / 1000

    machine = f"{platform.node()} {platform.machine()}, {_cpu_model()}, {_cores()} cores"
    print(f"machine: {machine}; python {platform.python_version()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"command: python bench/opus_complexity.py --seconds {args.seconds:g} --rounds {args.rounds}"
        f" --bitrate {args.bitrate}"
    )
    print(f"source: {args.seconds:g} s music-like 44.1 kHz stereo MP3 192 kb/s → Ogg Opus 48 kHz stereo\n")
    top = statistics.median(samples[10])
    top_min = min(samples[10])
    print(
        "| -compression_level | % of one core (median) | % (min) | × level 10 (median) | × level 10 (min)"
        " | file kb/s | SNR dB | segmental SNR dB | mid SNR dB | side SNR dB | worst octave NSR dB (band) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    band_labels = [_band_label(low) for low, _ in BANDS]
    for level in LEVELS:
        med, low = statistics.median(samples[level]), min(samples[level])
        s = scores[level]
        worst = max(band_labels, key=lambda label: s[label])
        print(
            f"| {level} | {med * 100:.3f} % | {low * 100:.3f} % | {med / top:.2f} | {low / top_min:.2f}"
            f" | {s['kbps']:.1f} | {s['snr']:.2f} | {s['segsnr']:.2f} | {s['mid']:.2f} | {s['side']:.2f}"
            f" | {s[worst]:.1f} ({worst} Hz) |"
        )
    print("\nNoise-to-signal ratio per octave band, dB (lower is better; band = lower edge in Hz):\n")
    print("| level | " + " | ".join(band_labels) + " |")
    print("|---|" + "---|" * len(band_labels))
    for level in LEVELS:
        print(f"| {level} | " + " | ".join(f"{scores[level][label]:.1f}" for label in band_labels) + " |")
    print(
        "\nNoise per octave band against the whole signal's energy, dB (first row: the source's own bands):\n"
    )
    print("| level | " + " | ".join(band_labels) + " |")
    print("|---|" + "---|" * len(band_labels))
    print("| source | " + " | ".join(f"{source_bands[label]:.1f}" for label in band_labels) + " |")
    for level in LEVELS:
        cells = " | ".join(f"{scores[level]['noise ' + label]:.1f}" for label in band_labels)
        print(f"| {level} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
