"""``consumer console``: parse the flags, build the console's configuration, serve until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consumer.cli.options import (
    BootstrapOption,
    ConfigOption,
    TimeoutOption,
    VerboseOption,
    one_line_errors,
    settings_for,
)
from consumer.errors import ConsumerError

if TYPE_CHECKING:
    from consumer.console.app import ConsoleConfig
    from consumer.console.guard import Guard
    from consumer.route import Router
    from consumer.settings import Settings

DEFAULT_LISTEN = "127.0.0.1:8090"


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConsumerError(f"--listen: HOST:PORT like {DEFAULT_LISTEN}, not {text!r}", reason="usage")
    return host.strip("[]"), int(port)


def console_command(  # noqa: PLR0917 - one parameter per CLI flag
    listen: Annotated[
        str,
        typer.Option(
            "--listen",
            metavar="HOST:PORT",
            help="Where the console listens. Beyond loopback it requires --auth-file.",
        ),
    ] = DEFAULT_LISTEN,
    replicas: Annotated[
        list[str] | None,
        typer.Option(
            "--consumer",
            metavar="URL",
            help="A consumer's observability URL (its /readyz and /metrics); repeatable. "
            "Default: http://127.0.0.1:<SSC_OBSERVABILITY__PORT>.",
        ),
    ] = None,
    topics: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            "-t",
            metavar="TOPIC",
            help="A DLQ topic to browse; repeatable. Default: the DLQ of each configured source topic.",
        ),
    ] = None,
    allow_replay: Annotated[
        bool,
        typer.Option("--allow-replay", help="Offer replay (dry run, then confirmation). Default: read-only."),
    ] = False,
    auth_file: Annotated[
        Path | None,
        typer.Option(
            "--auth-file",
            metavar="FILE",
            dir_okay=False,
            help="File with one 'user:password' line: HTTP basic auth for every page.",
        ),
    ] = None,
    config: ConfigOption = None,
    bootstrap: BootstrapOption = None,
    timeout: TimeoutOption = 10.0,
    verbose: VerboseOption = False,
) -> None:
    """Serve the web console: replicas' status and charts, dead letters to browse, replay when enabled."""
    from consumer.console.app import ConsoleConfig
    from consumer.console.guard import Guard, load_credentials
    from consumer.loopback import is_loopback
    from consumer.ops.output import configure_logging

    with one_line_errors():
        configure_logging(verbose)
        host, port = parse_listen(listen)
        credentials = load_credentials(auth_file) if auth_file else None
        if credentials is None and not is_loopback(host):
            raise ConsumerError(
                f"--listen {listen} is beyond loopback: give --auth-file",
                reason="usage",
            )
        settings = settings_for(config, bootstrap)
        dlq_topics = tuple(topics or (settings.dlq.topic_for(t) for t in settings.kafka.topics))
        if not dlq_topics:
            raise ConsumerError("no DLQ topic: give --topic, or configure SSC_KAFKA__TOPICS", reason="usage")
        console = ConsoleConfig(
            settings=settings,
            replicas=tuple(replicas or (f"http://127.0.0.1:{settings.observability.port}",)),
            dlq_topics=dlq_topics,
            router=_router(settings),
            allow_replay=allow_replay,
            kafka_timeout_s=timeout,
        )
        asyncio.run(serve(console, Guard(credentials), host, port))


def _router(settings: Settings) -> Router | None:
    from consumer.routing_loader import load_router

    try:
        return load_router(settings)
    except ConsumerError:
        return None  # no routing file here: replays are offered without revalidation


async def serve(config: ConsoleConfig, guard: Guard, host: str, port: int) -> None:
    """Run the console until SIGINT or SIGTERM."""
    from aiohttp import web

    from consumer.console.app import create_app

    runner = web.AppRunner(create_app(config, guard), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        typer.echo(
            f"console: http://{host}:{port}/ ({'replay enabled' if config.allow_replay else 'read-only'})"
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
