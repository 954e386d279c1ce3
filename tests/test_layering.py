"""zilean.core must not import Discord, web frameworks or SQL; bot and web never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "zilean"

FORBIDDEN = {
    "core": {
        "discord",
        "fastapi",
        "starlette",
        "sqlalchemy",
        "asyncpg",
        "aiosqlite",
        "zilean.db",
        "zilean.bot",
        "zilean.web",
        "zilean.cli",
        "zilean.sandbox",
        "zilean.config",
    },
    "db": {"discord", "fastapi", "starlette", "zilean.bot", "zilean.web", "zilean.cli", "zilean.sandbox"},
    "bot": {"fastapi", "starlette", "zilean.web", "zilean.sandbox"},
    "web": {"discord", "zilean.bot", "zilean.sandbox"},
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def violations(package: str) -> list[str]:
    found = []
    for path in sorted((SRC / package).rglob("*.py")):
        for module in imported_modules(path):
            for banned in FORBIDDEN[package]:
                if module == banned or module.startswith(banned + "."):
                    found.append(f"{path.relative_to(SRC)} imports {module}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_layering(package: str) -> None:
    assert violations(package) == []


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import discord.voice_client\nfrom sqlalchemy import text\n")
    assert {"discord.voice_client", "sqlalchemy"} <= imported_modules(bad)
