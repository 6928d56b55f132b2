"""single-send-consumer: Kafka domain events -> HubSpot transactional email, commit-after-confirm.

The package reads in the order data flows:

    records   -> decode   -> route     -> hubspot (client, auth, limiter)  -> outcome
    (Kafka      (guards,     (events ->    (one aiohttp session, retries)     (one place that
     values)     CloudEvents) requests)                                       decides a class)
                                                      offsets <- pipeline <- worker <- service

Pure core: ``records``, ``decode``, ``route``, ``outcome``, ``offsets``, ``breaker``.
Adapters: ``kafka``, ``hubspot``, ``deadletter``, ``observability``.
Orchestration: ``pipeline``, ``worker``, ``service``; the CLI lives in ``cli``.
Seams: ``ports`` (the interfaces the orchestration calls; adapters implement them, tests fake them).
"""

__version__ = "0.1.0"
