"""The enriched event contract between `enrich` and its consumers (notify, remediate)."""

from netguard.enriched.codec import (
    SchemaError,
    event_from_dict,
    event_from_json,
    event_to_dict,
    event_to_json,
    message_attributes,
)
from netguard.enriched.models import (
    SCHEMA,
    ActionKind,
    Diagnosis,
    DnsContext,
    EnrichedAlert,
    EnrichedEvent,
    EnrichmentError,
    EventType,
    GroupInfo,
    InstanceInfo,
    NodeInfo,
    Outcome,
    RemediationReport,
    SourceRef,
    UnparseableInfo,
)

__all__ = [
    "SCHEMA", "ActionKind", "Diagnosis", "DnsContext", "EnrichedAlert", "EnrichedEvent", "EnrichmentError",
    "EventType", "GroupInfo", "InstanceInfo", "NodeInfo", "Outcome", "RemediationReport", "SchemaError",
    "SourceRef", "UnparseableInfo", "event_from_dict", "event_from_json", "event_to_dict", "event_to_json",
    "message_attributes",
]
