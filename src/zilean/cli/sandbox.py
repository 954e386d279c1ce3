"""`zilean sandbox`: run the local Discord emulator and print what a bot needs to use it."""

from __future__ import annotations

import argparse

from zilean.cli import path_arg
from zilean.core.errors import ConfigError, ZileanError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (see zilean.cli)
if TYPE_CHECKING:
    from zilean.config import Settings

DEFAULT_PORT = 8765


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("sandbox", help="run the local Discord emulator (no token, no internet needed)")
    cmd.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    cmd.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"HTTP/WebSocket port (default {DEFAULT_PORT})"
    )
    cmd.add_argument("--world", type=path_arg, help="JSON file of guilds, channels, roles and members")
    cmd.add_argument("--token", help="bot token to accept (default: a generated one, printed at start)")
    cmd.add_argument(
        "--redirect-uri", action="append", default=[], help="allowed OAuth2 redirect URI (repeatable)"
    )
    cmd.add_argument(
        "--cert-dir", type=path_arg, default="data/sandbox-tls", help="where the voice TLS cert lives"
    )
    cmd.add_argument("--no-voice", action="store_true", help="run without the voice server")
    cmd.add_argument(
        "--rate-limit", type=int, help="REST requests per route per second before a 429 (default off)"
    )
    cmd.add_argument(
        "--heartbeat-ack-delay-ms",
        type=int,
        help="delay before each gateway heartbeat ACK, like a network round trip (default 40)",
    )
    cmd.add_argument(
        "--require-key",
        action="store_true",
        help="require a per-run key for /_sandbox and /sandbox (printed in the page URL)",
    )
    cmd.add_argument(
        "--allow-host",
        action="append",
        default=[],
        help="another Host:port /_sandbox and /sandbox answer to, e.g. with --host 0.0.0.0 (repeatable)",
    )
    cmd.add_argument("--env-file", type=path_arg, help="also write the bot's environment to this file")
    cmd.add_argument("--no-bot", action="store_true", help="run only the emulator, without the bot")
    cmd.add_argument("--no-web", action="store_true", help="run the bot without the dashboard")
    cmd.add_argument("--web-port", type=int, help="the dashboard's port (default WEB_PORT; 0: any free port)")
    cmd.set_defaults(func=_sandbox)


def default_args(debug: bool = False) -> argparse.Namespace:
    """The options `zilean sandbox` has with no flags (what `zilean run` uses without a token)."""
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["sandbox"])
    args.debug = debug
    args.quiet = False
    return args


def _sandbox(args: argparse.Namespace, settings: Settings | None) -> int:
    from zilean.logs import setup_logging

    assert settings is not None
    setup_logging(
        settings.log_dir,
        settings.log_level,
        debug=args.debug,
        filename="sandbox.log",
        log_format=settings.log_format,
    )
    return serve(args, settings)


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the sandbox (and the bot against it, unless --no-bot) until SIGINT/SIGTERM."""
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535 (got {args.port})")
    import asyncio

    asyncio.run(_serve(args, settings))
    return 0


def build(args: argparse.Namespace, settings: Settings) -> object:
    """The Sandbox the options describe (not started)."""
    from zilean.sandbox import Sandbox, SandboxConfig, build_world, load_world
    from zilean.sandbox.server import DEFAULT_REDIRECT_URIS

    world = load_world(args.world) if args.world else build_world()
    redirects = [
        *args.redirect_uri,
        f"{settings.web_base_url.rstrip('/')}/callback",
        *DEFAULT_REDIRECT_URIS,
    ]
    config = SandboxConfig(
        host=args.host,
        port=args.port,
        token=args.token,
        voice=not args.no_voice,
        cert_dir=args.cert_dir,
        rate_limit=args.rate_limit,
        redirect_uris=list(dict.fromkeys(redirects)),
    )
    config.allowed_hosts = list(args.allow_host)
    if args.require_key:
        import secrets

        config.control_key = secrets.token_urlsafe(18)
    if args.heartbeat_ack_delay_ms is not None:
        config.heartbeat_ack_delay_ms = max(0, args.heartbeat_ack_delay_ms)
    if settings.discord_client_secret is not None and settings.discord_client_id == str(world.application_id):
        config.client_secret = settings.discord_client_secret.get_secret_value()
    return Sandbox(world, config)


async def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import asyncio
    import contextlib
    import signal

    from zilean.sandbox import Sandbox

    sandbox = build(args, settings)
    assert isinstance(sandbox, Sandbox)
    try:
        await sandbox.start()
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    env = sandbox.bot_env()
    if args.env_file:
        args.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    quiet = getattr(args, "quiet", False)
    if not quiet:
        _describe(sandbox, env, args)
    bot_task = None
    if not args.no_bot:
        from zilean.cli.sandbox_bot import DashboardPlan, run_bot_against

        plan = None
        if not args.no_web:
            port = settings.web_port if args.web_port is None else args.web_port

            def dashboard_ready(base_url: str) -> None:
                sandbox.config.redirect_uris.append(f"{base_url}/callback")
                sandbox.config.dashboard_url = base_url
                if quiet:
                    print(f"Open {base_url} and log in (the sandbox stands in for Discord).", flush=True)
                else:
                    print(f"  dashboard:    {base_url}", flush=True)

            plan = DashboardPlan(settings.web_host, port, dashboard_ready)
        bot_task = asyncio.create_task(run_bot_against(env, settings, plan))
        bot_task.add_done_callback(lambda _: stop.set())  # the bot failing ends the run, loudly
        if not quiet:
            print(f"The bot is connecting: open {sandbox.page_url}, join Music, type =play tuning fork")
    failure: BaseException | None = None
    try:
        await stop.wait()
    finally:
        if bot_task is not None:
            bot_task.cancel()
            try:
                await bot_task
            except asyncio.CancelledError:
                pass
            except Exception as exc:  # already logged with its traceback by run_bot_against
                failure = exc
        await sandbox.stop()
    if failure is not None:
        if isinstance(failure, ZileanError):
            raise ZileanError(f"the bot stopped: {failure.message}")
        raise ZileanError(f"the bot stopped: {failure!r} (traceback in the log)")


def _describe(sandbox: object, env: dict[str, str], args: argparse.Namespace) -> None:
    """What `zilean sandbox` prints: its addresses and the environment a bot needs."""
    from zilean.sandbox import Sandbox

    assert isinstance(sandbox, Sandbox)
    world = sandbox.world
    print(f"Zilean sandbox running at {sandbox.base_url}")
    print(f"  web page:     {sandbox.page_url}")
    print(f"  control API:  {sandbox.base_url}/_sandbox/state   (see docs/sandbox.md)")
    if sandbox.config.control_key:
        print(f"  control key:  X-Sandbox-Key: {sandbox.config.control_key}   (new every run)")
    print(f"  OAuth2:       {sandbox.base_url}/oauth2/authorize  client id {world.application_id}")
    print(f"  voice:        {'on, ' + sandbox.voice.endpoint if sandbox.voice else 'off'}")
    print("Environment for a bot (and dashboard) using this sandbox:")
    for key, value in env.items():
        print(f"  {key}={value}")
    if args.env_file:
        print(f"(also written to {args.env_file})")
