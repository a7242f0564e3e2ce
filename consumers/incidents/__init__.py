"""Incident engine: signals in, whole incidents out (pure core; the consumer shell wires Kafka/DB).

Import from the modules (``consumers.incidents.settings``, ...): this package imports nothing, so
the settings model every process validates does not load the role's engine (issue 17, memory)."""
