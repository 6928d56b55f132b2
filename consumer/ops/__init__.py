"""Operator tools behind ``consumer publish``, ``consumer dlq inspect|replay`` and ``consumer check``.

Read top to bottom in the order data flows:

* :mod:`consumer.ops.events`      JSON / NDJSON input -> validated, encoded Kafka records (pure)
* :mod:`consumer.ops.publish`     records -> a topic through the idempotent, acks=all producer; also
                                  ``Publisher``, the same path for services publishing built events
* :mod:`consumer.ops.deadletters` DLQ records -> :class:`DeadLetter` values, selections, summaries (pure)
* :mod:`consumer.ops.reader`      a bounded, group-less read of a topic (to the end offsets seen at start)
* :mod:`consumer.ops.dlq`         ``dlq inspect``: read, select, render
* :mod:`consumer.ops.replay`      ``dlq replay``: plan (optionally re-validate), pace, republish
* :mod:`consumer.ops.check`       ``check``: settings, routing, Kafka, topics, group, DLQ, HubSpot
* :mod:`consumer.ops.connect`     Kafka clients with a deadline; Kafka failures -> one-line errors
* :mod:`consumer.ops.render`      human output (rich tables, progress) or JSON
* :mod:`consumer.ops.commands`    the Typer commands (thin: parse, build settings, call, render)

Nothing here joins the service's consumer group or commits an offset.
"""
