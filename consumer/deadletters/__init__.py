"""Dead letters: the records the service could not deliver, written, read back, shown and replayed.

Read in the order a dead letter travels:

* :mod:`consumer.deadletters.format`    the record format shared by writer and reader: context headers,
                                        the fit to the topic's limit, :class:`DeadLetter` read back (pure)
* :mod:`consumer.deadletters.writer`    the service's writer: retries, pauses the pipeline when no retry
                                        can succeed, done only once acknowledged
* :mod:`consumer.deadletters.producer`  its Kafka edge: the idempotent producer, each topic's size limit
* :mod:`consumer.deadletters.selection` the operator's filters and the counts of what was read (pure)
* :mod:`consumer.deadletters.reader`    a DLQ topic read back without a consumer group
* :mod:`consumer.deadletters.display`   masked JSON, table rows, one letter in full, the audit line
* :mod:`consumer.deadletters.replay`    plan (optionally re-validate), pace, republish to the source

The service uses ``format``, ``writer`` and ``producer``; the rest serves ``consumer dlq`` and the
console, and never joins the service's consumer group or commits an offset.
"""
