"""The state store protocol and its in-memory implementation (unit tests, `netguard parse`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from netguard.state.errors import StateConflict
from netguard.state.models import Item

Clock = Callable[[], float]


class StateReader(Protocol):
    """What a function may do with another function's partitions: read one item."""

    def get(self, *, pk: str, sk: str) -> Item | None:
        """The live item, or None when absent or expired."""


class StateStore(StateReader, Protocol):
    def create(
        self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int, version: int = 1
    ) -> Item:
        """Write only if absent (or expired); else raise `StateConflict` with the current item.
        `version`: the new item's version (1, or a migrated item's next one: `state.owned`)."""

    def replace(
        self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int, expected_version: int
    ) -> Item:
        """Write only if the live item has `expected_version`; else raise `StateConflict`."""

    def put(self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int) -> Item:
        """Write unconditionally."""

    def delete(self, *, pk: str, sk: str, expected_version: int | None = None) -> None:
        """Remove; with `expected_version`, only if it still has it (else `StateConflict`)."""

    def query(
        self, *, pk: str, sk_prefix: str = "", limit: int = 100, newest_first: bool = True
    ) -> list[Item]:
        """Live items of one partition whose sort key starts with `sk_prefix`."""


class MemoryStore:
    """A `StateStore` in a dict, with the same conditional semantics as the DynamoDB one."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._items: dict[tuple[str, str], Item] = {}
        self._clock = clock
        self._lock = threading.Lock()

    def _live(self, pk: str, sk: str) -> Item | None:
        item = self._items.get((pk, sk))
        if item is None or item.expires_at <= self._clock():
            return None
        return item

    def _write(
        self,
        pk: str,
        sk: str,
        data: Mapping[str, Any],
        ttl_seconds: int,
        previous: Item | None,
        *,
        version: int = 1,
    ) -> Item:
        item = Item(
            pk=pk,
            sk=sk,
            data=dict(data),
            version=(previous.version + 1) if previous else version,
            expires_at=int(self._clock()) + ttl_seconds,
        )
        self._items[(pk, sk)] = item
        return item

    def get(self, *, pk: str, sk: str) -> Item | None:
        with self._lock:
            return self._live(pk, sk)

    def create(
        self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int, version: int = 1
    ) -> Item:
        with self._lock:
            current = self._live(pk, sk)
            if current is not None:
                raise StateConflict(pk, sk, current)
            return self._write(pk, sk, data, ttl_seconds, None, version=version)

    def replace(
        self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int, expected_version: int
    ) -> Item:
        with self._lock:
            current = self._live(pk, sk)
            if current is None or current.version != expected_version:
                raise StateConflict(pk, sk, current)
            return self._write(pk, sk, data, ttl_seconds, current)

    def put(self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int) -> Item:
        with self._lock:
            return self._write(pk, sk, data, ttl_seconds, self._live(pk, sk))

    def delete(self, *, pk: str, sk: str, expected_version: int | None = None) -> None:
        with self._lock:
            current = self._live(pk, sk)
            if expected_version is not None and (current is None or current.version != expected_version):
                raise StateConflict(pk, sk, current)
            self._items.pop((pk, sk), None)

    def query(
        self, *, pk: str, sk_prefix: str = "", limit: int = 100, newest_first: bool = True
    ) -> list[Item]:
        with self._lock:
            now = self._clock()
            items = sorted(
                (
                    i
                    for (p, s), i in self._items.items()
                    if p == pk and s.startswith(sk_prefix) and i.expires_at > now
                ),
                key=lambda i: i.sk,
                reverse=newest_first,
            )
            return items[:limit]
