"""``consumer schemas export|asyncapi``: write (or check) the event contracts generated from the models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

schemas_app = typer.Typer(
    rich_markup_mode=None,
    help="Event contracts: the catalog's JSON Schema files and AsyncAPI document.",
    no_args_is_help=True,
)


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
