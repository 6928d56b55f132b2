"""The CLI reference (``docs/operations/cli.md``), generated from the ``consumer`` command tree.

Every command with its help text and usage, and every option and argument with the help line
``--help`` prints (defaults, bounds and environment variables included).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import typer.main

from docgen import sources
from docgen.markdown import GENERATED_NOTE, cell, table


@dataclass(frozen=True, slots=True)
class Command:
    path: str  # "consumer dlq inspect"
    command: Any  # the click command object
    context: Any  # its click context (for help records and usage)

    @property
    def is_group(self) -> bool:
        return hasattr(self.command, "commands")

    def params(self) -> list[tuple[str, str]]:
        """(names, help) of each visible parameter, as ``--help`` prints them (``--help`` itself too)."""
        rows = []
        for param in self.command.get_params(self.context):
            record = param.get_help_record(self.context)
            if record is not None:
                rows.append(record)
        return rows

    def flags(self) -> list[str]:
        """Every option spelling (``-t``, ``--topic``, ``--no-expand-time``) of the command."""
        names: list[str] = []
        for param in self.command.get_params(self.context):
            if param.param_type_name == "option":
                names += [*param.opts, *param.secondary_opts]
        return names


def commands() -> Iterator[Command]:
    """The root command and every sub-command, depth first, in registration order."""
    root = typer.main.get_command(sources.CLI_APP)

    def walk(cmd: Any, path: str, parent: Any) -> Iterator[Command]:
        name = path.rsplit(" ", 1)[-1]
        ctx = cmd.make_context(name, [], parent=parent, resilient_parsing=True)
        yield Command(path, cmd, ctx)
        # get_command, not the commands mapping: a deferred command is loaded on look-up.
        for sub_name in cmd.list_commands(ctx) if hasattr(cmd, "commands") else ():
            yield from walk(cmd.get_command(ctx, sub_name), f"{path} {sub_name}", ctx)

    yield from walk(root, "consumer", None)


@functools.cache
def by_path() -> dict[str, Command]:
    """Every command by its path (``consumer dlq inspect``), built once."""
    return {c.path: c for c in commands()}


def find(path: str) -> Command | None:
    return by_path().get(path)


def _anchor(path: str) -> str:
    return path.replace(" ", "-")


def _help(command: Any) -> list[str]:
    text = (command.help or "").strip()
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
    return [p.replace("<", "&lt;") for p in paragraphs]


def render() -> str:
    """The whole page."""
    cmds = list(commands())
    out = [
        "# CLI reference",
        "",
        GENERATED_NOTE.format(command="python -m docgen"),
        "",
        "Every command of `consumer` and every option, as `--help` prints them. What the operator "
        "commands are for and how they behave: [Operator commands](commands.md). Every command reads "
        "the same settings as the service ([Configuration](../configuration/index.md)).",
        "",
        table(
            ["command", "what it does"],
            [
                [f"[`{c.path}`](#{_anchor(c.path)})", cell((_help(c.command) or [""])[0])]
                for c in cmds
                if c.path != "consumer"
            ],
        ),
    ]
    for c in cmds:
        usage = " ".join(c.command.collect_usage_pieces(c.context))
        out += ["", f"## `{c.path}` {{#{_anchor(c.path)}}}", ""]
        for paragraph in _help(c.command):
            out += [paragraph, ""]
        out += [f"Usage: `{c.path} {usage}`", ""]
        if c.is_group:
            subs = [f"[`{c.path} {n}`](#{_anchor(f'{c.path} {n}')})" for n in c.command.commands]
            out += ["Commands: " + ", ".join(subs) + ".", ""]
        out.append(table(["option", "meaning"], [[f"`{names}`", cell(text)] for names, text in c.params()]))
    return "\n".join(out) + "\n"
