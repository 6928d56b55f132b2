"""single-send-consumer: Kafka domain events -> HubSpot transactional email, commit-after-confirm.

The package reads in the order data flows:

    records   -> decode   -> route     -> hubspot (client, auth, limiter)  -> outcome
    (Kafka      (guards,     (events ->    (one aiohttp session, retries)     (one place that
     values)     CloudEvents) requests)                                       decides a class)
                                                      offsets <- pipeline <- worker <- service

The layers (entry points, orchestration, adapters and loaders, cross-cutting edges, pure core) and
which module sits in which: docs/development/index.md#layers, checked by ``lint-imports``.
"""

__version__ = "0.1.0"
