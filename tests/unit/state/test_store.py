"""The state store's conditional semantics, identical for the in-memory and the DynamoDB store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from netguard.clients import aws
from netguard.state import DynamoStore, MemoryStore, StateConflict, StateStore
from tests.support.aws import MotoServer


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _create_table(name: str) -> None:
    aws.client("dynamodb").create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture(params=["memory", "dynamodb"])
def store_and_clock(request: pytest.FixtureRequest) -> Iterator[tuple[StateStore, FakeClock]]:
    clock = FakeClock()
    if request.param == "memory":
        yield MemoryStore(clock=clock), clock
        return
    request.getfixturevalue("aws_env")
    table = f"state-{uuid.uuid4().hex[:8]}"
    _create_table(table)
    yield DynamoStore(aws.client("dynamodb"), table, clock=clock), clock


class TestStateStore:
    def test_create_then_conflict_carries_current_item(
        self, store_and_clock: tuple[StateStore, FakeClock]
    ) -> None:
        """A second create of a live key loses and is told what is there."""
        store, _ = store_and_clock
        first = store.create(pk="p", sk="s", data={"n": 1}, ttl_seconds=60)
        with pytest.raises(StateConflict) as caught:
            store.create(pk="p", sk="s", data={"n": 2}, ttl_seconds=60)
        assert caught.value.current is not None
        assert caught.value.current.data == {"n": 1}
        assert caught.value.current.version == first.version == 1

    def test_expired_item_counts_as_absent(self, store_and_clock: tuple[StateStore, FakeClock]) -> None:
        """An item past its TTL is invisible and can be created again, before DynamoDB deletes it."""
        store, clock = store_and_clock
        store.create(pk="p", sk="s", data={"n": 1}, ttl_seconds=60)
        clock.now += 61
        assert store.get(pk="p", sk="s") is None
        again = store.create(pk="p", sk="s", data={"n": 2}, ttl_seconds=60)
        assert store.get(pk="p", sk="s") == again

    def test_replace_needs_the_expected_version(self, store_and_clock: tuple[StateStore, FakeClock]) -> None:
        """Optimistic concurrency: a stale version loses."""
        store, _ = store_and_clock
        item = store.create(pk="p", sk="s", data={"n": 1}, ttl_seconds=60)
        updated = store.replace(pk="p", sk="s", data={"n": 2}, ttl_seconds=60, expected_version=item.version)
        assert updated.version == 2
        with pytest.raises(StateConflict):
            store.replace(pk="p", sk="s", data={"n": 3}, ttl_seconds=60, expected_version=item.version)
        stored = store.get(pk="p", sk="s")
        assert stored is not None
        assert stored.data == {"n": 2}

    def test_delete_with_version(self, store_and_clock: tuple[StateStore, FakeClock]) -> None:
        store, _ = store_and_clock
        item = store.put(pk="p", sk="s", data={}, ttl_seconds=60)
        with pytest.raises(StateConflict):
            store.delete(pk="p", sk="s", expected_version=item.version + 1)
        store.delete(pk="p", sk="s", expected_version=item.version)
        assert store.get(pk="p", sk="s") is None

    def test_query_by_prefix_newest_first(self, store_and_clock: tuple[StateStore, FakeClock]) -> None:
        store, clock = store_and_clock
        for minute in range(3):
            store.put(pk="cluster#a", sk=f"audit#2026-11-25T00:0{minute}", data={"m": minute}, ttl_seconds=60)
        store.put(pk="cluster#a", sk="lock", data={}, ttl_seconds=60)
        store.put(pk="cluster#b", sk="audit#x", data={}, ttl_seconds=60)
        found = store.query(pk="cluster#a", sk_prefix="audit#")
        assert [i.data["m"] for i in found] == [2, 1, 0]
        clock.now += 120
        assert store.query(pk="cluster#a", sk_prefix="audit#") == []

    def test_create_is_exactly_once_under_concurrency(
        self, store_and_clock: tuple[StateStore, FakeClock]
    ) -> None:
        """Twenty concurrent creates of one key: exactly one wins, the others get StateConflict."""
        store, _ = store_and_clock

        def create(_: int) -> bool:
            try:
                store.create(pk="idem", sk="m-1", data={}, ttl_seconds=60)
            except StateConflict:
                return False
            return True

        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(create, range(20)))
        assert results.count(True) == 1


def test_moto_server_fixture_is_loopback(moto_server: MotoServer) -> None:
    """The tests' AWS is a local moto server, never AWS."""
    assert moto_server.url.startswith("http://127.0.0.1:")
