"""`zilean version` and `zilean config check`."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (see zilean.cli)
if TYPE_CHECKING:
    from zilean.config import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=_version, no_settings=True)

    config = sub.add_parser("config", help="inspect the settings")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_sub.add_parser("check", help="validate the settings and say what is missing")
    check.set_defaults(func=_config_check)


def _version(args: argparse.Namespace, settings: Settings | None) -> int:
    from zilean.cli import version_line

    print(version_line())
    return 0


def _config_check(args: argparse.Namespace, settings: Settings | None) -> int:
    from zilean.config_check import fatal_problems, problems
    from zilean.core.redact import redact_url

    assert settings is not None
    found = problems(settings)
    print(f"environment: {settings.environment.value}")
    print(f"database:    {redact_url(settings.database_url)}")
    for problem in found:
        print(f"problem: {problem}")
    if not found:
        print("ok: the settings are complete")
        return 0
    # In development a missing token only means "sandbox"; that alone is not an error.
    return 2 if fatal_problems(settings) else 0
