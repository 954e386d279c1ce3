"""`zilean effects`: list every audio effect with its description."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (see zilean.cli)
if TYPE_CHECKING:
    from zilean.config import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("effects", help="list the audio effects")
    parser.set_defaults(func=_effects, no_settings=True)


def _effects(args: argparse.Namespace, settings: Settings | None) -> int:
    from zilean.core.effects import EFFECTS

    width = max(len(name) for name in EFFECTS)
    for effect in EFFECTS.values():
        print(f"{effect.name:<{width}}  {effect.description}")
    return 0
