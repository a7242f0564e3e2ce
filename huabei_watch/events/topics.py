"""Topic names, all under one prefix."""

from __future__ import annotations

from dataclasses import dataclass

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names derived from ``kafka.topic_prefix`` (default ``huabei``)."""

    prefix: str = "huabei"

    @property
    def signals(self) -> str:
        return f"{self.prefix}.signals"

    @property
    def incidents(self) -> str:
        return f"{self.prefix}.incidents"

    @property
    def cashier_changes(self) -> str:
        return f"{self.prefix}.cashier.changes"

    @property
    def notifications(self) -> str:
        return f"{self.prefix}.notifications"

    @property
    def payment_results(self) -> str:
        return f"{self.prefix}.payments.results"

    def for_logical(self, logical: str) -> str:
        """Map a model's ``TOPIC`` (e.g. ``"cashier_changes"``) to the real topic name."""
        value = getattr(self, logical, None)
        if not isinstance(value, str):
            raise KeyError(f"unknown logical topic {logical!r}")
        return value

    def all(self) -> tuple[str, ...]:
        return (self.signals, self.incidents, self.cashier_changes, self.notifications, self.payment_results)

    @staticmethod
    def dlq(topic: str) -> str:
        return topic + DLQ_SUFFIX
