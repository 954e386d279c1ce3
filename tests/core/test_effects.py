"""Effects as values: the catalogue, the golden filter strings, and how stacks combine."""

from __future__ import annotations

import pytest

from zilean.core import effects
from zilean.core.effects import UnknownEffectError, filter_chain, speed_factors, tempo_factor
from zilean.core.errors import ZileanError

# The exact ffmpeg filter string of every effect on its own. A change here changes what users hear:
# update it deliberately, together with the audio tests in test_effects_audio.py.
S48 = "asetrate=48000"
GOLDEN = {
    "nightcore": f"aresample=38400:resampler=soxr,{S48}",
    "vaporwave": f"aresample=60000:resampler=soxr,{S48}",
    "bassboost": "bass=g=10:f=100:w=0.6",
    "trebleboost": "treble=g=10:f=4000:w=0.6",
    "8d": "apulsator=hz=0.125",
    "karaoke": "stereotools=mlev=0.015625",
    "tremolo": "tremolo=f=6:d=0.7",
    "vibrato": "vibrato=f=6:d=0.5",
    "echo": "aecho=0.8:0.7:250:0.5",
    "reverb": "aecho=0.8:0.85:37|61|89|113|149|181:0.5|0.42|0.35|0.29|0.23|0.18",
    "chipmunk": f"aresample=32000:resampler=soxr,{S48},atempo=0.666667",
    "deep": f"aresample=64000:resampler=soxr,{S48},atempo=1.333333",
    "speedup": "atempo=1.25",
    "slowdown": "atempo=0.8",
    "telephone": "highpass=f=300,highpass=f=300,lowpass=f=3400,lowpass=f=3400",
    "underwater": "lowpass=f=500,lowpass=f=500",
    "normalize": "dynaudnorm=f=200:g=11:p=0.9:m=10:r=0.16",
}


def test_catalogue_has_every_required_effect_with_a_description() -> None:
    assert set(effects.effect_names()) == set(GOLDEN)
    assert len(effects.EFFECTS) >= 17
    for effect in effects.EFFECTS.values():
        assert effect.description and "\n" not in effect.description and len(effect.description) < 80


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_filter_string(name: str) -> None:
    assert filter_chain([name]) == GOLDEN[name]


def test_no_effects_is_an_empty_chain() -> None:
    assert filter_chain([]) == ""
    assert speed_factors([]) == (1.0, 1.0)


def test_stack_puts_one_speed_stage_first_then_other_effects_in_user_order() -> None:
    assert filter_chain(["bassboost", "nightcore", "echo"]) == (
        "aresample=38400:resampler=soxr,asetrate=48000,bass=g=10:f=100:w=0.6,aecho=0.8:0.7:250:0.5"
    )
    assert filter_chain(["echo", "bassboost"]) == "aecho=0.8:0.7:250:0.5,bass=g=10:f=100:w=0.6"


def test_speed_effects_multiply() -> None:
    assert speed_factors(["nightcore", "speedup"]) == pytest.approx((1.25, 1.5625))
    assert filter_chain(["nightcore", "speedup"]) == f"aresample=38400:resampler=soxr,{S48},atempo=1.25"
    # chipmunk ×1.5 and deep ×0.75 cancel into one ×1.125 pitch shift at the same tempo; 48000 / 1.125
    # rounds to 42667 Hz, and atempo makes up the rounding so the tempo stays exactly ×1
    assert speed_factors(["chipmunk", "deep"]) == pytest.approx((1.125, 1.0))
    assert filter_chain(["chipmunk", "deep"]) == (
        "aresample=42667:resampler=soxr,asetrate=48000,atempo=0.888896"
    )
    # nightcore then vaporwave: ×1.25 × 0.8 = unchanged, so no speed stage at all
    assert filter_chain(["nightcore", "vaporwave"]) == ""


def test_tempo_factor_is_what_the_player_advances_by() -> None:
    assert tempo_factor(["speedup"]) == 1.25
    assert tempo_factor(["chipmunk"]) == 1.0
    assert tempo_factor(["vaporwave", "slowdown"]) == pytest.approx(0.64)


def test_low_tempo_is_split_into_valid_atempo_instances() -> None:
    # slowdown + chipmunk: tempo 0.8, pitch 1.5 → atempo 0.5333 after asetrate ×1.5
    assert filter_chain(["slowdown", "chipmunk"]).endswith(",atempo=0.533333")
    assert effects._atempo(0.3) == ["atempo=0.5", "atempo=0.6"]


def test_duplicates_are_ignored_and_names_are_case_insensitive() -> None:
    assert filter_chain(["Echo", "echo", " ECHO "]) == GOLDEN["echo"]


def test_unknown_effect_lists_the_valid_names() -> None:
    with pytest.raises(UnknownEffectError) as info:
        filter_chain(["bassboost", "lofi"])
    assert "'lofi'" in info.value.message
    for name in GOLDEN:
        assert name in info.value.message
    assert isinstance(info.value, ZileanError)
