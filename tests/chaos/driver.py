"""Executes a fault plan against the running members, the broker and the simulator.

Faults run one after another at their planned times. Around each one the commit sampler takes a
sample (right before a kill, right after), and the driver then waits — bounded by the fault's
recovery bound plus a margin — until a commit moves past the post-fault sample (or nothing is left to
commit), so faults do not pile up and each recovery time belongs to one fault. The recovery time
itself is computed afterwards by the checker from the samples. A supervisor restarts members that
exit on their own (a crash is recorded; it is a product bug).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from tests.chaos import cluster as kafka
from tests.chaos.observe import CommitSample, CommitSampler
from tests.chaos.plan import Fault, FaultKind
from tests.chaos.procs import Members
from tests.chaos.profiles import Profile
from tests.chaos.simproc import SimClient

RESTART_DELAY_S = 1.0
STOP_WAIT_S = 30.0


@dataclass(slots=True)
class FaultRecord:
    """What happened for one planned fault (wall-clock times)."""

    kind: FaultKind
    at: float
    healed_at: float
    bound_s: float | None
    baseline: CommitSample | None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self, t0: float) -> dict[str, Any]:
        detail = {k: round(v - t0, 2) if k in _EPOCH_KEYS and v else v for k, v in self.detail.items()}
        return {
            "kind": self.kind.value,
            "at_s": round(self.at - t0, 2),
            "healed_s": round(self.healed_at - t0, 2),
            "bound_s": self.bound_s,
            **detail,
        }


_EPOCH_KEYS = ("exited", "member_started")


class Driver:
    def __init__(
        self,
        profile: Profile,
        seed: int,
        *,
        cluster: kafka.Cluster,
        sim: SimClient,
        members: Members,
        sampler: CommitSampler,
        topic: str,
        group: str,
        run_args: tuple[str, ...] = (),
    ) -> None:
        self.profile = profile
        self.cluster = cluster
        self.sim = sim
        self.members = members
        self.sampler = sampler
        self.topic = topic
        self.group = group
        self.rng = random.Random(f"driver-{seed}")
        self.records: list[FaultRecord] = []
        self.timeline: list[dict[str, Any]] = []
        self.stops: list[dict[str, Any]] = []  # every SIGTERM: member, seconds to exit, exit code
        self.desired: set[int] = set(range(profile.members))
        self._background: set[asyncio.Task[Any]] = set()

    def note(self, event: str, **fields: Any) -> None:
        self.timeline.append({"t": time.time(), "event": event, **fields})

    # ------------------------------------------------------------------ members

    def start_member(self, slot: int, *args: str) -> None:
        inc = self.members.start(slot, *args)
        self.note("member.started", member=inc.name, pid=inc.pid)

    async def supervise(self, stop: asyncio.Event) -> None:
        """Restart members that exited on their own (like an orchestrator would)."""
        seen: set[str] = set()
        while not stop.is_set():
            for inc in self.members.incarnations:
                if inc.poll() and inc.crashed and inc.name not in seen:
                    seen.add(inc.name)
                    self.note("member.crashed", member=inc.name, returncode=inc.returncode)
                    if inc.slot in self.desired and self.members.current(inc.slot) is None:
                        self.start_member(inc.slot)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)

    async def terminate(self, slot: int) -> float | None:
        """SIGTERM the slot's member and wait for it (I11: <= 25 s); SIGKILL after 30 s."""
        inc = self.members.current(slot)
        if inc is None:
            return None
        # before `service.starting` the handlers may not be installed yet: Python's default SIGTERM
        # action ends the process (nothing fetched, nothing to drain), which is not a failed stop
        running = b'"service.starting"' in inc.log.read_bytes()
        asked = time.time()
        inc.signal(signal.SIGTERM)
        self.note("member.sigterm", member=inc.name)
        exited = await inc.wait(STOP_WAIT_S)
        if not exited:
            inc.signal(signal.SIGKILL)
            await inc.wait(10)
        seconds = (inc.exited or time.time()) - asked
        self.stops.append(
            {
                "member": inc.name,
                "stop_s": round(seconds, 2),
                "returncode": inc.returncode,
                "forced": not exited,
                "running": running,
            }
        )
        self.note("member.exited", member=inc.name, returncode=inc.returncode, stop_s=round(seconds, 2))
        return inc.exited

    # ------------------------------------------------------------------ plan

    async def execute(self, faults: list[Fault], t0: float) -> None:
        for fault in faults:
            delay = t0 + fault.at_s - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if fault.kind is FaultKind.TOGGLE:
                await self.toggle(fault)
                continue
            record = await self.inject(fault)
            self.records.append(record)
            await self.await_recovery(record)
        await asyncio.gather(*self._background)

    async def inject(self, fault: Fault) -> FaultRecord:
        b = self.profile.bounds
        kind = fault.kind
        pre = await self.sampler.sample(f"pre-{kind.value}")
        detail: dict[str, Any] = {}
        if kind in (FaultKind.CONSUMER_KILL, FaultKind.CONSUMER_STOP, FaultKind.CONSUMER_TERM):
            inc = self.members.current(0)
            if inc is None:
                self.start_member(0)
                inc = self.members.current(0)
            assert inc is not None
            detail["member"] = inc.name
            at = time.time()
            if kind is FaultKind.CONSUMER_KILL:
                inc.signal(signal.SIGKILL)
                self.note("member.sigkill", member=inc.name)
                await inc.wait(10)
                await asyncio.sleep(RESTART_DELAY_S)
                self.start_member(0)
                healed, bound = at, b.kill_recovery_s
            elif kind is FaultKind.CONSUMER_STOP:
                inc.signal(signal.SIGSTOP)
                self.note("member.sigstop", member=inc.name, seconds=round(fault.param, 2))
                await asyncio.sleep(fault.param)
                inc.signal(signal.SIGCONT)
                self.note("member.sigcont", member=inc.name)
                healed, bound = time.time(), b.kill_recovery_s
                detail["paused_s"] = round(fault.param, 2)
            else:
                detail["member_started"] = inc.started
                exited = await self.terminate(0)
                detail["stop_s"] = self.stops[-1]["stop_s"]
                detail["exited"] = exited
                after = await self.sampler.sample("post-sigterm")
                detail["committed_at_stop"] = after.committed if after else None
                await asyncio.sleep(RESTART_DELAY_S)
                self.start_member(0)
                healed, bound = time.time(), b.kill_recovery_s
            post = await self.sampler.sample(f"post-{kind.value}")
            return FaultRecord(kind, at, healed, bound, post or pre, detail)
        if kind is FaultKind.BROKER_RESTART:
            return await self._broker_restart(fault, pre)
        if kind.window:
            status = 503 if kind is FaultKind.OUTAGE_503 else 401
            window: dict[str, Any] = {"status": status, "seconds": fault.param}
            if status == 503:
                window["retry_after"] = 2
            at = time.time()
            await self.sim.faults(window=window)
            self.note("sim.window", status=status, seconds=fault.param)
            await asyncio.sleep(fault.param)
            self.note("sim.window_over", status=status)
            detail.update(status=status, seconds=fault.param, live=[i.name for i in self.members.live()])
            return FaultRecord(kind, at, at + fault.param, b.window_recovery_s, pre, detail)
        return await self._node_kill(fault, pre)

    async def _broker_restart(self, fault: Fault, pre: CommitSample | None) -> FaultRecord:
        sig = signal.Signals[fault.signal]
        at = time.time()
        await kafka.signal_node(self.cluster, 1, sig)
        self.note("broker.signal", node=1, signal=sig.name)
        if not await kafka.wait_node_down(self.cluster, 1, 30):
            await kafka.signal_node(self.cluster, 1, signal.SIGKILL)
            await kafka.wait_node_down(self.cluster, 1, 10)
        self.note("broker.down", node=1)
        await asyncio.sleep(fault.param)
        await kafka.start_node(self.cluster, 1)
        healed = time.time()
        self.note("broker.ready", node=1)
        detail = {"signal": sig.name, "down_s": round(healed - at, 2)}
        return FaultRecord(
            FaultKind.BROKER_RESTART, at, healed, self.profile.bounds.broker_recovery_s, pre, detail
        )

    async def _node_kill(self, fault: Fault, pre: CommitSample | None) -> FaultRecord:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.cluster.bootstrap, request_timeout_ms=10_000)
        await admin.start()
        try:
            if fault.kind is FaultKind.LEADER_KILL:
                node = await kafka.leader_of(admin, self.topic, 0)
            else:
                node = await kafka.coordinator_of(admin, self.group)
            at = time.time()
            await kafka.signal_node(self.cluster, node, signal.SIGKILL)
            self.note("node.sigkill", node=node, role=fault.kind.value)
            await kafka.wait_node_down(self.cluster, node, 10)
            await asyncio.sleep(fault.param)
            await kafka.start_node(self.cluster, node)
            self.note("node.ready", node=node)
            back = time.time()
            deadline = time.monotonic() + 60
            topics = [self.topic, f"{self.topic}.dlq", "__consumer_offsets"]
            while time.monotonic() < deadline:  # the next kill must not take the ISR below min.insync
                with contextlib.suppress(Exception):
                    if await kafka.isr_complete(admin, topics, self.cluster.nodes):
                        break
                await asyncio.sleep(1)
            self.note("node.in_sync", node=node)
        finally:
            await admin.close()
        detail = {"node": node, "down_s": round(back - at, 2), "in_sync_s": round(time.time() - at, 2)}
        # the cluster stays available: recovery counts from the kill
        return FaultRecord(fault.kind, at, at, self.profile.bounds.broker_recovery_s, pre, detail)

    async def await_recovery(self, record: FaultRecord, margin_s: float = 5.0) -> None:
        """Wait until a commit moved past the baseline after healing, or nothing is left; bounded."""
        base = record.baseline
        limit = record.healed_at + (record.bound_s or 30.0) + margin_s
        while time.time() < limit:
            last = self.sampler.last()
            if last is not None and last.t > record.healed_at:
                moved = base is not None and any(
                    last.committed.get(p, 0) > o for p, o in base.committed.items()
                )
                if moved or (base is not None and not base.committed and last.committed) or last.lag == 0:
                    return
            await asyncio.sleep(0.2)

    # ------------------------------------------------------------------ group chaos

    def _running(self, slot: int) -> bool:
        inc = self.members.current(slot)
        return inc is not None and not inc.signals

    async def toggle(self, fault: Fault) -> None:
        slot = fault.slot
        self.note("toggle", slot=slot, signal=fault.signal)
        inc = self.members.current(slot)
        if inc is not None and inc.signals:
            self.note("toggle.skipped", member=inc.name, why="still stopping")
            return
        live = [s for s in range(self.profile.members) if self._running(s)]
        if inc is None:
            self.desired.add(slot)
            self.start_member(slot)
            return
        if live == [slot]:  # never leave the group empty: start another member instead
            stopped = [s for s in range(self.profile.members) if self.members.current(s) is None]
            if not stopped:
                self.note("toggle.skipped", member=inc.name, why="last running member")
                return
            other = self.rng.choice(stopped)
            self.desired.add(other)
            self.start_member(other)
            return
        self.desired.discard(slot)
        if fault.signal == "SIGKILL":
            inc.signal(signal.SIGKILL)
            self.note("member.sigkill", member=inc.name)
            await inc.wait(10)
        else:
            task = asyncio.create_task(self.terminate(slot))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def restore(self) -> None:
        """Every slot running again (end of the plan)."""
        await asyncio.gather(*self._background)
        for slot in range(self.profile.members):
            self.desired.add(slot)
            if self.members.current(slot) is None:
                self.start_member(slot)
