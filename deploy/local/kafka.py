#!/usr/bin/env python3
"""A local Apache Kafka (KRaft) for development, tests and demos — no Docker, no broker package.

The jars are the official ``org.apache.kafka:kafka_2.13`` artefacts from Maven Central, resolved by
Maven from ``pom.xml`` beside this file into a cache outside the repository (downloaded once).

    kafka.py fetch                      resolve the jars into the cache (idempotent)
    kafka.py start [--port 9092]        format a fresh data directory, start, wait for metadata
    kafka.py start --nodes 3            three combined broker+controller nodes (RF 3, min ISR 2)
    kafka.py stop                       stop every node of the state directory (works after a crash)
    kafka.py status                     print the nodes' pids and whether they answer metadata
    kafka.py kill-node N [--signal S]   signal one node (chaos tests); start-node N starts it again

Only the standard library is used, so the script runs before any virtual environment exists.
Every node binds 127.0.0.1 only. Logs go to ``<state>/node-N/server.log``, never the terminal.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
KAFKA_VERSION = "4.4.0"
DEFAULT_STATE = Path(os.environ.get("SSC_KAFKA_STATE_DIR", "/tmp/single-send-consumer-kafka"))
HEAP = os.environ.get("SSC_KAFKA_HEAP", "512m")


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "single-send-consumer" / f"kafka-{KAFKA_VERSION}"


def libs_dir() -> Path:
    return cache_dir() / "libs"


def fetch() -> Path:
    """Resolve the broker's jars with Maven, once; later calls return the cached directory."""
    libs = libs_dir()
    marker = libs / ".complete"
    if marker.exists():
        return libs
    if shutil.which("mvn") is None:
        sys.exit("kafka.py: Maven (mvn) is required to fetch the Apache Kafka jars")
    tmp = libs.with_name("libs.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    log = cache_dir() / "maven.log"
    started = time.monotonic()
    with log.open("w") as out:
        rc = subprocess.call(
            [
                "mvn", "-B", "-q", "-f", str(HERE / "pom.xml"),
                f"-Dkafka.version={KAFKA_VERSION}",
                "dependency:copy-dependencies", "-DincludeScope=runtime",
                f"-DoutputDirectory={tmp}",
            ],
            stdout=out, stderr=subprocess.STDOUT,
        )
    if rc != 0:
        sys.exit(f"kafka.py: Maven could not resolve Apache Kafka {KAFKA_VERSION}; see {log}")
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    marker.write_text(KAFKA_VERSION)
    print(f"fetched Apache Kafka {KAFKA_VERSION} jars in {time.monotonic() - started:.1f}s -> {libs}")
    return libs


# --------------------------------------------------------------------------- configuration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node_dir(state: Path, node: int) -> Path:
    return state / f"node-{node}"


def write_config(state: Path, node: int, ports: list[int], ctrl_ports: list[int]) -> Path:
    nodes = len(ports)
    rf = min(3, nodes)
    nd = node_dir(state, node)
    (nd / "data").mkdir(parents=True, exist_ok=True)
    voters = ",".join(f"{i + 1}@127.0.0.1:{p}" for i, p in enumerate(ctrl_ports))
    port, ctrl = ports[node - 1], ctrl_ports[node - 1]
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctrl}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(nd / "data"),
        "num.partitions": "1",
        "default.replication.factor": str(rf),
        "min.insync.replicas": str(2 if nodes >= 3 else 1),
        "offsets.topic.replication.factor": str(rf),
        "offsets.topic.num.partitions": "6",
        "transaction.state.log.replication.factor": str(rf),
        "transaction.state.log.min.isr": str(2 if nodes >= 3 else 1),
        "share.coordinator.state.topic.replication.factor": str(rf),
        "share.coordinator.state.topic.min.isr": str(2 if nodes >= 3 else 1),
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        "log.flush.interval.messages": "9223372036854775807",
    }
    cfg = nd / "server.properties"
    cfg.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    log4j = nd / "log4j2.properties"
    log4j.write_text(
        "status = warn\n"
        "appender.file.type = File\n"
        "appender.file.name = FILE\n"
        f"appender.file.fileName = {nd / 'server.log'}\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
        "rootLogger.level = INFO\n"
        "rootLogger.appenderRef.file.ref = FILE\n"
        "logger.state.name = state.change.logger\n"
        "logger.state.level = WARN\n"
    )
    return cfg


