"""Kafka, the only bus: producer and consumer runner (:mod:`.kafka`), the embedded broker
(:mod:`.broker`), the one thing a source needs (:mod:`.publish`) and ``huabei-watch tail``."""
