"""The event loop ``consumer run`` runs on: uvloop when it is installed, else asyncio's own.

uvloop (the ``uvloop`` extra, in both lock files) does the same work with less CPU per event: the
socket writes, timers and callbacks of every HubSpot request and Kafka fetch. ``SSC_ENGINE__EVENT_LOOP``
chooses: ``auto`` (default) uses uvloop when it can be imported, ``asyncio`` never does (the off
switch), ``uvloop`` requires it and refuses to start without it.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

from consumer.errors import ConfigError

EventLoopChoice = Literal["auto", "asyncio", "uvloop"]
LoopFactory = Callable[[], asyncio.AbstractEventLoop]
T = TypeVar("T")


def loop_factory(choice: EventLoopChoice) -> tuple[str, LoopFactory | None]:
    """The name of the loop ``choice`` selects and its factory (``None``: asyncio's default loop)."""
    if choice == "asyncio":
        return "asyncio", None
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        if choice == "uvloop":
            raise ConfigError(
                "uvloop is not installed: pip install 'single-send-consumer[uvloop]'",
                field="SSC_ENGINE__EVENT_LOOP",
            ) from None
        return "asyncio", None
    factory: LoopFactory = uvloop.new_event_loop
    return "uvloop", factory


def run(main: Coroutine[Any, Any, T], choice: EventLoopChoice) -> T:
    """``asyncio.run(main)`` on the loop ``choice`` selects."""
    try:
        _, factory = loop_factory(choice)
    except ConfigError:
        main.close()  # never started: no "coroutine was never awaited" warning
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
