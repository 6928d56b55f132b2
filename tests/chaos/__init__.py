"""Reliability suite: chaos soak, group chaos and broker failover against the real consumer processes.

Parts, in the order a run uses them (``python -m tests.chaos run --profile ci|soak|group|failover``):

- :mod:`tests.chaos.profiles` — the four runs (sizes, fault counts, consumer settings) and their bounds;
- :mod:`tests.chaos.generator` — deterministic events from a seed and the manifest of what each one is
  (valid, terminal recipient, poison: malformed or rejected by the simulator with 400), with canaries;
- :mod:`tests.chaos.plan` — the fault timeline drawn from the seed;
- :mod:`tests.chaos.cluster` — local Apache Kafka (1 or 3 nodes, plus a SASL/PLAIN listener) and node faults;
- :mod:`tests.chaos.simproc` — the HubSpot simulator as a process, with a per-request log beside its ledger;
- :mod:`tests.chaos.procs` — consumer processes (spawn, signal, reap, captured logs);
- :mod:`tests.chaos.observe` — commit sampler (every second and before every kill), metrics and RSS;
- :mod:`tests.chaos.traffic` — publishes the events at a steady rate and records where each landed;
- :mod:`tests.chaos.driver` — executes the plan (kills, broker restarts, simulator windows, toggles);
- :mod:`tests.chaos.evidence` — reads back ledger, request log, DLQ topic and logs after the run;
- :mod:`tests.chaos.checker` and :mod:`tests.chaos.checker_runtime` — evaluate the invariants I1-I13
  (``docs/results/reliability.md``; pure);
- :mod:`tests.chaos.report` — JSON report, one-screen summary, failing seeds kept for ``replay``;
- :mod:`tests.chaos.stage` — the members' environment, the simulator's configuration, topics, artifacts;
- :mod:`tests.chaos.runner` — wires it all; every child process is stopped in ``finally``
  (``python -m tests.chaos cleanup DIR`` after a runner that was killed hard).

:mod:`tests.chaos.scenario` builds a clean run by hand for the checker's unit tests.
"""
