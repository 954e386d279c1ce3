"""CPU per stream for every effect, as a ratio to a bare `ffmpeg -i X -c:a libopus` of the same file.

Two floors: the issue's, exactly as it defines it (the bare command, libopus's default settings,
i.e. complexity 10), and the same bare command at our encoder settings (`-b:a 96k
-compression_level 7`). Against the first, part of any margin is the cheaper encoder setting;
against the second, a ratio is the cost of our filter graph alone at equal encoding.

Run: .venv/bin/python bench/effects_cpu.py [--seconds 30] [--rounds 5]
CPU = user + sys seconds of the ffmpeg child (resource.getrusage(RUSAGE_CHILDREN) deltas) per
second of audio PLAYED (a stream runs in real time, so slowdown's 1.25× longer output is 1.25×
longer playback, not extra cost per second). Configurations run interleaved in a shuffled order
each round so background load hits them alike; the table shows the median and the minimum over
rounds (contention only ever adds CPU time, so the minimum is the least disturbed sample).

A second table isolates each effect's filters: the same audio, decoded once to raw float PCM,
run through `-af <effect chain>` into the null muxer, minus the same run with `anull`. Those
differences are far larger than the noise, unlike the differences between whole pipelines.
"""

from __future__ import annotations

import argparse
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _signals import write_mp3
from zilean.core.effects import EFFECTS, filter_chain, tempo_factor
from zilean.core.media import MediaInput
from zilean.core.pipeline import OPUS_BITRATE, OPUS_COMPLEXITY, PlaybackSpec, ffmpeg_argv

GOAL = 1.2
EQUAL_FLOOR = f"floor at our encoder settings (-b:a {OPUS_BITRATE} -compression_level {OPUS_COMPLEXITY})"
# Not offered as effects; measured so the table shows why the cheap chains were chosen.
REFERENCES = {
    "ref: rubberband pitch ×1.5": "rubberband=pitch=1.5",
    "ref: loudnorm": "loudnorm=I=-16",
}


