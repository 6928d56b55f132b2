"""The ``consumer`` command: parse, build settings, configure logging, call the service.

Each sub-command is a thin wrapper; the work lives in the modules it calls. Errors from this package
print as one line each (``error: <field>: <message>``; invalid settings list every problem) with exit
status 2, never a traceback. Once ``consumer run`` has configured logging, any error that ends it is
one ``service.failed`` log line (JSON by default, scrubbed) and exit code 2 for this package's errors,
1 for anything else.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from consumer import __version__
from consumer.deferred import DeferringGroup, deferred
from consumer.errors import ConsumerError

app = typer.Typer(
    name="consumer",
    help="Kafka domain events -> HubSpot transactional email (Single Send API).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help is plain text: rich markup would turn "ID:SECRET:TOKEN" into an emoji and "[x]" into style.
    rich_markup_mode=None,
    cls=DeferringGroup,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"single-send-consumer {__version__}")
        raise typer.Exit


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Kafka domain events -> HubSpot transactional email (Single Send API)."""


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="SSC_CONFIG_FILE",
        exists=True,
        dir_okay=False,
        help="YAML settings file (secrets are refused there; use env vars or *_file settings).",
    ),
]


# ---------------------------------------------------------------------------------------------- run


@app.command()
def run(
    config: ConfigOption = None,
    until_drained: Annotated[
        bool,
        typer.Option(
            "--until-drained",
            help="Stop (exit 0) once every assigned partition is committed up to its end (batch/backfill).",
        ),
    ] = False,
) -> None:
    """Run the consumer: Kafka -> HubSpot Single Send, commit after confirm (SIGTERM drains and exits 0)."""
    import os

    from consumer import logs, tracing
    from consumer.routing_loader import load_router
    from consumer.service import Service
    from consumer.settings_loader import load_settings

    settings = load_settings(config)
    logs.configure(settings.observability.log_level, settings.observability.log_format)
    traces = tracing.configure(os.environ, settings.kafka.group_id)

    async def main() -> None:
        service = Service(settings, load_router(settings), traces)
        uninstall = service.install_signal_handlers(asyncio.get_running_loop())
        try:
            await service.run(until_drained=until_drained)
        finally:
            uninstall()

    try:
        asyncio.run(main())
    except Exception as exc:  # the last line of defence: one scrubbed JSON line, never a traceback
        logs.get_logger("consumer.service").critical(
            "service.failed", error=type(exc).__name__, detail=str(exc)
        )
        raise typer.Exit(2 if isinstance(exc, ConsumerError) else 1) from None


# ------------------------------------------------------------------------------------------- config

config_app = typer.Typer(
    rich_markup_mode=None, help="The settings this deployment runs with.", no_args_is_help=True
)
app.add_typer(config_app, name="config")


@config_app.callback()
def config_root() -> None:
    """The settings this deployment runs with (environment, config file, defaults)."""


