"""CPU per stream of the equalizer: the playback pipeline with EQ presets against the same pipeline flat.

Run: .venv/bin/python bench/eq_cpu.py [--seconds 30] [--rounds 5]
CPU = user + sys seconds of the ffmpeg child (RUSAGE_CHILDREN deltas) per second of audio played,
measured as in bench/effects_cpu.py: configurations interleaved in a shuffled order each round,
median and minimum over rounds (contention only adds CPU time, so the minimum is the least
disturbed sample). Whole pipelines (decode, filters, Opus encode) differ by little against their
noise, so a second table isolates the equalizer's filters: decoded float PCM through
`-af <eq chain>` into the null muxer, minus the same run with `anull`.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _signals import write_mp3
from effects_cpu import _cpu_model, child_cpu
from zilean.core.equalizer import FLAT, PRESETS, Equalizer, filter_chain
from zilean.core.media import MediaInput
from zilean.core.pipeline import PlaybackSpec, ffmpeg_argv

CASES: dict[str, Equalizer] = {
    "flat (plain pipeline)": FLAT,
    "one band (1000 Hz +6)": FLAT.with_band(1000, 6),
    "preset bass": PRESETS["bass"],
    "preset rock (all 15 bands)": PRESETS["rock"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory() as tmp:
        source = write_mp3(ffmpeg, Path(tmp) / "music.mp3", args.seconds)
        media = MediaInput(str(source), is_local_file=True)
        configs = {label: ffmpeg_argv(ffmpeg, PlaybackSpec(media, eq=eq)) for label, eq in CASES.items()}
        pipeline: dict[str, list[float]] = {label: [] for label in configs}
        child_cpu(configs["flat (plain pipeline)"])  # warm the page cache and the binary
        pcm = Path(tmp) / "music.f32"
        decode = [
            ffmpeg,
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(source),
            "-ar",
            "48000",
            "-ac",
            "2",
        ]
        subprocess.run([*decode, "-f", "f32le", str(pcm)], check=True)
        graphs = {"anull": "anull"} | {
            label: filter_chain(eq) for label, eq in CASES.items() if not eq.is_flat
        }
        alone: dict[str, list[float]] = {label: [] for label in graphs}
        for _ in range(args.rounds):
            jobs = [("pipeline", label) for label in configs] + [("alone", label) for label in graphs]
            random.shuffle(jobs)
            for kind, label in jobs:
                if kind == "pipeline":
                    pipeline[label].append(child_cpu(configs[label]) / args.seconds)
                else:
                    argv = [ffmpeg, "-nostdin", "-loglevel", "error", "-f", "f32le", "-ar", "48000"]
                    argv += ["-ch_layout", "stereo", "-i", str(pcm), "-af", graphs[label], "-f", "null", "-"]
                    alone[label].append(child_cpu(argv) / args.seconds)

    machine = f"{platform.node()} {platform.machine()}, {_cpu_model()}"
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    print(f"machine: {machine}; python {platform.python_version()}; load average {' '.join(load)}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"command: python bench/eq_cpu.py --seconds {args.seconds:g} --rounds {args.rounds}")
    print(f"source: {args.seconds:g} s music-like 44.1 kHz stereo MP3; output Ogg Opus 48 kHz stereo\n")
    flat = statistics.median(pipeline["flat (plain pipeline)"])
    flat_min = min(pipeline["flat (plain pipeline)"])
    header = "| whole pipeline | filters | CPU s per s played (median) | % of one core | × flat (median)"
    print(header + " | × flat (min) |")
    print("|---|---|---|---|---|---|")
    for label, values in pipeline.items():
        count = len(filter_chain(CASES[label]).split(",")) if not CASES[label].is_flat else 0
        value = statistics.median(values)
        ratios = f"{value / flat:.2f} | {min(values) / flat_min:.2f}"
        print(f"| {label} | {count} | {value:.4f} | {value * 100:.2f} % | {ratios} |")
    print("\nEqualizer filters alone (raw float PCM in, null out; minimum over rounds, minus anull):\n")
    print("| equalizer | filters | added % of one core | flat pipeline + added, × flat |")
    print("|---|---|---|---|")
    baseline = min(alone.pop("anull"))
    for label, values in alone.items():
        added = max(0.0, min(values) - baseline)
        count = len(graphs[label].split(","))
        print(f"| {label} | {count} | {added * 100:.3f} % | {(flat + added) / flat:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
