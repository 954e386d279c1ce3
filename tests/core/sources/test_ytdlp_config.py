"""yt-dlp as the workers configure it: the JS runtime YouTube needs, cookies and a proxy (issue #14)."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from zilean.core.sources.ytdlp import YtDlpRunner
from zilean.core.sources.ytdlp_config import (
    YtDlpConfig,
    bundled_deno,
    cookies_problem,
    extractor_args,
    extractor_args_problem,
    js_runtime_problem,
    js_runtimes,
)
from zilean.core.sources.ytdlp_worker import configured_params

NETSCAPE = "# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t0\tSID\tsecret-cookie-value\n"


@pytest.fixture
async def runner_for() -> AsyncIterator[list[YtDlpRunner]]:
    started: list[YtDlpRunner] = []
    yield started
    for runner in started:
        await runner.close()


async def header_of(runners: list[YtDlpRunner], config: YtDlpConfig) -> str:
    runner = YtDlpRunner(config=config)
    runners.append(runner)
    return "\n".join(await runner.diagnose())


def test_the_deno_wheel_is_installed_and_runs() -> None:
    path = bundled_deno()
    assert path is not None and os.access(path, os.X_OK)
    assert js_runtimes(None) == {"deno": {"path": path}}
    assert js_runtimes("node:/usr/bin/node") == {"node": {"path": "/usr/bin/node"}}
    assert js_runtimes("none") == {}


async def test_a_worker_sees_the_bundled_deno_and_the_ejs_scripts(runner_for: list[YtDlpRunner]) -> None:
    header = await header_of(runner_for, YtDlpConfig())
    # yt-dlp's own verbose header, from a real worker process: deno found, version known, supported.
    assert re.search(r"JS runtimes: deno-\d+\.\d+", header, re.MULTILINE), header
    assert "(unsupported)" not in header
    assert re.search(r"Optional libraries: .*yt_dlp_ejs-\d", header, re.MULTILINE), header


async def test_ytdlp_js_runtime_overrides_and_none_disables(runner_for: list[YtDlpRunner]) -> None:
    deno = bundled_deno()
    assert deno is not None
    explicit = await header_of(runner_for, YtDlpConfig(js_runtime=f"deno:{deno}"))
    assert re.search(r"JS runtimes: deno-\d", explicit, re.MULTILINE)
    disabled = await header_of(runner_for, YtDlpConfig(js_runtime="none"))
    assert "JS runtimes: none (disabled)" in disabled


async def test_a_proxy_reaches_yt_dlp_without_its_password(runner_for: list[YtDlpRunner]) -> None:
    header = await header_of(runner_for, YtDlpConfig(proxy="http://user:hunter2@10.0.0.5:3128"))
    assert "10.0.0.5:3128" in header
    assert "hunter2" not in header


async def test_cookies_are_used_from_a_private_copy(runner_for: list[YtDlpRunner], tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(NETSCAPE)
    before = cookies.read_bytes()
    header = await header_of(runner_for, YtDlpConfig(cookies_file=str(cookies)))
    assert "secret-cookie-value" not in header and str(cookies) not in header
    for runner in runner_for:
        await runner.close()
    assert cookies.read_bytes() == before  # yt-dlp wrote its jar back to the copy, not to ours


def test_config_check_names_a_bad_runtime_or_cookies_file(tmp_path: Path) -> None:
    assert js_runtime_problem(None) is None and js_runtime_problem("none") is None
    assert "supports deno" in (js_runtime_problem("nodejs") or "")
    assert "not an executable" in (js_runtime_problem(f"deno:{tmp_path}/nothing") or "")
    assert cookies_problem(None) is None
    assert "does not exist" in (cookies_problem(str(tmp_path / "none.txt")) or "")
    wrong = tmp_path / "cookies.json"
    wrong.write_text('[{"name": "SID", "value": "secret-cookie-value"}]')
    problem = cookies_problem(str(wrong)) or ""
    assert "not a Netscape cookies file" in problem and "secret-cookie-value" not in problem
    good = tmp_path / "cookies.txt"
    good.write_text(NETSCAPE)
    assert cookies_problem(str(good)) is None


def test_the_config_travels_in_the_environment_not_argv() -> None:
    config = YtDlpConfig(js_runtime="deno", cookies_file="/c.txt", proxy="socks5://u:p@proxy:1080")
    assert YtDlpConfig.from_env({"ZILEAN_YTDLP_CONFIG": config.to_env()}) == config
    assert YtDlpConfig.from_env({}) == YtDlpConfig()


def test_extractor_args_use_yt_dlp_syntax() -> None:
    spec = "youtube:player_client=default,mweb;po_token=web.gvs+T0K youtubetab:skip=webpage"
    assert extractor_args(spec) == {
        "youtube": {"player_client": ["default", "mweb"], "po_token": ["web.gvs+T0K"]},
        "youtubetab": {"skip": ["webpage"]},
    }
    assert configured_params(YtDlpConfig(extractor_args=spec))["extractor_args"] == extractor_args(spec)
    assert "extractor_args" not in configured_params(YtDlpConfig())
    assert extractor_args_problem(spec) is None and extractor_args_problem(None) is None
    assert "not EXTRACTOR:KEY=VALUE" in (extractor_args_problem("player_client=web") or "")
    assert "not KEY=VALUE" in (extractor_args_problem("youtube:player_client") or "")
