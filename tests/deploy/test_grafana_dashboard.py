"""deploy/grafana/groovy-zilean.json: valid JSON whose every query names only metrics the code exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from zilean.observability import names
from zilean.observability.registry import new_registry, render

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "groovy-zilean.json"
KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "and",
    "or",
    "unless",
}
SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created")
# Grafana's own, and the one Prometheus adds to every target.
BUILT_IN = {"up"}


def exported() -> set[str]:
    """Every family the bot and the dashboard export: names.py (held to the code by the e2e tests) and
    what prometheus_client's process and platform collectors really export here."""
    standard = {family.name for family in text_string_to_metric_families(render(new_registry()).decode())}
    return set(names.BOT | names.WEB) | standard | BUILT_IN


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers, groupings and functions removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"(?<![\w.])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", "", text)  # numbers, 1e-9 too
    found = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        token = match.group()
        rest = text[match.end() :].lstrip()
        if token in KEYWORDS or rest.startswith("(") or token.startswith("$"):
            continue
        found.add(token)
    return found


def family(name: str, known: set[str]) -> str:
    """The family a sample name belongs to (`x_total` → `x`, `x_bucket` → `x`) if it is known."""
    if name in known:
        return name
    for suffix in SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in known:
            return name[: -len(suffix)]
    return name


def queries(node: Any) -> Iterator[str]:
    """Every `expr` of the panels and every templating query, anywhere in the JSON."""
    if isinstance(node, dict):
        for key, item in node.items():
            if key == "expr" and isinstance(item, str):
                yield item
            elif key == "definition" and isinstance(item, str):
                inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", item)
                if inner:
                    yield inner.group(1)
            else:
                yield from queries(item)
    elif isinstance(node, list):
        for item in node:
            yield from queries(item)


def unknown_names(dashboard: dict[str, Any]) -> dict[str, set[str]]:
    known = exported()
    problems = {}
    for expr in queries(dashboard):
        used = metric_names(expr)
        missing = {name for name in used if family(name, known) not in known}
        if missing or not used:
            problems[expr] = missing
    return problems


def test_every_query_names_a_metric_the_code_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert len(list(queries(dashboard))) >= 20
    assert unknown_names(dashboard) == {}


def test_the_dashboard_shows_the_metrics_that_matter() -> None:
    used = set()
    known = exported()
    for expr in queries(json.loads(DASHBOARD.read_text(encoding="utf-8"))):
        used |= {family(name, known) for name in metric_names(expr)}
    assert names.BOT - used <= {"zilean_sender_players", "zilean_resolves"}, names.BOT - used
    assert names.WEB - used == set()


def test_the_check_catches_a_misspelt_metric_and_reads_promql_correctly() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, route) "
        '(rate(zilean_http_request_duration_seconds_bucket{job=~"$job"}[5m]))) / clamp_min(up, 1e-9)'
    )
    assert metric_names(expr) == {"zilean_http_request_duration_seconds_bucket", "up"}
    bad = {"panels": [{"targets": [{"expr": 'sum(rate(zilean_frames_sent_total{job="bot"}[1m]))'}]}]}
    assert unknown_names(bad) == {
        'sum(rate(zilean_frames_sent_total{job="bot"}[1m]))': {"zilean_frames_sent_total"}
    }
    assert unknown_names({"panels": [{"targets": [{"expr": "vector(1)"}]}]}) == {"vector(1)": set()}