@config_app.command("show")
def config_show(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Print every effective setting, secrets redacted, and where it came from.

    Sources: environment (an SSC_* variable), file (--config / SSC_CONFIG_FILE) or default. Invalid
    settings print one line per problem, exit status 2.
    """
    from consumer.cli.options import one_line_errors
    from consumer.ops.output import Output
    from consumer.settings_loader import effective_settings

    with one_line_errors():
        entries = effective_settings(config)
    out = Output("json" if as_json else "human")
    if not out.human:
        out.json([{"name": e.name, "key": e.key, "value": e.value, "source": e.source} for e in entries])
        return
    out.table(["setting", "value", "from"], [[e.name, e.value, e.source] for e in entries])


# ------------------------------------------------------------------------------------------ schemas

schemas_app = typer.Typer(
    rich_markup_mode=None,
    help="Event contracts: the catalog's JSON Schema files and AsyncAPI document.",
    no_args_is_help=True,
)
app.add_typer(schemas_app, name="schemas")


@schemas_app.callback()
def schemas_root() -> None:
    """Event contracts: the catalog's JSON Schema files (schemas/jsonschema) and AsyncAPI document
    (schemas/asyncapi.json)."""


CheckOption = Annotated[
    bool,
    typer.Option("--check", help="Write nothing; exit 1 when the output differs from the models (for CI)."),
]


def _write_or_check(
    target: Path, folder: Path, check: bool, drift: Callable[[], list[str]], write: Callable[[], str]
) -> None:
    """Write the generated file(s), or with ``check`` list what drifted (files in ``folder``, exit 1);
    exit 2 on I/O errors."""
    try:
        if check:
            problems = drift()
            for problem in problems:
                typer.echo(f"drift: {folder / problem}", err=True)
            if problems:
                raise typer.Exit(1)
            typer.echo(f"{target}: up to date")
            return
        typer.echo(write())
    except OSError as exc:
        typer.echo(f"error: {target}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from exc


@schemas_app.command("export")
def schemas_export(
    directory: Annotated[
        Path | None,
        typer.Argument(help="Target directory. Default: the committed schemas/jsonschema of this checkout."),
    ] = None,
    check: CheckOption = False,
) -> None:
    """Write one JSON Schema file per event type (the structured CloudEvent, draft 2020-12)."""
    from schemas import export as schema_export

    target = directory or schema_export.DEFAULT_DIR
    _write_or_check(
        target,
        target,
        check,
        lambda: schema_export.drift(target),
        lambda: f"wrote {len(schema_export.export(target))} schema files to {target}",
    )


@schemas_app.command("asyncapi")
def schemas_asyncapi(
    path: Annotated[
        Path | None,
        typer.Argument(help="Target file. Default: the committed schemas/asyncapi.json of this checkout."),
    ] = None,
    check: CheckOption = False,
) -> None:
    """Write the AsyncAPI 3.0 document: the events topic, every event type in both Kafka modes."""
    from schemas import asyncapi

    target = path or asyncapi.DEFAULT_PATH
    _write_or_check(
        target,
        target.parent,
        check,
        lambda: asyncapi.drift(target),
        lambda: f"wrote {asyncapi.export(target)}",
    )


# ---------------------------------------------------------------------------------------- simulator
# A developer tool outside the runtime package: its flags and help live beside it, and its module is
# imported only when this command is looked up (run or --help), never by the other commands.
@app.command("simulator", cls=deferred("hubspot_simulator.cli:simulator"))
def simulator() -> None:
    """Placeholder: replaced by hubspot_simulator.cli.simulator when looked up."""


# ------------------------------------------------------------------------------------------ console
from consumer.cli.console import console_command  # noqa: E402

app.command("console")(console_command)


# --------------------------------------------------------------------------------------------- demo


def _existing_file(help_text: str) -> Any:
    return typer.Option(exists=True, dir_okay=False, help=help_text)


@app.command()
def demo(  # noqa: PLR0917 - one parameter per CLI flag
    bootstrap: Annotated[
        str | None,
        typer.Option(help="Use this Kafka instead of starting the local Apache Kafka of deploy/local/."),
    ] = None,
    kafka_port: Annotated[int, typer.Option(help="Port of the local Kafka the demo starts.")] = 9092,
    events: Annotated[
        Path | None,
        _existing_file("NDJSON sample events to publish. Default: the samples shipped with the package."),
    ] = None,
    routing: Annotated[
        Path | None,
        _existing_file(
            "Routing file (its dev email ids are used). Default: the one shipped with the package."
        ),
    ] = None,
    topic: Annotated[
        str, typer.Option(help="Topic the samples are published to (DLQ: <topic>.dlq).")
    ] = "demo.events",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Local Kafka + HubSpot simulator + sample events: run the consumer until drained, print a summary."""
    import dataclasses
    import json

    from consumer import logs
    from consumer.samples import DEMO_ROUTING, SAMPLE_EVENTS
    from consumer_demo.demo import run_demo
    from consumer_demo.summary import print_demo_summary

    logs.configure("ERROR", "console")
    logs.quiet_kafka_client()  # its start-up chatter (coordinator not yet available) is not news here
    summary = asyncio.run(
        run_demo(
            bootstrap=bootstrap,
            kafka_port=kafka_port,
            topic=topic,
            events=events or SAMPLE_EVENTS,
            routing=routing or DEMO_ROUTING,
        )
    )
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(summary), indent=2))
    else:
        print_demo_summary(summary)


# ----------------------------------------------------------------------- publish, dlq, check (ops)
# Flags, help and rendering live in consumer/cli/*.py; the work in consumer/ops/*.
from consumer.cli.dlq import dlq_app  # noqa: E402
from consumer.cli.options import check_command, group_leave_command, publish_command  # noqa: E402

app.command("publish")(publish_command)
app.add_typer(dlq_app, name="dlq")
app.command("check")(check_command)
group_app = typer.Typer(rich_markup_mode=None, help="The consumer group's members.", no_args_is_help=True)
app.add_typer(group_app, name="group")
group_app.command("leave")(group_leave_command)


# ------------------------------------------------------------------------------------------ hubspot
hubspot_app = typer.Typer(
    rich_markup_mode=None, help="HubSpot set-up: install the OAuth app into a portal.", no_args_is_help=True
)
app.add_typer(hubspot_app, name="hubspot")


