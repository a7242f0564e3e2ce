"""Incident engine: signals in, whole incidents out (pure core; the consumer shell wires Kafka/DB)."""

from consumers.incidents.engine import IncidentEngine, UnknownIncident
from consumers.incidents.ledger import IncidentRecord, Ledger, Mark
from consumers.incidents.settings import IncidentSettings

__all__ = ["IncidentEngine", "IncidentRecord", "IncidentSettings", "Ledger", "Mark", "UnknownIncident"]
