"""The event loop choice: uvloop when installed and allowed, asyncio as the off switch and fallback."""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest

from consumer import eventloop
from consumer.errors import ConfigError
from consumer.settings import EngineSettings

uvloop = pytest.importorskip("uvloop")


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__.partition(".")[0]


def _without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError


def test_auto_is_the_default_and_runs_on_uvloop_when_installed() -> None:
    assert EngineSettings().event_loop == "auto"
    assert eventloop.loop_factory("auto")[0] == "uvloop"
    assert eventloop.run(_loop_module(), "auto") == "uvloop"


def test_asyncio_is_the_off_switch() -> None:
    assert eventloop.loop_factory("asyncio") == ("asyncio", None)
    assert eventloop.run(_loop_module(), "asyncio") == "asyncio"


def test_auto_falls_back_to_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_uvloop(monkeypatch)
    assert eventloop.loop_factory("auto") == ("asyncio", None)
    assert eventloop.run(_loop_module(), "auto") == "asyncio"


def test_asking_for_uvloop_without_it_names_the_setting_and_starts_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _without_uvloop(monkeypatch)
    main = _loop_module()
    with pytest.raises(ConfigError, match="SSC_ENGINE__EVENT_LOOP") as err:
        eventloop.run(main, "uvloop")
    assert "uvloop extra" in str(err.value) or "[uvloop]" in str(err.value)
    assert main.cr_frame is None  # closed, never awaited


def test_the_setting_refuses_other_loops() -> None:
    with pytest.raises(ValueError, match="event_loop"):
        EngineSettings(event_loop="trio")  # type: ignore[arg-type]


async def _collector_state() -> tuple[int, int, int]:
    return gc.get_threshold()


def test_while_the_loop_runs_the_young_generation_is_collected_less_often() -> None:
    assert EngineSettings().gc_threshold == 5_000
    before = gc.get_threshold()
    assert eventloop.run(_collector_state(), "auto", 5_000) == (5_000, *before[1:])
    assert gc.get_threshold() == before  # Python's settings again once the loop is done


def test_the_collector_is_restored_when_the_run_fails() -> None:
    before = gc.get_threshold()

    async def fail() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        eventloop.run(fail(), "asyncio", 5_000)
    assert gc.get_threshold() == before


def test_a_gc_threshold_of_0_keeps_pythons_settings() -> None:
    before = gc.get_threshold()
    assert eventloop.run(_collector_state(), "auto", 0) == before
    assert eventloop.run(_collector_state(), "auto") == before
    with pytest.raises(ValueError, match="gc_threshold"):
        EngineSettings(gc_threshold=-1)
