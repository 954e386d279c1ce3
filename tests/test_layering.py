"""zilean.core must not import Discord, web frameworks or SQL; bot and web never import each other."""

from __future__ import annotations

import ast
import sys
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
    # Shared by bot and web, so it may import neither (nor their frameworks).
    "observability": {
        "discord",
        "fastapi",
        "starlette",
        "zilean.bot",
        "zilean.web",
        "zilean.cli",
        "zilean.sandbox",
    },
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
    files = sorted((SRC / package).rglob("*.py"))
    # A missing or emptied package would make this check pass without looking at anything.
    assert files, f"src/zilean/{package} has no Python files: the layering check would check nothing"
    for path in files:
        for module in imported_modules(path):
            for banned in FORBIDDEN[package]:
                if module == banned or module.startswith(banned + "."):
                    found.append(f"{path.relative_to(SRC)} imports {module}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_layering(package: str) -> None:
    assert violations(package) == []


def test_every_layer_exists() -> None:
    missing = [package for package in FORBIDDEN if not (SRC / package / "__init__.py").is_file()]
    assert missing == [], f"layers the check expects but src/zilean lacks: {missing}"


def test_checker_reports_a_web_module_importing_the_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "routes.py").write_text(
        "from zilean.bot.session import GuildSession\nimport discord\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    assert sorted(violations("web")) == [
        "web/routes.py imports discord",
        "web/routes.py imports zilean.bot.session",
    ]
    (tmp_path / "web" / "routes.py").unlink()
    with pytest.raises(AssertionError, match="has no Python files"):
        violations("web")


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import discord.voice_client\nfrom sqlalchemy import text\n")
    assert {"discord.voice_client", "sqlalchemy"} <= imported_modules(bad)
