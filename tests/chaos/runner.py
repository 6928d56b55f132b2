"""One chaos run: broker, simulator, members, traffic, the fault plan, then evidence, checks, report.

Phase A (the chaos) is bounded by the profile's timeout; whatever happens there, phase B stops every
member cleanly, reads the evidence back, evaluates the invariants and writes the report. ``finally``
kills what is left and stops the broker, so no process outlives the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tests.chaos import report as reporting
from tests.chaos.checker_runtime import evaluate
from tests.chaos.cluster import Cluster, start_cluster, stop_cluster
from tests.chaos.driver import Driver
from tests.chaos.evidence import Evidence, read_dlq, read_jsonl, read_requests, scan_logs
from tests.chaos.generator import Canaries, Kind, generate
from tests.chaos.observe import CommitSampler, MemberSampler
from tests.chaos.plan import FaultKind, plan
from tests.chaos.procs import Members, free_port, remember
from tests.chaos.profiles import Profile
from tests.chaos.simproc import SimClient
from tests.chaos.stage import (
    DLQ_PARTITIONS,
    clean,
    cluster_facts,
    consumer_env,
    create_topics,
    save_artifacts,
    sim_config,
)
from tests.chaos.traffic import Published, publish


async def wait_drained(sampler: CommitSampler, published: Published, timeout_s: float) -> float | None:
    """Seconds until every partition is committed to its end (twice in a row), ``None`` on timeout."""
    started = time.monotonic()
    total = sum(len(p) for p in published.placed.values())
    quiet = 0
    while time.monotonic() - started < timeout_s:
        s = await sampler.sample("drain")
        if s is not None and s.lag == 0 and sum(s.ends.values()) >= total:
            quiet += 1
            if quiet >= 2:
                return time.monotonic() - started
        else:
            quiet = 0
        await asyncio.sleep(1.0)
    return None


async def final_restart(driver: Driver, sim: SimClient, timeout_s: float = 60.0) -> int | None:
    """After the clean stop of every member: a new member run ``--until-drained`` must send nothing."""
    before = (await sim.stats())["requests"]
    driver.start_member(0, "--until-drained")
    inc = driver.members.current(0)
    if inc is None or not await inc.wait(timeout_s):
        await driver.members.stop_all(30)
        return None
    return int((await sim.stats())["requests"]) - int(before)


async def run(
    profile: Profile,
    seed: int,
    out: Path,
    base: Path = reporting.DEFAULT_BASE,
    overrides: dict[str, str] | None = None,
) -> dict[str, Any]:
    clean(out)
    started = time.time()
    canaries, notes = Canaries.for_seed(seed), []
    events = generate(seed, profile.events, poison=profile.poison, terminal=profile.terminal)
    faults = plan(profile, seed)
    topic, group = f"chaos.{profile.name}.{seed}", f"chaos-{profile.name}-{seed}"
    cluster: Cluster | None = None
    sim: SimClient | None = None
    members: Members | None = None
    sampler: CommitSampler | None = None
    halt = asyncio.Event()
    tasks: list[asyncio.Task[Any]] = []  # background loops and the publisher: stopped first in finally
    state = out / "kafka"
    try:
        cluster = await asyncio.to_thread(start_cluster, state, profile.nodes, canaries.sasl_password)
        await create_topics(cluster, topic, profile.partitions)
        facts = await cluster_facts(cluster, topic)
        sim = SimClient(
            free_port(),
            sim_config(profile, seed, canaries, out / "ledger.jsonl"),
            out / "requests.jsonl",
            out / "simulator.log",
        )
        remember(out, sim.proc.pid, "tests.chaos.simproc")
        await sim.open()
        members = Members(
            consumer_env(profile, cluster, canaries, sim_url=sim.url, topic=topic, group=group), out
        )
        sampler = CommitSampler(cluster.bootstrap, group, topic, profile.partitions)
        watcher = MemberSampler(members, canaries.needles())
        driver = Driver(
            profile,
            seed,
            cluster=cluster,
            sim=sim,
            members=members,
            sampler=sampler,
            topic=topic,
            group=group,
        )
        background = [
            asyncio.create_task(c) for c in (sampler.run(halt), watcher.run(halt), driver.supervise(halt))
        ]
        tasks += background
        for slot in range(profile.members):
            driver.start_member(slot)
        published, t0 = Published(), time.time()
        drained_s: float | None = None
        try:
            async with asyncio.timeout(profile.timeout_s - (time.time() - started) - 45):
                publisher = asyncio.create_task(
                    publish(cluster.bootstrap, topic, events, profile.produce_s, published)
                )
                tasks.append(publisher)
                await driver.execute(faults, t0)
                await driver.restore()
                await publisher
                driver.note("publish.done", republished=published.republished)
                drained_s = await wait_drained(sampler, published, profile.drain_timeout_s)
                driver.note("drained" if drained_s is not None else "drain.timeout")
        except TimeoutError:
            notes.append("the run hit its overall timeout before draining (see the timeline)")
            driver.note("harness.timeout")
        if drained_s is None:
            notes.append(f"not drained within {profile.drain_timeout_s:.0f} s")
        driver.desired.clear()
        await asyncio.gather(*(driver.terminate(s) for s in range(profile.members)))
        final_resent = await final_restart(driver, sim) if drained_s is not None else None
        halt.set()
        await asyncio.gather(*background)
        await sampler.close()
        end = time.time()
        sends, stats = await sim.sends(), await sim.stats()
        dlq = await read_dlq(cluster.bootstrap, f"{topic}.dlq", DLQ_PARTITIONS)
        await sim.close()
        evidence = Evidence(
            profile=profile,
            seed=seed,
            t0=t0,
            end=end,
            events=events,
            placed=published.placed,
            sent_at=published.sent_at,
            ledger=read_jsonl(out / "ledger.jsonl"),
            requests=read_requests(out / "requests.jsonl"),
            sends=sends,
            stats=stats,
            dlq=dlq,
            samples=sampler.samples,
            faults=driver.records,
            timeline=driver.timeline,
            stops=driver.stops,
            incarnations=[i.to_json() for i in members.incarnations],
            rss=watcher.rss,
            in_flight=watcher.in_flight,
            metric_canary_hits=watcher.canary_hits,
            logs=scan_logs(sorted(out.glob("consumer-*.log")), canaries.needles()),
            final_resent=final_resent,
        )
        try:
            save_artifacts(out, evidence)
        except (OSError, TypeError, ValueError) as exc:  # never lose a long run's verdict to a side file
            notes.append(f"artifacts not saved: {exc!r}")
        verdicts, recovery, figures = evaluate(evidence, canaries.needles())
        result: dict[str, Any] = {
            "profile": profile.name,
            "seed": seed,
            "passed": all(v.passed for v in verdicts) and not notes,
            "wall_s": round(time.time() - started, 1),
            "overrides": overrides or {},
            "versions": reporting.versions(cluster.version),
            "settings": {
                "profile": {k: v for k, v in asdict(profile).items() if k != "tuning"},
                "tuning": asdict(profile.tuning),
                "bounds": asdict(profile.bounds),
            },
            "cluster": facts,
            "counts": {
                "events": len(events),
                "poison": sum(e.kind.poison for e in events),
                "poison_400": sum(e.kind is Kind.POISON_400 for e in events),
                "terminal": sum(e.kind is Kind.TERMINAL for e in events),
                "requests": len(evidence.requests),
                "accepted": stats.get("accepted"),
                "shadow_duplicates": stats.get("duplicates_prevented"),
                # requests for a send HubSpot had already accepted before a fault (I7's count)
                "repeated_after_faults": next(
                    (v.detail.get("redelivered") for v in verdicts if v.id == "I7"), None
                ),
                "hangs": stats.get("hangs"),
                "dlq_records": len(dlq),
                "republished": published.republished,
                "commit_samples": len(sampler.samples),
                "sample_gaps": len(sampler.gaps),
                "incarnations": len(members.incarnations),
                "metric_scrapes": watcher.scrapes,
                "log_lines": evidence.logs.lines,
                "toggles": sum(1 for t in driver.timeline if t["event"] == "toggle"),
                "drain_s": None if drained_s is None else round(drained_s, 1),
            },
            "invariants": reporting.invariants_json(verdicts),
            "recovery": recovery,
            "figures": figures,
            "simulator": stats,
            "plan": [f.to_json() for f in faults if f.kind is not FaultKind.TOGGLE],
            "timeline": [{**t, "t": round(t["t"] - t0, 2)} for t in driver.timeline],
            "members": evidence.incarnations,
            "notes": notes,
            "artifacts": str(out),
        }
        kept = reporting.write(result, out, base)
        if kept is not None:
            result["failing_seed_file"] = str(kept)
        return result
    finally:
        halt.set()  # the supervisor must not restart the members killed below
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if sampler is not None:
            await sampler.close()
        if members is not None:
            members.kill_all()
        if sim is not None:
            with contextlib.suppress(Exception):
                await sim.close()
        if cluster is not None or state.exists():
            await asyncio.to_thread(stop_cluster, state)


async def _cancellable(profile: Profile, seed: int, out: Path, overrides: dict[str, str]) -> dict[str, Any]:
    """``run`` with SIGTERM/SIGINT turned into cancellation, so its ``finally`` stops every child."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    return await run(profile, seed, out, overrides=overrides)


def main_run(profile: Profile, seed: int, out: Path, overrides: dict[str, str] | None = None) -> int:
    result = asyncio.run(_cancellable(profile, seed, out, overrides or {}))
    reporting.print_summary(result)
    if not result["passed"]:
        print(f"replay: {sys.executable} -m tests.chaos replay {result.get('failing_seed_file')}")
    return 0 if result["passed"] else 1
