"""A small time-bounded cache for what is stable across warm invocations (instance types).

Entries expire after `lifetime` seconds, so a changed value is picked up without a cold start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(
        self, lifetime: float, *, clock: Callable[[], float] = time.monotonic, max_entries: int = 4096
    ) -> None:
        self._lifetime = lifetime
        self._clock = clock
        self._max = max_entries
        self._items: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The live entries among `keys`."""
        now = self._clock()
        with self._lock:
            return {k: hit[1] for k in keys if (hit := self._items.get(k)) is not None and hit[0] > now}

    def put_many(self, values: dict[K, V]) -> None:
        expires = self._clock() + self._lifetime
        with self._lock:
            if len(self._items) + len(values) > self._max:
                self._items.clear()
            for key, value in values.items():
                self._items[key] = (expires, value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
