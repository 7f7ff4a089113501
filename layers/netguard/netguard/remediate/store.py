"""Durable remediation state of a cluster: the lock and the history, in the state table.

Called by `service.RemediationService` (and `netguard remediation status`). The lock is a lease taken
with a conditional create; the history is written with version checks through `codec`, the one
(de)serialisation of what remediation stores and reports.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import TracebackType

from netguard.remediate.codec import history_from_dict, history_to_dict
from netguard.remediate.errors import LockBusy
from netguard.remediate.models import History
from netguard.state import StateConflict, StateStore

log = logging.getLogger(__name__)

Clock = Callable[[], float]
HISTORY_TTL_SECONDS = 180 * 86400


def cluster_pk(cluster: str) -> str:
    return f"cluster#{cluster}"


class ClusterLock:
    """A lease on `cluster#<name>` / `lock`, taken with a conditional create and released by version.

    A crashed holder's lease expires after `lease_seconds` (expired items count as absent).
    """

    def __init__(
        self,
        store: StateStore,
        cluster: str,
        *,
        owner: str,
        lease_seconds: int = 300,
        wait_seconds: float = 20.0,
        poll_seconds: float = 0.25,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._pk = cluster_pk(cluster)
        self._owner = owner
        self._lease = lease_seconds
        self._wait = wait_seconds
        self._poll = poll_seconds
        self._clock = clock
        self._sleep = sleep
        self._version: int | None = None
        self.waited = False

    def acquire(self) -> None:
        deadline = self._clock() + self._wait
        while True:
            try:
                item = self._store.create(
                    pk=self._pk, sk="lock", data={"owner": self._owner}, ttl_seconds=self._lease
                )
            except StateConflict as exc:
                holder = exc.current.data.get("owner", "?") if exc.current else "?"
                if self._clock() >= deadline:
                    raise LockBusy(f"remediation lock on {self._pk} held by {holder}") from exc
                self.waited = True
                self._sleep(self._poll)
                continue
            self._version = item.version
            return

    def release(self) -> None:
        if self._version is None:
            return
        try:
            self._store.delete(pk=self._pk, sk="lock", expected_version=self._version)
        except StateConflict:
            log.warning("remediation lock on %s expired before release", self._pk)
        finally:
            self._version = None

    def __enter__(self) -> ClusterLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class HistoryStore:
    """`History` to and from `cluster#<name>` / `remediation`, with version checks."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    def load(self, cluster: str) -> History:
        item = self._store.get(pk=cluster_pk(cluster), sk="remediation")
        if item is None:
            return History(cluster=cluster)
        return history_from_dict(cluster, item.data, version=item.version)

    def save(self, history: History) -> History:
        data = history_to_dict(history)
        pk = cluster_pk(history.cluster)
        if history.version == 0:
            item = self._store.create(pk=pk, sk="remediation", data=data, ttl_seconds=HISTORY_TTL_SECONDS)
        else:
            item = self._store.replace(
                pk=pk,
                sk="remediation",
                data=data,
                ttl_seconds=HISTORY_TTL_SECONDS,
                expected_version=history.version,
            )
        return history_from_dict(history.cluster, item.data, version=item.version)
