"""The event loop ``consumer run`` runs on (uvloop when it is installed, else asyncio's own) and the
garbage collector's settings while it runs.

uvloop (the ``uvloop`` extra, in both lock files) does the same work with less CPU per event: the
socket writes, timers and callbacks of every HubSpot request and Kafka fetch. ``SSC_ENGINE__EVENT_LOOP``
chooses: ``auto`` (default) uses uvloop when it can be imported, ``asyncio`` never does (the off
switch), ``uvloop`` requires it and refuses to start without it.

Python's cyclic garbage collector, at its default thresholds, costs the engine about a tenth of its CPU:
every 700 net allocations of container objects it scans the young generation, and with 64 records in
flight (each with its request, answer, futures and task) that count is reached after a handful of
records, so the same live objects are scanned again and again and pushed into the older generations.
While the loop runs, :func:`run` collects the young generation every ``gc_threshold`` net allocations
instead (``SSC_ENGINE__GC_THRESHOLD``, default 5 000; 0 keeps Python's settings); the older
generations keep Python's ratios. Reference counting still frees every object without a cycle at once;
this only decides how often cycles are looked for, so cyclic garbage lives a little longer (the RSS
stays flat at 5 000; much higher thresholds let it grow while a long backlog drains).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
from collections.abc import Callable, Coroutine, Iterator
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


@contextlib.contextmanager
def collector(threshold: int) -> Iterator[None]:
    """Within: the young generation collected every ``threshold`` allocations (the older ones at
    Python's ratios); Python's settings again after. 0: unchanged."""
    if threshold <= 0:
        yield
        return
    before = gc.get_threshold()
    gc.set_threshold(threshold, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def run(main: Coroutine[Any, Any, T], choice: EventLoopChoice, gc_threshold: int = 0) -> T:
    """``asyncio.run(main)`` on the loop ``choice`` selects, with the collector of ``gc_threshold``."""
    try:
        _, factory = loop_factory(choice)
    except ConfigError:
        main.close()  # never started: no "coroutine was never awaited" warning
        raise
    with collector(gc_threshold), asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
