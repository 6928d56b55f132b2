#!/usr/bin/env bash
# Measure the HubSpot simulator's sustained requests/s on loopback with wrk (a standard HTTP load tool).
# Not part of the test suite. Usage: bench/simulator_load.sh [DURATION_S] [CONNECTIONS] [THREADS]
# Needs `wrk` (Debian: apt-get install -y wrk). Every request is a new email (unique sendId), so the
# full send path (auth, rate-limit bookkeeping, validation, template check, idempotency, ledger in
# memory) is measured. Bounded: wrk stops after DURATION_S; the simulator is stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${VENV:-$ROOT/.venv}/bin/python"
DURATION="${1:-10}"
CONNECTIONS="${2:-64}"
THREADS="${3:-1}"
PORT="${PORT:-18025}"
command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 2; }

"$PY" -m consumer simulator --host 127.0.0.1 --port "$PORT" --token bench-token \
  --template 1001:firstname --rate-limit "1000000000/10s" --seed 1 2>/tmp/simulator_load.log &
SIM=$!
trap 'kill "$SIM" 2>/dev/null; wait "$SIM" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/_simulator/health" >/dev/null 2>&1 && break
  sleep 0.1
done
# warm-up, then the measured run
TOKEN=bench-token wrk -t "$THREADS" -c "$CONNECTIONS" -d 2s -s "$ROOT/bench/simulator_load.lua" \
  "http://127.0.0.1:$PORT" >/dev/null
TOKEN=bench-token wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency \
  -s "$ROOT/bench/simulator_load.lua" "http://127.0.0.1:$PORT" | tail -n 1
curl -fs "http://127.0.0.1:$PORT/_simulator/stats" | "$PY" -c \
  'import json,sys; s=json.load(sys.stdin); print("simulator: accepted=%d requests=%d by_status=%s" % (s["accepted"], s["requests"], s["by_status"]))'
