"""The event contract: every event that crosses Kafka, its data model, topic, key and id.

Consumers import from here and nowhere else for anything on the wire.
"""

from huabei_watch.events.base import REGISTRY, SPEC_SOURCE, Event, EventData, event_id, register
from huabei_watch.events.cashier import CASHIER_CHANGED, CashierChange
from huabei_watch.events.codec import Record, decode, encode
from huabei_watch.events.common import (
    HUABEI_CHANNELS,
    PCREDIT,
    PCREDIT_INSTALLMENT,
    Cause,
    Scope,
    ScopeKind,
    Window,
)
from huabei_watch.events.incidents import (
    INCIDENT_CANCELLED,
    INCIDENT_OPENED,
    INCIDENT_RESOLVED,
    INCIDENT_UPDATED,
    Incident,
    IncidentKind,
    Phase,
)
from huabei_watch.events.notifications import (
    NOTIFICATION_FAILED,
    NOTIFICATION_SENT,
    NOTIFICATION_SENT_BATCH,
    NotificationResult,
    NotificationResultBatch,
)
from huabei_watch.events.payments import PAYMENT_RESULTS, PaymentResult, PaymentResultBatch
from huabei_watch.events.signals import (
    ANNOUNCEMENT_PUBLISHED,
    HEALTH_DOWN,
    HEALTH_UP,
    MAINTENANCE_CANCELLED,
    MAINTENANCE_SCHEDULED,
    MAINTENANCE_UPDATED,
    MERCHANT_FINDING,
    PAYMENTS_ANOMALY,
    SOURCE_DEGRADED,
    SOURCE_RECOVERED,
    AnnouncementPublished,
    HealthChange,
    MaintenanceSignal,
    MerchantFinding,
    PaymentAnomaly,
    ProbeObservation,
    SourceStatus,
)
from huabei_watch.events.topics import Topics

__all__ = [
    "ANNOUNCEMENT_PUBLISHED", "CASHIER_CHANGED", "HEALTH_DOWN", "HEALTH_UP", "HUABEI_CHANNELS",
    "INCIDENT_CANCELLED", "INCIDENT_OPENED", "INCIDENT_RESOLVED", "INCIDENT_UPDATED",
    "MAINTENANCE_CANCELLED", "MAINTENANCE_SCHEDULED", "MAINTENANCE_UPDATED", "MERCHANT_FINDING",
    "NOTIFICATION_FAILED", "NOTIFICATION_SENT", "NOTIFICATION_SENT_BATCH", "PAYMENTS_ANOMALY", "PAYMENT_RESULTS", "PCREDIT",
    "PCREDIT_INSTALLMENT", "REGISTRY", "SOURCE_DEGRADED", "SOURCE_RECOVERED", "SPEC_SOURCE",
    "AnnouncementPublished", "CashierChange", "Cause", "Event", "EventData", "HealthChange", "Incident",
    "IncidentKind", "MaintenanceSignal", "MerchantFinding", "NotificationResult", "NotificationResultBatch", "PaymentAnomaly",
    "PaymentResult", "PaymentResultBatch", "Phase", "ProbeObservation", "Record", "Scope", "ScopeKind",
    "SourceStatus", "Topics", "Window", "decode", "encode", "event_id", "register",
]
