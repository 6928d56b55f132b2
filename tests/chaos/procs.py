"""Consumer processes of a run: ``consumer run`` per member slot, signalled, reaped, logs captured.

Each start of a slot is an *incarnation* with its own stderr file (JSON log lines at DEBUG), its own
metrics port and its own process group. The harness records when it signalled and when the process
exited; a process that exits without being signalled is a crash (a product bug) and is restarted
like an orchestrator would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


PIDS = "pids.txt"  # every child of a run, so a crashed runner can be cleaned up after


def remember(out: Path, pid: int, what: str) -> None:
    with (out / PIDS).open("a") as fh:
        fh.write(f"{pid} {what}\n")


def cleanup(out: Path) -> int:
    """Kill what is left of a run in ``out`` (members, simulator): the run's ``finally`` did not run.
    Only pids whose command line is still ours are signalled; returns how many were."""
    path = out / PIDS
    killed = 0
    for line in path.read_text().splitlines() if path.exists() else []:
        pid_text, _, what = line.partition(" ")
        pid = int(pid_text)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if what.encode() in cmdline:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
                killed += 1
    return killed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float | None:
    """Resident set size of ``pid`` in MB, ``None`` once it has exited."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass(slots=True)
class Incarnation:
    slot: int
    number: int
    proc: subprocess.Popen[bytes]
    log: Path
    metrics_port: int
    started: float  # wall clock
    signals: list[tuple[float, str]] = field(default_factory=list)
    exited: float | None = None
    returncode: int | None = None
    stopped: bool = False  # SIGSTOPped right now
    oneshot: bool = False  # ``--until-drained``: exits by itself with 0 when done

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def name(self) -> str:
        return f"m{self.slot}.{self.number}"

    @property
    def alive(self) -> bool:
        return self.exited is None

    @property
    def crashed(self) -> bool:
        """Exited although nobody asked it to stop (a one-shot run: with a non-zero code)."""
        if self.exited is None or self.signals:
            return False
        return not self.oneshot or self.returncode != 0

    def poll(self) -> bool:
        """Reap if exited; True when it is (now) known to have exited."""
        if self.exited is None and self.proc.poll() is not None:
            self.exited = time.time()
            self.returncode = self.proc.returncode
        return self.exited is not None

    def signal(self, sig: signal.Signals) -> None:
        if self.poll():
            return
        self.signals.append((time.time(), sig.name))
        if sig is signal.SIGTERM and self.stopped:
            os.kill(self.pid, signal.SIGCONT)  # a stopped process must be able to handle SIGTERM
            self.stopped = False
        os.kill(self.pid, sig)
        if sig is signal.SIGSTOP:
            self.stopped = True
        elif sig is signal.SIGCONT:
            self.stopped = False

    async def wait(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not self.poll():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "pid": self.pid,
            "started": round(self.started, 3),
            "signals": [[round(t, 3), s] for t, s in self.signals],
            "exited": None if self.exited is None else round(self.exited, 3),
            "returncode": self.returncode,
            "log": self.log.name,
            "crashed": self.crashed,
        }


class Members:
    """Every incarnation of every slot; :meth:`start` a slot, signal the live ones, stop all."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self._env = env
        self._logs = logs
        self.incarnations: list[Incarnation] = []

    def live(self, slot: int | None = None) -> list[Incarnation]:
        return [i for i in self.incarnations if not i.poll() and (slot is None or i.slot == slot)]

    def current(self, slot: int) -> Incarnation | None:
        live = self.live(slot)
        return live[-1] if live else None

    def start(self, slot: int, *args: str) -> Incarnation:
        number = sum(1 for i in self.incarnations if i.slot == slot) + 1
        port = free_port()
        log = self._logs / f"consumer-m{slot}.{number}.log"
        env = {**self._env, "SSC_OBSERVABILITY__PORT": str(port), "SSC_KAFKA__CLIENT_ID": f"chaos-m{slot}"}
        with log.open("ab") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "consumer", "run", *args],
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                start_new_session=True,
            )
        remember(self._logs, proc.pid, "consumer")
        inc = Incarnation(slot, number, proc, log, port, time.time(), oneshot="--until-drained" in args)
        self.incarnations.append(inc)
        return inc

    async def stop_all(self, timeout_s: float) -> None:
        """SIGTERM every live member, wait up to ``timeout_s``, then SIGKILL what is left."""
        live = self.live()
        for inc in live:
            inc.signal(signal.SIGTERM)
        for inc in live:
            if not await inc.wait(timeout_s):
                inc.signal(signal.SIGKILL)
                await inc.wait(10)

    def kill_all(self) -> None:
        """Last resort (finally blocks): SIGKILL every process still running, reap them."""
        for inc in self.incarnations:
            if inc.poll():
                continue
            inc.signals.append((time.time(), "SIGKILL"))  # asked for: not a crash
            with contextlib.suppress(OSError):
                os.killpg(inc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                inc.proc.wait(10)
            inc.poll()
