"""Dead letters: the record format, the writer and its Kafka producer, the reader, replay."""
