"""``consumer simulator`` as a process: it serves, accepts a send, writes the ledger, stops on SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import orjson


async def test_the_simulator_command_serves_and_stops_cleanly(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "consumer",
        "simulator",
        "--port",
        "0",
        "--token",
        "cli-token-123",
        "--template",
        "1001",
        "--ledger",
        str(ledger),
        "--seed",
        "1",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        url = match.group(1)
        body = {"emailId": 1001, "message": {"to": "cli@example.com", "sendId": "cli-1"}}
        headers = {"Authorization": "Bearer cli-token-123"}
        async with aiohttp.ClientSession() as session:
            async with session.post(
                url + "/marketing/v3/transactional/single-email/send", json=body, headers=headers
            ) as resp:
                assert resp.status == 200
                assert (await resp.json())["status"] == "PENDING"
            async with session.get(url + "/_simulator/stats") as resp:
                assert (await resp.json())["accepted"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        if proc.stderr is not None:
            proc.stderr.close()
    (line,) = ledger.read_bytes().splitlines()
    assert orjson.loads(line)["sendId"] == "cli-1"
