"""pytest-xdist's `--dist loadscope`, longest module first (`make unit` runs the suite this way).

loadscope keeps each module in one worker, so a module's slow fixtures (sandbox + bot, a browser, a
whole stack) start once. It hands modules out by test count, though, so a long module with few tests
(one bot start-up and a 15-s song) can start last and run alone at the end while the other workers
idle. Here the next module handed out is the longest one left: its seconds from the last run (kept
in pytest's cache), or, without a cache (CI's fresh clone), a guess from its test count and name.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

CACHE_KEY = "zilean/xdist-scope-seconds"
# Modules that start a bot, a browser, a stack or `zilean` processes: about this long before any test.
STACK_HINTS = ("tests/bot/", "tests/cli/", "/browser/", "e2e", "egress", "backup", "copy", "reliability")
STACK_GUESS_S = 20.0
PER_TEST_GUESS_S = 0.3


def scope_of(nodeid: str) -> str:
    """The work unit of a test under loadscope (its module, or its class)."""
    return nodeid.rsplit("::", 1)[0]


class LongestFirst(LoadScopeScheduling):
    """LoadScopeScheduling whose next work unit is the one expected to take longest."""

    def __init__(self, config: pytest.Config, log: Any, seconds: dict[str, float]) -> None:
        super().__init__(config, log)
        self.seconds = seconds

    def expected_s(self, scope: str) -> float:
        if scope in self.seconds:
            return self.seconds[scope]
        guess = PER_TEST_GUESS_S * len(self.workqueue[scope])
        return guess + (STACK_GUESS_S if any(hint in scope for hint in STACK_HINTS) else 0.0)

    def _assign_work_unit(self, node: Any) -> None:
        longest = max(self.workqueue, key=self.expected_s)
        self.workqueue.move_to_end(longest, last=False)  # the base class takes the first one
        super()._assign_work_unit(node)


class ScopeTimer:
    """Adds up each work unit's seconds (setup + call + teardown) and keeps them in the cache."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.seconds: defaultdict[str, float] = defaultdict(float)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[scope_of(report.nodeid)] += report.duration

    @pytest.hookimpl
    def pytest_sessionfinish(self) -> None:
        cache = getattr(self.config, "cache", None)
        if cache is not None and self.seconds:
            known = dict(cache.get(CACHE_KEY, {}))
            known.update({scope: round(s, 2) for scope, s in self.seconds.items()})
            cache.set(CACHE_KEY, known)


def make_scheduler(config: pytest.Config, log: Any) -> LongestFirst:
    cache = getattr(config, "cache", None)
    seconds = dict(cache.get(CACHE_KEY, {})) if cache is not None else {}
    return LongestFirst(config, log, seconds)
