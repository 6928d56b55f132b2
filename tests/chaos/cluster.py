"""Local Apache Kafka for chaos runs: ``deploy/local/kafka.py`` plus a SASL/PLAIN listener, node faults.

Every node gets a second listener, ``SASL_PLAINTEXT`` with the PLAIN mechanism and one user whose
password is the run's canary: the consumers connect through it (so their SASL password is real and
can be looked for in their logs), the harness's own clients use the PLAINTEXT listener.

Nodes are started by short-lived helper processes (``python -m tests.chaos.cluster start`` and
``kafka.py start-node``): the JVMs are not children of the runner, so killing one never leaves a
zombie behind and ``kafka.py stop --state-dir`` stops them even after the runner crashed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SCRIPT = ROOT / "deploy" / "local" / "kafka.py"
SASL_USER = "ssc"


@cache
def kafka_module() -> ModuleType:
    """``deploy/local/kafka.py`` imported as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("ssc_local_kafka", KAFKA_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True, slots=True)
class Cluster:
    state: Path
    ports: tuple[int, ...]
    sasl_ports: tuple[int, ...]
    version: str
    start_s: float

    @property
    def nodes(self) -> int:
        return len(self.ports)

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    @property
    def sasl_bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.sasl_ports)


def _add_sasl_listener(cfg: Path, sasl_port: int, password: str) -> None:
    props = dict(line.split("=", 1) for line in cfg.read_text().splitlines() if "=" in line)
    props["listeners"] += f",SASL_PLAINTEXT://127.0.0.1:{sasl_port}"
    props["advertised.listeners"] += f",SASL_PLAINTEXT://127.0.0.1:{sasl_port}"
    props["listener.security.protocol.map"] += ",SASL_PLAINTEXT:SASL_PLAINTEXT"
    props["sasl.enabled.mechanisms"] = "PLAIN"
    props["listener.name.sasl_plaintext.sasl.enabled.mechanisms"] = "PLAIN"
    props["listener.name.sasl_plaintext.plain.sasl.jaas.config"] = (
        f'org.apache.kafka.common.security.plain.PlainLoginModule required user_{SASL_USER}="{password}";'
    )
    cfg.write_text("".join(f"{k}={v}\n" for k, v in props.items()))


def _start(state: Path, nodes: int, password: str, timeout: float) -> dict[str, Any]:
    """Like ``kafka.py start`` with the extra listener (runs in the helper process)."""
    k = kafka_module()
    k.fetch()
    k.stop(state, quiet=True)
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    ports = [k.free_port() for _ in range(nodes)]
    ctrl_ports = [k.free_port() for _ in range(nodes)]
    sasl_ports = [k.free_port() for _ in range(nodes)]
    cluster_id = k.new_cluster_id()
    started = time.monotonic()
    for node in range(1, nodes + 1):
        cfg = k.write_config(state, node, ports, ctrl_ports)
        _add_sasl_listener(cfg, sasl_ports[node - 1], password)
        k.format_storage(state, node, cfg, cluster_id)
    for node in range(1, nodes + 1):
        k.start_node(state, node)
    info: dict[str, Any] = {
        "version": k.KAFKA_VERSION,
        "bootstrap": ",".join(f"127.0.0.1:{p}" for p in ports),
        "ports": ports,
        "sasl_ports": sasl_ports,
        "nodes": nodes,
        "state": str(state),
        "cluster_id": cluster_id,
    }
    (state / "cluster.json").write_text(json.dumps(info))
    k.wait_ready(ports, nodes, timeout, state)
    info["start_s"] = round(time.monotonic() - started, 2)
    return info


