"""Operator tools behind ``consumer publish`` and ``consumer check`` (the commands: :mod:`consumer.cli`).

Read top to bottom in the order data flows:

* :mod:`consumer.ops.publish_input` JSON / NDJSON input -> validated, encoded Kafka records (pure)
* :mod:`consumer.ops.publish`       records -> a topic through the idempotent, acks=all producer; also
                                    ``Publisher``, the same path for services publishing built events
* :mod:`consumer.ops.bounded_read`  a bounded, group-less read of a topic (to the end offsets seen at start)
* :mod:`consumer.ops.check`         ``check``: settings, routing, Kafka, topics, group, DLQ, HubSpot
* :mod:`consumer.ops.connect`       Kafka clients with a deadline; Kafka failures -> one-line errors
* :mod:`consumer.ops.output`        human output (rich tables, progress) or JSON

Dead letters read back, selected, shown and replayed: :mod:`consumer.deadletters`. Nothing here joins
the service's consumer group or commits an offset.
"""