def child_cpu(argv: list[str]) -> float:
    """user + sys CPU seconds that running argv to completion cost."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def configurations(ffmpeg: str, source: Path) -> dict[str, tuple[list[str], float]]:
    """label → (ffmpeg argv, tempo factor: seconds of source played per second of output)."""
    media = MediaInput(str(source), is_local_file=True)
    floor = [
        ffmpeg,
        "-nostdin",
        "-loglevel",
        "error",
        "-i",
        str(source),
        "-c:a",
        "libopus",
        "-f",
        "ogg",
        "pipe:1",
    ]
    stacks: dict[str, tuple[str, ...]] = {"no effect (full pipeline)": ()}
    stacks |= {name: (name,) for name in EFFECTS}
    stacks["nightcore+bassboost"] = ("nightcore", "bassboost")
    # Same bare command at our bitrate (libopus's stereo default is the same 96 kb/s) and at all our
    # encoder settings: the equal-settings floor, against which only the filter graph differs.
    floor_same_rate = [*floor[:-3], "-b:a", OPUS_BITRATE, *floor[-3:]]
    floor_same = [*floor_same_rate[:-3], "-compression_level", str(OPUS_COMPLEXITY), *floor[-3:]]
    configs = {
        "floor: ffmpeg -i X -c:a libopus": (floor, 1.0),
        f"floor at our bitrate (-b:a {OPUS_BITRATE})": (floor_same_rate, 1.0),
        EQUAL_FLOOR: (floor_same, 1.0),
    }
    for label, names in stacks.items():
        configs[label] = (ffmpeg_argv(ffmpeg, PlaybackSpec(media, names)), tempo_factor(names))
    base = configs["no effect (full pipeline)"][0]
    graph = base.index("-af") + 1
    for label, extra in REFERENCES.items():
        argv = list(base)
        argv[graph] = argv[graph].replace(",volume=", f",{extra},volume=")
        configs[label] = (argv, 1.0)
    return configs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory() as tmp:
        source = write_mp3(ffmpeg, Path(tmp) / "music.mp3", args.seconds)
        configs = configurations(ffmpeg, source)
        samples: dict[str, list[float]] = {label: [] for label in configs}
        child_cpu(configs["no effect (full pipeline)"][0])  # warm the page cache and the binary
        for _ in range(args.rounds):
            order = list(configs)
            random.shuffle(order)
            for label in order:
                argv, tempo = configs[label]
                samples[label].append(child_cpu(argv) / (args.seconds / tempo))
        filter_cost = filters_alone(ffmpeg, source, Path(tmp), args.seconds, args.rounds)

    floor_label = next(iter(configs))
    floor = statistics.median(samples[floor_label])
    floor_min = min(samples[floor_label])
    equal = statistics.median(samples[EQUAL_FLOOR])
    equal_min = min(samples[EQUAL_FLOOR])
    machine = f"{platform.node()} {platform.machine()}, {_cpu_model()}, {_cores()} cores"
    print(f"machine: {machine}; python {platform.python_version()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"command: python bench/effects_cpu.py --seconds {args.seconds:g} --rounds {args.rounds}")
    print(
        f"source: {args.seconds:g} s music-like 44.1 kHz stereo MP3 192 kb/s; output Ogg Opus 48 kHz stereo\n"
    )
    header = [
        "configuration",
        "CPU s per s played (median)",
        "% of one core",
        "× floor (median)",
        "× floor (min)",
    ]
    header += [
        "× equal-settings floor (median)",
        "× equal-settings floor (min)",
        "goal ≤ 1.2×: floor / equal",
    ]
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---|" * (len(header) - 1))
    for label in configs:
        value, least = statistics.median(samples[label]), min(samples[label])
        ratio, ratio_equal = value / floor, value / equal
        if label.startswith(("floor", "ref:")):
            verdict = "—"
        else:
            verdict = " / ".join("ok" if r <= GOAL else "over" for r in (ratio, ratio_equal))
        print(
            f"| {label} | {value:.4f} | {value * 100:.2f} % | {ratio:.2f} | {least / floor_min:.2f}"
            f" | {ratio_equal:.2f} | {least / equal_min:.2f} | {verdict} |"
        )

    print(
        "\nEffect filters alone (raw PCM in, null out; minimum over rounds), against both floors (medians):\n"
    )
    print(
        "| effect | filter graph | added % of one core | equal-settings floor + added, × floor"
        " | equal-settings floor + added, × that floor | goal ≤ 1.2×: floor / equal |"
    )
    print("|---|---|---|---|---|---|")
    baseline = filter_cost.pop("anull")
    for label, value in filter_cost.items():
        added = max(0.0, value - baseline)
        # Our stream ≈ the bare encode at our settings + the filters; against the issue floor and that.
        total, total_equal = (equal + added) / floor, (equal + added) / equal
        graph = filter_chain([label]) if label in EFFECTS else REFERENCES[label]
        if label.startswith("ref:"):
            verdict = "—"
        else:
            verdict = " / ".join("ok" if r <= GOAL else "over" for r in (total, total_equal))
        shown = graph.replace("|", "\\|")  # aecho's delay lists would split the Markdown cell
        print(f"| {label} | `{shown}` | {added * 100:.3f} % | {total:.2f} | {total_equal:.2f} | {verdict} |")
    return 0


def filters_alone(ffmpeg: str, source: Path, tmp: Path, seconds: float, rounds: int) -> dict[str, float]:
    """Minimum CPU s per s played of each effect's filter graph on decoded PCM (plus `anull`)."""
    pcm = tmp / "music.f32"
    decode = [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", str(source), "-ar", "48000", "-ac", "2"]
    subprocess.run([*decode, "-f", "f32le", str(pcm)], check=True)
    graphs = {"anull": "anull"} | {name: filter_chain([name]) for name in EFFECTS} | REFERENCES
    costs: dict[str, list[float]] = {label: [] for label in graphs}
    for _ in range(rounds):
        order = list(graphs)
        random.shuffle(order)
        for label in order:
            argv = [ffmpeg, "-nostdin", "-loglevel", "error", "-f", "f32le", "-ar", "48000"]
            argv += ["-ch_layout", "stereo", "-i", str(pcm), "-af", graphs[label], "-f", "null", "-"]
            tempo = tempo_factor([label]) if label in EFFECTS else 1.0
            costs[label].append(child_cpu(argv) / (seconds / tempo))
    return {label: min(values) for label, values in costs.items()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _cores() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    raise SystemExit(main())