def start_cluster(state: Path, nodes: int, password: str, timeout: float = 120.0) -> Cluster:
    """Start ``nodes`` nodes in ``state`` (blocking; the password comes through a file, not argv)."""
    state.parent.mkdir(parents=True, exist_ok=True)
    secret = state.parent / "sasl-password"
    secret.write_text(password)
    secret.chmod(0o600)
    cmd = [
        sys.executable,
        "-m",
        "tests.chaos.cluster",
        "start",
        "--state-dir",
        str(state),
        "--nodes",
        str(nodes),
        "--password-file",
        str(secret),
        "--timeout",
        str(timeout),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout + 300, cwd=ROOT)
    if out.returncode != 0:
        stop_cluster(state)
        raise RuntimeError(f"local Kafka did not start: {(out.stderr or out.stdout).strip()[-2000:]}")
    info = json.loads(out.stdout.strip().splitlines()[-1])
    return Cluster(
        state, tuple(info["ports"]), tuple(info["sasl_ports"]), str(info["version"]), float(info["start_s"])
    )


def stop_cluster(state: Path) -> None:
    subprocess.run(
        [sys.executable, str(KAFKA_SCRIPT), "stop", "--state-dir", str(state)],
        capture_output=True,
        check=False,
        timeout=120,
    )


def node_pid(cluster: Cluster, node: int) -> int | None:
    pid: int | None = kafka_module()._pid(cluster.state, node)
    return pid


async def signal_node(cluster: Cluster, node: int, sig: signal.Signals) -> bool:
    pid = node_pid(cluster, node)
    if pid is None:
        return False
    os.kill(pid, sig)
    return True


async def wait_node_down(cluster: Cluster, node: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if node_pid(cluster, node) is None:
            return True
        await asyncio.sleep(0.1)
    return False


async def start_node(cluster: Cluster, node: int, timeout_s: float = 90.0) -> None:
    """Start ``node`` again on its data directory and wait until it answers metadata."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(KAFKA_SCRIPT),
        "start-node",
        str(node),
        "--state-dir",
        str(cluster.state),
        "--timeout",
        str(timeout_s),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), timeout_s + 30)
    if proc.returncode != 0:
        raise RuntimeError(f"node {node} did not start again: {err.decode().strip()[-500:]}")


async def leader_of(admin: AIOKafkaAdminClient, topic: str, partition: int) -> int:
    for t in await admin.describe_topics([topic]):
        for p in t["partitions"]:
            if p["partition"] == partition:
                return int(p["leader"])
    raise LookupError(f"no leader for {topic}-{partition}")


async def isr_complete(admin: AIOKafkaAdminClient, topics: list[str], replicas: int) -> bool:
    """True when every partition of ``topics`` has ``replicas`` in-sync replicas."""
    for t in await admin.describe_topics(topics):
        for p in t["partitions"]:
            if len(p["isr"]) < replicas:
                return False
    return True


async def coordinator_of(admin: AIOKafkaAdminClient, group: str) -> int:
    return int(await admin.find_coordinator(group))


async def replication_settings(admin: AIOKafkaAdminClient, topic: str) -> dict[str, Any]:
    """Replication factor and ``min.insync.replicas`` of ``topic`` as the cluster reports them."""
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType  # noqa: PLC0415 - failover only

    described = await admin.describe_topics([topic])
    rf = min(len(p["replicas"]) for p in described[0]["partitions"])
    configs = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    min_isr = None
    for response in configs:
        for resource in response.resources:
            for entry in resource[4]:
                if entry[0] == "min.insync.replicas":
                    min_isr = entry[1]
    return {"replication_factor": rf, "min_insync_replicas": min_isr}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="start local Kafka with a SASL/PLAIN listener (chaos runs)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("start")
    st.add_argument("--state-dir", type=Path, required=True)
    st.add_argument("--nodes", type=int, choices=(1, 3), default=1)
    st.add_argument("--password-file", type=Path, required=True)
    st.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args(argv)
    try:
        info = _start(
            args.state_dir.resolve(), args.nodes, args.password_file.read_text().strip(), args.timeout
        )
    except SystemExit as exc:  # kafka.py reports a failed start with sys.exit(message)
        print(exc.code, file=sys.stderr)
        return 1
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
