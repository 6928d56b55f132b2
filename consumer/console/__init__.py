"""``consumer console``: a web console for operators and the people who own HubSpot.

It is its own process, not a page on the consumer's port, because the two jobs need different rights:
the consumer's port (``/metrics``, ``/healthz``, ``/readyz``) stays small and read-only, and the
console holds what browsing and replaying dead letters needs (read access to the DLQ topics, write
access to the source topics), for every replica at once.

- :mod:`~consumer.console.status` reads each replica's ``/readyz`` and ``/metrics`` into values;
- :mod:`~consumer.console.history` keeps recent totals and draws them as SVG charts (pure);
- :mod:`~consumer.console.guard` decides who may do what: authentication, CSRF, response headers;
- :mod:`~consumer.console.app` is the aiohttp application (server-rendered HTML, no script);
- :mod:`~consumer.cli.console` is the ``consumer console`` command.
"""
