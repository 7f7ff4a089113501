"""Durable state in one DynamoDB table: idempotency, message references, remediation state."""

from netguard.state.dynamodb import DynamoStore
from netguard.state.errors import OnceUnavailable, PayloadMismatch, StateConflict, StateUnavailable
from netguard.state.idempotency import Once, OnceOutcome, StatePersistenceLayer
from netguard.state.models import Item
from netguard.state.owned import OwnedStore, Owner
from netguard.state.store import MemoryStore, StateReader, StateStore

__all__ = [
    "DynamoStore",
    "Item",
    "MemoryStore",
    "Once",
    "OnceOutcome",
    "OnceUnavailable",
    "OwnedStore",
    "Owner",
    "PayloadMismatch",
    "StateConflict",
    "StatePersistenceLayer",
    "StateReader",
    "StateStore",
    "StateUnavailable",
]