def java_cmd(state: Path, node: int, main: list[str]) -> list[str]:
    nd = node_dir(state, node)
    return [
        os.environ.get("JAVA", "java"),
        f"-Xmx{HEAP}", f"-Xms{HEAP}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={nd / 'log4j2.properties'}",
        f"-Dssc.kafka.node={nd}",  # marks the process as ours, so `stop` never kills a reused pid
        "-cp", str(libs_dir() / "*"),
        *main,
    ]


# --------------------------------------------------------------------------- metadata probe


def _metadata_brokers(port: int, timeout: float = 2.0) -> int:
    """Send a Kafka Metadata v4 request (all topics: none) and return how many brokers answered."""
    client_id = b"ssc-probe"
    body = struct.pack(">hhih", 3, 4, 7, len(client_id)) + client_id
    body += struct.pack(">i", 0) + b"\x00"  # empty topic array, allow_auto_topic_creation=false
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        head = _recv(s, 4)
        payload = _recv(s, struct.unpack(">i", head)[0])
    correlation, _throttle, brokers = struct.unpack(">iii", payload[:12])
    if correlation != 7:
        raise OSError("unexpected correlation id")
    return int(brokers)


def _recv(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf


def answers_metadata(port: int, expected: int = 1) -> bool:
    try:
        return _metadata_brokers(port) >= expected
    except OSError:
        return False


# --------------------------------------------------------------------------- process control


def _state_file(state: Path) -> Path:
    return state / "cluster.json"


def load_cluster(state: Path) -> dict[str, object]:
    f = _state_file(state)
    return json.loads(f.read_text()) if f.exists() else {}


def _is_ours(pid: int, state: Path, node: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return f"-Dssc.kafka.node={node_dir(state, node)}".encode() in cmdline


def _pid(state: Path, node: int) -> int | None:
    f = node_dir(state, node) / "pid"
    if not f.exists():
        return None
    pid = int(f.read_text().strip())
    return pid if _is_ours(pid, state, node) else None


def start_node(state: Path, node: int) -> int:
    nd = node_dir(state, node)
    if (pid := _pid(state, node)) is not None:
        return pid
    out = (nd / "stdout.log").open("ab")
    proc = subprocess.Popen(
        java_cmd(state, node, ["kafka.Kafka", str(nd / "server.properties")]),
        stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    (nd / "pid").write_text(str(proc.pid))
    return proc.pid


def wait_ready(ports: list[int], expected: int, timeout: float, state: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(answers_metadata(p, expected) for p in ports):
            return
        time.sleep(0.25)
    logs = ", ".join(str(node_dir(state, i + 1) / "server.log") for i in range(len(ports)))
    sys.exit(f"kafka.py: broker did not answer metadata within {timeout:.0f}s; see {logs}")


def new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def format_storage(state: Path, node: int, cfg: Path, cluster_id: str) -> None:
    """Format a node's KRaft storage (``--cluster-id=ID``: an id may start with '-')."""
    fmt = java_cmd(state, node, ["kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(cfg)])
    with (node_dir(state, node) / "format.log").open("w") as out:
        if subprocess.call(fmt, stdout=out, stderr=subprocess.STDOUT) != 0:
            raise RuntimeError(f"formatting storage failed; see {node_dir(state, node) / 'format.log'}")


def start(state: Path, port: int, nodes: int, timeout: float) -> dict[str, object]:
    fetch()
    stop(state, quiet=True)
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    ports = [port + i for i in range(nodes)] if port else [free_port() for _ in range(nodes)]
    ctrl_ports = [free_port() for _ in range(nodes)]
    cluster_id = new_cluster_id()
    started = time.monotonic()
    for node in range(1, nodes + 1):
        try:
            format_storage(state, node, write_config(state, node, ports, ctrl_ports), cluster_id)
        except RuntimeError as exc:
            sys.exit(f"kafka.py: {exc}")
    for node in range(1, nodes + 1):
        start_node(state, node)
    bootstrap = ",".join(f"127.0.0.1:{p}" for p in ports)
    info: dict[str, object] = {
        "version": KAFKA_VERSION, "bootstrap": bootstrap, "ports": ports, "nodes": nodes,
        "state": str(state), "cluster_id": cluster_id,
    }
    _state_file(state).write_text(json.dumps(info))
    wait_ready(ports, nodes, timeout, state)
    info["start_seconds"] = round(time.monotonic() - started, 2)
    return info


def signal_node(state: Path, node: int, sig: signal.Signals) -> bool:
    pid = _pid(state, node)
    if pid is None:
        return False
    os.kill(pid, sig)
    return True


def stop_node(state: Path, node: int, grace: float = 20.0) -> None:
    pid = _pid(state, node)
    if pid is None:
        return
    os.kill(pid, signal.SIGCONT)  # a SIGSTOPped node must be able to handle SIGTERM
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _is_ours(pid, state, node):
        time.sleep(0.1)
    if _is_ours(pid, state, node):
        os.kill(pid, signal.SIGKILL)
        while _is_ours(pid, state, node):
            time.sleep(0.05)


def stop(state: Path, quiet: bool = False) -> None:
    """Stop every node recorded in the state directory, whichever process started them."""
    if not state.exists():
        return
    for nd in sorted(state.glob("node-*")):
        node = int(nd.name.split("-")[1])
        stop_node(state, node, grace=5.0 if len(list(state.glob("node-*"))) > 1 else 20.0)
    if not quiet:
        print(f"stopped local Kafka in {state}")


def status(state: Path) -> int:
    info = load_cluster(state)
    if not info:
        print(f"no local Kafka in {state}")
        return 1
    ports = [int(p) for p in info["ports"]]  # type: ignore[attr-defined]
    up = 0
    for i, port in enumerate(ports, start=1):
        pid = _pid(state, i)
        ok = pid is not None and answers_metadata(port)
        up += ok
        print(f"node {i}: pid={pid} port={port} {'ready' if ok else 'down'}")
    print(f"bootstrap={info['bootstrap']}")
    return 0 if up == len(ports) else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--state-dir", type=Path, default=DEFAULT_STATE, help="where data, logs and pids live"
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch", help="resolve the Apache Kafka jars from Maven Central into the cache")
    st = sub.add_parser(
        "start", parents=[common], help="format a fresh data directory and start the broker(s)"
    )
    st.add_argument("--port", type=int, default=int(os.environ.get("SSC_KAFKA_PORT", "9092")),
                    help="client port of node 1 (nodes 2, 3 take the next ports); 0 picks free ports")
    st.add_argument("--nodes", type=int, choices=(1, 3), default=1)
    st.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for metadata")
    st.add_argument("--json", action="store_true", help="print the cluster description as JSON")
    sub.add_parser("stop", parents=[common], help="stop every node (also after the starting script crashed)")
    sub.add_parser("status", parents=[common], help="show pids and readiness")
    for name in ("kill-node", "start-node"):
        p = sub.add_parser(name, parents=[common], help=f"{name.replace('-', ' ')} (fault injection)")
        p.add_argument("node", type=int)
        if name == "kill-node":
            p.add_argument(
                "--signal", default="SIGKILL", choices=("SIGKILL", "SIGTERM", "SIGSTOP", "SIGCONT")
            )
        else:
            p.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for metadata")
    args = ap.parse_args(argv)
    if args.cmd == "fetch":
        print(fetch())
        return 0
    state: Path = args.state_dir.resolve()
    if args.cmd == "fetch":
        print(fetch())
    elif args.cmd == "start":
        info = start(state, args.port, args.nodes, args.timeout)
        if args.json:
            print(json.dumps(info))
        else:
            print(f"Apache Kafka {info['version']} ready at {info['bootstrap']} in {info['start_seconds']}s "
                  f"(logs: {state}/node-*/server.log)")
    elif args.cmd == "stop":
        stop(state)
    elif args.cmd == "status":
        return status(state)
    elif args.cmd == "kill-node":
        if not signal_node(state, args.node, signal.Signals[args.signal]):
            print(f"node {args.node} is not running", file=sys.stderr)
            return 1
    elif args.cmd == "start-node":
        start_node(state, args.node)
        info = load_cluster(state)
        wait_ready([int(info["ports"][args.node - 1])], 1, args.timeout, state)  # type: ignore[index]
    return 0


if __name__ == "__main__":
    sys.exit(main())
