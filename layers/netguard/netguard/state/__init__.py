"""Durable state in one DynamoDB table: idempotency, message references, remediation state."""

from netguard.state.dynamodb import DynamoStore
from netguard.state.errors import StateConflict, StateUnavailable
from netguard.state.models import Item
from netguard.state.store import MemoryStore, StateStore, claim_once

__all__ = [
    "DynamoStore",
    "Item",
    "MemoryStore",
    "StateConflict",
    "StateStore",
    "StateUnavailable",
    "claim_once",
]
