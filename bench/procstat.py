"""CPU and memory of other processes, read from ``/proc`` (Linux), sampled in a background thread.

:func:`read` takes one :class:`Sample` of a pid: wall time, CPU seconds (user + system, from
``/proc/<pid>/stat``), current RSS and peak RSS (``VmRSS`` / ``VmHWM`` of ``/proc/<pid>/status``).
:class:`Sampler` collects samples of several pids every ``interval_s`` until stopped;
:func:`cpu_at` interpolates the CPU counter at any wall time between two samples, so the CPU spent in
a window that the simulator's ledger defines (first to last accepted send) can be cut out of a run.
The counters tick at ``SC_CLK_TCK`` (100 Hz): a window of a few seconds is precise to ~1 %.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from dataclasses import dataclass, field

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Sample:
    t: float  # wall clock (time.time()), comparable with the simulator's accept times
    cpu_s: float  # user + system CPU seconds since the process started
    rss_kb: int
    hwm_kb: int  # peak RSS so far
    sys_s: float = 0.0  # the system (kernel) part of cpu_s


# pseudo-pids: the whole machine (busy time of all cores) and the time the hypervisor gave our
# virtual CPUs to someone else (steal), both from the first line of /proc/stat
MACHINE = 0
STEAL = -1


def read_machine(*, steal: bool = False) -> Sample:
    """Busy CPU seconds of all cores together (user, nice, system, irq, softirq) since boot, or the
    stolen seconds with ``steal``."""
    now = time.time()
    with open("/proc/stat", "rb") as fh:
        ticks = [int(x) for x in fh.readline().split()[1:]]
    busy = ticks[7] if steal else ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]  # guest is in user
    return Sample(now, busy / _TICK, 0, 0)


def read(pid: int) -> Sample | None:
    """One sample of ``pid`` (or of a pseudo-pid), or ``None`` once the process has exited."""
    if pid in (MACHINE, STEAL):
        return read_machine(steal=pid == STEAL)
    now = time.time()
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        with open(f"/proc/{pid}/status", "rb") as fh:
            status = fh.read()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'
    fields = stat[stat.rindex(b")") + 2 :].split()
    if fields[0] == b"Z":  # a zombie has no memory left to report
        return None
    user, system = int(fields[11]) / _TICK, int(fields[12]) / _TICK  # utime, stime (fields 14, 15)
    rss = hwm = 0
    for line in status.splitlines():
        if line.startswith(b"VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith(b"VmHWM:"):
            hwm = int(line.split()[1])
    return Sample(now, user + system, rss, hwm, system)


def cpu_at(samples: list[Sample], t: float, *, system: bool = False) -> float | None:
    """The CPU counter (``system``: its kernel part) at wall time ``t``, linearly interpolated;
    ``None`` outside the sampled span."""
    if not samples or t < samples[0].t or t > samples[-1].t:
        return None
    i = bisect.bisect_left([s.t for s in samples], t)
    b = samples[i]
    if b.t == t or i == 0:
        return b.sys_s if system else b.cpu_s
    a = samples[i - 1]
    va, vb = (a.sys_s, b.sys_s) if system else (a.cpu_s, b.cpu_s)
    return va + (vb - va) * (t - a.t) / (b.t - a.t)


def cpu_between(samples: list[Sample], t0: float, t1: float, *, system: bool = False) -> float | None:
    """CPU seconds (``system``: kernel seconds) spent between wall times ``t0`` and ``t1``
    (``None`` when the samples do not cover them)."""
    a, b = cpu_at(samples, t0, system=system), cpu_at(samples, t1, system=system)
    return None if a is None or b is None else b - a


@dataclass(slots=True)
class Sampler:
    """Samples every pid of ``pids`` (name → pid) every ``interval_s`` in a daemon thread."""

    pids: dict[str, int]
    interval_s: float = 0.05
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Sampler:
        self.samples = {name: [] for name in self.pids}
        self._thread = threading.Thread(target=self._run, name="procstat", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample_once()
            self._stop.wait(self.interval_s)

    def sample_once(self) -> None:
        for name, pid in self.pids.items():
            if (s := read(pid)) is not None:
                self.samples[name].append(s)

    def stop(self) -> dict[str, list[Sample]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return self.samples

    def peak_rss_mb(self, name: str) -> float:
        """The highest ``VmHWM`` seen for ``name`` (MB), 0 when never sampled."""
        return max((s.hwm_kb for s in self.samples.get(name, ())), default=0) / 1024
