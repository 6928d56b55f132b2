"""Sub-commands whose module is imported only when the command is looked up (run, ``--help``).

A developer tool outside the runtime package (the HubSpot simulator) keeps its flags beside its own
code; registered with :func:`deferred`, it stays out of every other command's process (``consumer run``
never imports it). The root group, a :class:`DeferringGroup`, swaps the placeholder for the real command
on the first :meth:`~DeferringGroup.get_command`, so running it, its help, completion and the generated
CLI reference all see the real command, flags and help.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup


class Deferred(TyperCommand):
    """Placeholder of a command whose function, ``module:attribute``, is imported on first look-up."""

    target = ""

    def load(self) -> Any:
        """The real command: the function, with its typer annotations, as a command named like this one."""
        module, _, attribute = self.target.partition(":")
        function = getattr(importlib.import_module(module), attribute)
        app = typer.Typer(add_completion=False, rich_markup_mode=None)
        app.command(self.name)(function)
        return typer.main.get_command(app)


def deferred(target: str) -> type[Deferred]:
    """The command class that defers to ``target`` (``module:attribute``):
    ``app.command("name", cls=deferred("package.module:function"))(placeholder)``."""

    class Bound(Deferred):
        pass

    Bound.target = target
    return Bound


class DeferringGroup(TyperGroup):
    """A command group that loads a :class:`Deferred` command the first time it is looked up."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if isinstance(command, Deferred):
            command = self.commands[cmd_name] = command.load()
        return command
