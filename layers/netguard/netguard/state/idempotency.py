"""Once-only processing with Powertools' idempotency utility, stored in netguard's state table.

Powertools owns the protocol: an INPROGRESS record before the work (with its own, shorter expiry, so
a crashed invocation's retry is not locked out), COMPLETED with a TTL after it, the record deleted
when the work raises (so Lambda's retry runs it again), and payload validation (the same key with a
different payload is an error, not a duplicate). `StatePersistenceLayer` is the backend: Powertools'
four small read/write methods over the `StateStore` protocol, so the records live in the single
StateTable (`pk` = the use's partition, `sk` = Powertools' hashed key, TTL `expires_at`).

Why not Powertools' `DynamoDBPersistenceLayer` (which could address this table too): netguard's
store already gives conditional writes on this table, classifies outages as `StateUnavailable`
(enrichment still publishes when the table is down: a duplicate beats a lost alert), runs in memory
for unit tests and `netguard parse`, and keeps one item shape for every record in the table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from netguard.state.errors import OnceUnavailable, PayloadMismatch, StateConflict
from netguard.state.store import MemoryStore, StateStore

_INPROGRESS = "INPROGRESS"


class StatePersistenceLayer(BasePersistenceLayer):
    """Powertools' idempotency records as items of one partition (`pk`) of a `StateStore`."""

    def __init__(self, store: StateStore, partition: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated
        self._store = store
        self.partition = partition

    def _get_record(self, idempotency_key: str) -> DataRecord:
        item = self._store.get(pk=self.partition, sk=idempotency_key)
        if item is None:
            raise IdempotencyItemNotFoundError
        return _record(idempotency_key, item.data)

    def _put_record(self, data_record: DataRecord) -> None:
        key = data_record.idempotency_key
        try:
            self._store.create(
                pk=self.partition, sk=key, data=_data(data_record), ttl_seconds=_ttl(data_record)
            )
            return
        except StateConflict as conflict:
            current = conflict.current or self._store.get(pk=self.partition, sk=key)
        # Powertools' rule: an INPROGRESS record whose in-progress window has passed (its invocation
        # crashed or timed out) may be taken over; anything else already exists.
        now_ms = int(time.time() * 1000)
        window = current.data.get("in_progress_expiry_ms") if current is not None else None
        if (
            current is not None
            and current.data.get("status") == _INPROGRESS
            and isinstance(window, int)
            and window < now_ms
        ):
            try:
                self._store.replace(
                    pk=self.partition,
                    sk=key,
                    data=_data(data_record),
                    ttl_seconds=_ttl(data_record),
                    expected_version=current.version,
                )
                return
            except StateConflict:
                pass
        raise IdempotencyItemAlreadyExistsError

    def _update_record(self, data_record: DataRecord) -> None:
        key = data_record.idempotency_key
        self._store.put(pk=self.partition, sk=key, data=_data(data_record), ttl_seconds=_ttl(data_record))

    def _delete_record(self, data_record: DataRecord) -> None:
        self._store.delete(pk=self.partition, sk=data_record.idempotency_key)


def _data(record: DataRecord) -> dict[str, Any]:
    return {
        "status": record.status,
        "expiry": record.expiry_timestamp,
        "in_progress_expiry_ms": record.in_progress_expiry_timestamp,
        "response": record.response_data or "",
        "payload_hash": record.payload_hash or "",
    }


def _record(key: str, data: Mapping[str, Any]) -> DataRecord:
    return DataRecord(
        idempotency_key=key,
        status=str(data.get("status", "")),
        expiry_timestamp=data.get("expiry"),
        in_progress_expiry_timestamp=data.get("in_progress_expiry_ms"),
        response_data=str(data.get("response") or ""),
        payload_hash=str(data.get("payload_hash") or ""),
    )


def _ttl(record: DataRecord) -> int:
    """Seconds until Powertools' expiry; relative, so a store with its own clock keeps the same span."""
    return max(1, int(record.expiry_timestamp or 0) - int(time.time()))


class OnceOutcome(StrEnum):
    RAN = "ran"
    """This call ran the action."""
    DUPLICATE = "duplicate"
    """A completed record exists: the action ran before and is not run again."""
    IN_FLIGHT = "in-flight"
    """Another invocation is running it now (its in-progress window has not passed)."""


class Once:
    """Runs an action at most once per key within `ttl_seconds` (Powertools `idempotent_function`).

    One `Once` per use: Powertools configures a persistence layer once, with one key prefix.
    """

    def __init__(
        self,
        store: StateStore,
        partition: str,
        *,
        ttl_seconds: int,
        in_progress_seconds: Callable[[], float],
        validate: str = "",
    ) -> None:
        """`partition`: the table partition (`pk`) and Powertools' key prefix, e.g. `idem#enrich`.
        `in_progress_seconds`: how long an INPROGRESS record blocks others (the invocation's remaining
        time plus a margin). `validate`: JMESPath into the payload that must match for the same key."""
        self.partition = partition
        self._in_progress_seconds = in_progress_seconds
        self._config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath=validate,
            raise_on_no_idempotency_key=True,
            expires_after_seconds=ttl_seconds,
        )
        self._layer = StatePersistenceLayer(store, partition)

    def run(
        self, key: str, action: Callable[[], object], *, payload: Mapping[str, Any] | None = None
    ) -> OnceOutcome:
        """Run `action` unless `key` was done or is in flight.

        An exception from `action` deletes the record (so the retry runs it again) and propagates.
        Raises `PayloadMismatch` when `payload` differs from the first run's, and `OnceUnavailable`
        when the table fails, saying whether the action had started and whether it completed (a
        started, uncompleted action raised and its record could not be deleted: retry later).
        """
        started = ran = False

        def call(data: dict[str, Any]) -> dict[str, bool]:
            nonlocal started, ran
            started = True
            action()
            ran = True
            return {"done": True}  # what Powertools keeps; callers need only "it ran"

        self._config.register_lambda_context(_Remaining(self._in_progress_seconds()))  # type: ignore[arg-type]
        guarded = idempotent_function(
            call,
            data_keyword_argument="data",
            persistence_store=self._layer,
            config=self._config,
            key_prefix=self.partition,
        )
        try:
            guarded(data={"key": key, **(payload or {})})
        except IdempotencyAlreadyInProgressError:
            return OnceOutcome.IN_FLIGHT
        except IdempotencyValidationError as exc:
            message = f"{self.partition} {key}: the payload differs from the first delivery's"
            raise PayloadMismatch(message) from exc
        except IdempotencyPersistenceLayerError as exc:
            raise OnceUnavailable(f"{self.partition} {key}: {exc}", started=started, ran=ran) from exc
        return OnceOutcome.RAN if ran else OnceOutcome.DUPLICATE


def stored_key(partition: str, key: str) -> str:
    """The sort key under which `Once(store, partition, ...)` keeps `key` (Powertools hashes it)."""
    layer = StatePersistenceLayer(MemoryStore(), partition)
    layer.configure(IdempotencyConfig(event_key_jmespath="key"), key_prefix=partition)
    return str(layer._get_hashed_idempotency_key({"key": key}))  # Powertools' own hashing, not a copy


class _Remaining:
    """The one thing Powertools reads from a Lambda context: the remaining time (in-progress expiry)."""

    def __init__(self, seconds: float) -> None:
        self._ms = int(seconds * 1000)  # <= 0: the window is over at once (a crash, in tests)

    def get_remaining_time_in_millis(self) -> int:
        return self._ms
