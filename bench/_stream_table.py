"""The rows of bench/bot_streams.py: one Markdown line per run, and the spread over a row's runs."""

from __future__ import annotations

from pathlib import Path


def yes_no(flag: bool) -> str:
    """The table's way of writing a flag."""
    return "yes" if flag else "no"


HEADER = (
    "| streams | CPU loop | path | load | all started after | playing | deficit (of it underrun) "
    "| gap p99 median | gap p99 worst | bot CPU | ffmpeg CPU per stream | sandbox CPU "
    "| RSS idle / playing | ffmpeg RSS | SIGTERM → exit |"
)


def row(n: int, burn: bool, kind: str, r: dict[str, float]) -> str:
    """One Markdown table row."""
    return (
        f"| {n} | {yes_no(burn)} | {kind} | {r['load']:.1f} | {r['startup_s']:.1f} s | "
        f"{r['playing']} | "
        f"{r['deficit_pct']:.3f} % ({r['underrun_pct']:.3f} %) | {r['gap_p99_median']:.1f} ms | "
        f"{r['gap_p99_worst']:.1f} ms | {100 * r['bot_cpu']:.0f} % | {100 * r['ffmpeg_cpu']:.2f} % | "
        f"{100 * r['sandbox_cpu']:.0f} % | {r['idle_rss']:.0f} / {r['playing_rss']:.0f} MB | "
        f"{r['ffmpeg_rss']:.0f} MB | {r['stop_s']:.1f} s |"
    )


def spread(n: int, burn: bool, kind: str, runs: list[dict[str, float]]) -> str:
    """min–max over the runs of one row, for the numbers that decide the goals."""

    def span(key: str, scale: float = 1.0, digits: int = 1) -> str:
        values = [r[key] * scale for r in runs]
        return f"{min(values):.{digits}f}–{max(values):.{digits}f}"

    return (
        f"| {n} | {yes_no(burn)} | {kind} | {len(runs)} | {span('load')} | "
        f"{span('startup_s')} s | "
        f"{span('deficit_pct', digits=3)} % | {span('gap_p99_median')} ms | {span('gap_p99_worst')} ms | "
        f"{span('bot_cpu', 100, 0)} % | {span('ffmpeg_cpu', 100, 2)} % | {span('sandbox_cpu', 100, 0)} % |"
    )


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"
