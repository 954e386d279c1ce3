"""A few generated tracks so the offline sandbox has something to play without internet."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

# title, artist, an aevalsrc expression (t = seconds), length in seconds.
DEMO_TRACKS = (
    ("Tuning Fork", "Zilean Demo", "0.4*sin(2*PI*440*t)", 30),
    (
        "Arpeggio in A",
        "Zilean Demo",
        "0.3*sin(2*PI*t*440*pow(2,(4*mod(floor(t*4),3)-mod(floor(t*4),2))/12))",
        40,
    ),
    ("Slow Sweep", "Zilean Demo", "0.3*sin(2*PI*(220*t+40*t*t/2*(1-t/120)))", 45),
)


def ensure_demo_library(directory: Path, ffmpeg: str) -> Path:
    """Create the demo MP3s in `directory` (once) and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for title, artist, expression, seconds in DEMO_TRACKS:
        target = directory / f"{title.lower().replace(' ', '-')}.mp3"
        if target.exists():
            continue
        log.info("generating demo track %s", target)
        # Stereo with a small delay on the right channel, so 8d/karaoke have something to work on.
        right = expression.replace("*t", "*(t-0.0007)")
        source = f"aevalsrc='{expression}|{right}':s=48000:d={seconds}"  # quoted: commas in pow()
        subprocess.run(
            [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", source,
             "-c:a", "libmp3lame", "-b:a", "128k", "-metadata", f"title={title}",
             "-metadata", f"artist={artist}", str(target)],
            check=True, timeout=120,
        )  # fmt: skip
    return directory