@hubspot_app.command("oauth-install")
def oauth_install(  # noqa: PLR0917 - one parameter per CLI flag
    out: Annotated[
        Path, typer.Option(dir_okay=False, help="Write the refresh token here (created with mode 0600).")
    ],
    client_id: Annotated[
        str, typer.Option(envvar="SSC_HUBSPOT__AUTH__OAUTH_CLIENT_ID", help="The app's client id.")
    ],
    client_secret_file: Annotated[
        Path | None,
        typer.Option(
            envvar="SSC_HUBSPOT__AUTH__OAUTH_CLIENT_SECRET_FILE",
            exists=True,
            dir_okay=False,
            help="File holding the app's client secret (or SSC_HUBSPOT__AUTH__OAUTH_CLIENT_SECRET).",
        ),
    ] = None,
    scope: Annotated[
        list[str] | None, typer.Option(help="Scope to request (repeatable; default transactional-email).")
    ] = None,
    port: Annotated[
        int, typer.Option(help="Loopback port of the redirect URL http://localhost:PORT/oauth-callback.")
    ] = 8765,
    base_url: Annotated[
        str, typer.Option(envvar="SSC_HUBSPOT__BASE_URL", help="HubSpot API base URL (the token endpoint).")
    ] = "https://api.hubapi.com",
    endpoint: Annotated[
        str, typer.Option("--token-path", help="Token endpoint path under the base URL.")
    ] = "/oauth/v3/token",
    authorize_url: Annotated[
        str, typer.Option(help="HubSpot's authorize page.")
    ] = "https://app.hubspot.com/oauth/authorize",
    timeout: Annotated[float, typer.Option(help="How long to wait for the approval, s.")] = 300.0,
    kubernetes_secret: Annotated[
        str | None, typer.Option(help="Also print the kubectl command storing the token in this Secret.")
    ] = None,
    namespace: Annotated[str, typer.Option(help="Namespace of --kubernetes-secret.")] = "default",
) -> None:
    """Install the OAuth app into a portal: print the authorize URL, receive the code on a loopback
    redirect, exchange it, name the portal, and write the refresh token to a file (mode 0600)."""
    import os

    from consumer.hubspot.auth import token_url
    from consumer.hubspot.install import install
    from consumer.settings import AuthSettings, HubSpotSettings

    if client_secret_file is not None:
        secret = client_secret_file.read_text(encoding="utf-8").strip()
    else:
        secret = os.environ.get("SSC_HUBSPOT__AUTH__OAUTH_CLIENT_SECRET", "").strip()
    if not secret:
        raise ConsumerError(
            "SSC_HUBSPOT__AUTH__OAUTH_CLIENT_SECRET[_FILE]: the app's client secret is required"
        )
    try:  # the same URL rules as the service: https, or http to a loopback host
        HubSpotSettings(base_url=base_url, auth=AuthSettings(oauth_token_path=endpoint))
    except ValueError as exc:
        raise ConsumerError(str(exc).splitlines()[-1].strip()) from None

    def show(url: str) -> None:
        typer.echo("Open this URL, choose the portal and approve the app:\n")
        typer.echo(f"  {url}\n")
        typer.echo("Waiting for HubSpot to redirect to the loopback address ...", err=True)

    done = asyncio.run(
        install(
            token_url=token_url(base_url, endpoint),
            client_id=client_id,
            client_secret=secret,
            out=out,
            show=show,
            scopes=tuple(scope or ("transactional-email",)),
            authorize_base=authorize_url,
            port=port,
            timeout_s=timeout,
        )
    )
    portal = done.portal.hub_id if done.portal.hub_id is not None else "unknown (the answer did not say)"
    typer.echo(f"Installed into portal {portal}; scopes: {', '.join(done.portal.scopes or ()) or 'not said'}")
    typer.echo(f"Refresh token written to {out} (mode 0600): SSC_HUBSPOT__AUTH__OAUTH_REFRESH_TOKEN_FILE")
    typer.echo(f"Set SSC_HUBSPOT__PORTAL_ID={portal} in this environment's settings.")
    if kubernetes_secret:
        typer.echo(
            f"kubectl -n {namespace} create secret generic {kubernetes_secret} "
            f"--from-file=oauth_refresh_token={out} --dry-run=client -o yaml | kubectl apply -f -"
        )


def main() -> None:
    """Console entry point: one line per error (usage errors included), no tracebacks."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: an unknown option, a missing file, ...
        message = exc.format_message()
        ctx = getattr(exc, "ctx", None)
        if "\n" in message:  # a command group called without a command answers with its help
            print(message, file=sys.stderr)
        else:
            hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
            print(f"error: {message}{hint}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except ConsumerError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
