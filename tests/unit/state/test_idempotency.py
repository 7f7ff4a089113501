"""`Once`: Powertools' idempotency protocol over the state store (MemoryStore)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from netguard.state import MemoryStore, Once, OnceOutcome, OnceUnavailable, PayloadMismatch, StateUnavailable
from netguard.state.models import Item


def once(store: MemoryStore, *, in_progress: float = 60.0, validate: str = "") -> Once:
    return Once(
        store, "idem#test", ttl_seconds=3600, in_progress_seconds=lambda: in_progress, validate=validate
    )


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


class TestOnce:
    def test_runs_once_then_duplicate(self) -> None:
        """The first call runs; a repeat within the TTL does not, and says so."""
        store, action = MemoryStore(), Counter()
        guard = once(store)
        assert guard.run("k", action) is OnceOutcome.RAN
        assert guard.run("k", action) is OnceOutcome.DUPLICATE
        assert guard.run("other", action) is OnceOutcome.RAN
        assert action.calls == 2
        (item, _) = store.query(pk="idem#test")
        assert item.data["status"] == "COMPLETED"

    def test_failure_deletes_the_record_so_the_retry_runs(self) -> None:
        """An exception propagates and leaves no record behind."""
        store, action = MemoryStore(), Counter()
        guard = once(store)

        def boom() -> None:
            raise RuntimeError("throttled")

        with pytest.raises(RuntimeError):
            guard.run("k", boom)
        assert store.query(pk="idem#test") == []
        assert guard.run("k", action) is OnceOutcome.RAN

    def test_concurrent_call_is_in_flight(self) -> None:
        """While one call runs, the same key elsewhere is in flight, not run."""
        store = MemoryStore()
        guard, entered, release = once(store), threading.Event(), threading.Event()
        outcomes: list[OnceOutcome] = []

        def slow() -> None:
            entered.set()
            release.wait(5)

        first = threading.Thread(target=lambda: outcomes.append(guard.run("k", slow)))
        first.start()
        assert entered.wait(5)
        assert once(store).run("k", Counter()) is OnceOutcome.IN_FLIGHT
        release.set()
        first.join(5)
        assert outcomes == [OnceOutcome.RAN]

    def test_crashed_in_progress_record_is_taken_over_after_its_window(self) -> None:
        """An INPROGRESS record whose window passed (a crash) does not lock the retry out."""
        store, action = MemoryStore(), Counter()
        crashed = once(store)
        # What a crashed invocation leaves: Powertools' INPROGRESS record, its window already over.
        crashed._layer.configure(crashed._config, key_prefix="idem#test")
        crashed._layer.save_inprogress(data={"key": "k"}, remaining_time_in_millis=-1000)
        (item,) = store.query(pk="idem#test")
        assert item.data["status"] == "INPROGRESS"
        assert item.sk.startswith("idem#test#")
        assert once(store).run("k", action) is OnceOutcome.RAN
        assert action.calls == 1

    def test_payload_mismatch_is_an_error(self) -> None:
        """The same key with a different validated payload is PayloadMismatch, not a duplicate."""
        store, action = MemoryStore(), Counter()
        guard = once(store, validate="body")
        assert guard.run("k", action, payload={"body": "a"}) is OnceOutcome.RAN
        assert guard.run("k", action, payload={"body": "a"}) is OnceOutcome.DUPLICATE
        with pytest.raises(PayloadMismatch):
            guard.run("k", action, payload={"body": "b"})
        assert action.calls == 1

    def test_store_outage_before_the_action(self) -> None:
        """The table failing before the action: OnceUnavailable with ran=False, the action not run."""

        class Down(MemoryStore):
            def create(self, *, pk: str, sk: str, data: Any, ttl_seconds: int, version: int = 1) -> Item:
                raise StateUnavailable("throttled")

        action = Counter()
        with pytest.raises(OnceUnavailable) as caught:
            once(Down()).run("k", action)
        assert (caught.value.started, caught.value.ran) == (False, False)
        assert action.calls == 0

    def test_store_outage_after_the_action(self) -> None:
        """The table failing when recording success: OnceUnavailable with ran=True (do not redo it)."""

        class NoPut(MemoryStore):
            def put(self, *, pk: str, sk: str, data: Any, ttl_seconds: int) -> Item:
                raise StateUnavailable("throttled")

        action = Counter()
        with pytest.raises(OnceUnavailable) as caught:
            once(NoPut()).run("k", action)
        assert (caught.value.started, caught.value.ran) == (True, True)
        assert action.calls == 1

    def test_failed_action_whose_record_cannot_be_deleted(self) -> None:
        """The action raised and the table refused the delete: started, not ran (retry later)."""

        class NoDelete(MemoryStore):
            def delete(self, *, pk: str, sk: str, expected_version: int | None = None) -> None:
                raise StateUnavailable("throttled")

        def boom() -> None:
            raise RuntimeError("publish failed")

        with pytest.raises(OnceUnavailable) as caught:
            once(NoDelete()).run("k", boom)
        assert (caught.value.started, caught.value.ran) == (True, False)
