"""`OwnedStore`: a function's own partitions, and the previous key scheme's items read until their TTL."""

from __future__ import annotations

import pytest

from netguard.state import MemoryStore, OwnedStore, Owner, StateConflict
from netguard.state.owned import slack_legacy_key
from tests.unit.remediate.fakes import Clock

TTL = 600


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def table(clock: Clock) -> MemoryStore:
    return MemoryStore(clock=clock)


def _remediate(table: MemoryStore, *, legacy: bool = True) -> OwnedStore:
    return OwnedStore.of(table, Owner.REMEDIATE, read_legacy=legacy)


class TestOwnPartitions:
    def test_writes_land_under_the_owner_prefix_and_read_back_by_logical_key(
        self, table: MemoryStore
    ) -> None:
        store = _remediate(table)
        written = store.create(pk="cluster#prod", sk="lock", data={"owner": "a"}, ttl_seconds=TTL)
        assert written.pk == "cluster#prod"
        assert table.get(pk="remediate#cluster#prod", sk="lock") is not None
        assert table.get(pk="cluster#prod", sk="lock") is None
        got = store.get(pk="cluster#prod", sk="lock")
        assert got is not None
        assert (got.pk, got.data) == ("cluster#prod", {"owner": "a"})

    def test_two_owners_never_see_each_others_items(self, table: MemoryStore) -> None:
        slack = OwnedStore.of(table, Owner.SLACK, read_legacy=True)
        pagerduty = OwnedStore.of(table, Owner.PAGERDUTY, read_legacy=True)
        slack.put(pk="group#g", sk="x", data={"by": "slack"}, ttl_seconds=TTL)
        assert pagerduty.get(pk="group#g", sk="x") is None
        pagerduty.create(pk="group#g", sk="x", data={"by": "pagerduty"}, ttl_seconds=TTL)
        slack_item = slack.get(pk="group#g", sk="x")
        assert slack_item is not None
        assert slack_item.data == {"by": "slack"}

    def test_a_conflict_names_the_logical_key_and_the_current_item(self, table: MemoryStore) -> None:
        store = _remediate(table)
        store.create(pk="cluster#prod", sk="lock", data={"owner": "a"}, ttl_seconds=TTL)
        with pytest.raises(StateConflict) as raised:
            store.create(pk="cluster#prod", sk="lock", data={"owner": "b"}, ttl_seconds=TTL)
        assert raised.value.pk == "cluster#prod"
        assert raised.value.current is not None
        assert raised.value.current.pk == "cluster#prod"


class TestPreviousScheme:
    """Items written before the prefixes (the logical key was the partition key) stay meaningful."""

    def test_get_falls_back_to_the_old_item(self, table: MemoryStore) -> None:
        table.put(pk="cluster#prod", sk="remediation", data={"phase": "verifying"}, ttl_seconds=TTL)
        got = _remediate(table).get(pk="cluster#prod", sk="remediation")
        assert got is not None
        assert (got.pk, got.data) == ("cluster#prod", {"phase": "verifying"})

    def test_the_new_item_wins_over_the_old(self, table: MemoryStore) -> None:
        table.put(pk="cluster#prod", sk="remediation", data={"phase": "old"}, ttl_seconds=TTL)
        table.put(pk="remediate#cluster#prod", sk="remediation", data={"phase": "new"}, ttl_seconds=TTL)
        got = _remediate(table).get(pk="cluster#prod", sk="remediation")
        assert got is not None
        assert got.data == {"phase": "new"}

    def test_an_old_lock_still_holds(self, table: MemoryStore) -> None:
        table.create(pk="cluster#prod", sk="lock", data={"owner": "previous release"}, ttl_seconds=TTL)
        with pytest.raises(StateConflict) as raised:
            _remediate(table).create(pk="cluster#prod", sk="lock", data={"owner": "b"}, ttl_seconds=TTL)
        assert raised.value.current is not None
        assert raised.value.current.data == {"owner": "previous release"}
        assert table.get(pk="remediate#cluster#prod", sk="lock") is None

    def test_an_expired_old_item_is_absent(self, table: MemoryStore, clock: Clock) -> None:
        table.create(pk="cluster#prod", sk="lock", data={"owner": "crashed"}, ttl_seconds=TTL)
        clock.now += TTL + 1
        store = _remediate(table)
        assert store.get(pk="cluster#prod", sk="lock") is None
        store.create(pk="cluster#prod", sk="lock", data={"owner": "b"}, ttl_seconds=TTL)

    def test_replace_at_the_old_version_moves_the_item_with_the_next_version(
        self, table: MemoryStore
    ) -> None:
        old = table.put(pk="cluster#prod", sk="remediation", data={"steps": 1}, ttl_seconds=TTL)
        old = table.put(pk="cluster#prod", sk="remediation", data={"steps": 2}, ttl_seconds=TTL)
        store = _remediate(table)
        read = store.get(pk="cluster#prod", sk="remediation")
        assert read is not None
        assert read.version == old.version == 2
        moved = store.replace(
            pk="cluster#prod", sk="remediation", data={"steps": 3}, ttl_seconds=TTL, expected_version=2
        )
        assert (moved.pk, moved.version) == ("cluster#prod", 3)
        new = table.get(pk="remediate#cluster#prod", sk="remediation")
        assert new is not None
        assert (new.data, new.version) == ({"steps": 3}, 3)
        # The old item is never written: the role may only read it.
        untouched = table.get(pk="cluster#prod", sk="remediation")
        assert untouched is not None
        assert untouched.data == {"steps": 2}

    def test_a_second_writer_holding_the_same_old_version_loses(self, table: MemoryStore) -> None:
        table.put(pk="cluster#prod", sk="remediation", data={"steps": 1}, ttl_seconds=TTL)
        first, second = _remediate(table), _remediate(table)
        seen = first.get(pk="cluster#prod", sk="remediation")
        assert seen is not None
        first.replace(
            pk="cluster#prod", sk="remediation", data={"by": 1}, ttl_seconds=TTL, expected_version=1
        )
        with pytest.raises(StateConflict):
            second.replace(
                pk="cluster#prod", sk="remediation", data={"by": 2}, ttl_seconds=TTL, expected_version=1
            )

    def test_replace_at_a_stale_old_version_conflicts(self, table: MemoryStore) -> None:
        table.put(pk="cluster#prod", sk="remediation", data={}, ttl_seconds=TTL)
        table.put(pk="cluster#prod", sk="remediation", data={}, ttl_seconds=TTL)
        with pytest.raises(StateConflict) as raised:
            _remediate(table).replace(
                pk="cluster#prod", sk="remediation", data={}, ttl_seconds=TTL, expected_version=1
            )
        assert raised.value.current is not None
        assert raised.value.current.version == 2

    def test_query_merges_both_partitions_the_new_item_winning(self, table: MemoryStore) -> None:
        table.put(pk="cluster#prod", sk="audit#1", data={"from": "old"}, ttl_seconds=TTL)
        table.put(pk="cluster#prod", sk="audit#2", data={"from": "old"}, ttl_seconds=TTL)
        table.put(pk="remediate#cluster#prod", sk="audit#2", data={"from": "new"}, ttl_seconds=TTL)
        table.put(pk="remediate#cluster#prod", sk="audit#3", data={"from": "new"}, ttl_seconds=TTL)
        store = _remediate(table)
        newest = store.query(pk="cluster#prod", sk_prefix="audit#", limit=2)
        assert [(i.sk, i.data["from"]) for i in newest] == [("audit#3", "new"), ("audit#2", "new")]
        oldest = store.query(pk="cluster#prod", sk_prefix="audit#", newest_first=False)
        assert [(i.pk, i.sk) for i in oldest] == [("cluster#prod", f"audit#{n}") for n in (1, 2, 3)]

    def test_slacks_two_partitions_were_one_shared_group_partition(self, table: MemoryStore) -> None:
        assert slack_legacy_key("ref#g1") == slack_legacy_key("parts#g1") == "group#g1"
        table.put(pk="group#g1", sk="slack", data={"ts": "1.2"}, ttl_seconds=TTL)
        table.put(pk="group#g1", sk="slack-part#e#firing#00001", data={"n": 1}, ttl_seconds=TTL)
        slack = OwnedStore.of(table, Owner.SLACK, read_legacy=True)
        ref = slack.get(pk="ref#g1", sk="slack")
        assert ref is not None
        assert ref.data == {"ts": "1.2"}
        assert [i.sk for i in slack.query(pk="parts#g1", sk_prefix="slack-part#")] == [
            "slack-part#e#firing#00001"
        ]

    def test_with_legacy_reads_off_the_old_items_are_not_read(self, table: MemoryStore) -> None:
        table.create(pk="cluster#prod", sk="lock", data={"owner": "previous release"}, ttl_seconds=TTL)
        table.put(pk="cluster#prod", sk="audit#1", data={}, ttl_seconds=TTL)
        store = _remediate(table, legacy=False)
        assert store.get(pk="cluster#prod", sk="lock") is None
        assert store.query(pk="cluster#prod") == []
        store.create(pk="cluster#prod", sk="lock", data={"owner": "b"}, ttl_seconds=TTL)

    def test_delete_and_put_touch_only_the_new_item(self, table: MemoryStore) -> None:
        table.put(pk="cluster#prod", sk="audit#1", data={"from": "old"}, ttl_seconds=TTL)
        store = _remediate(table)
        store.put(pk="cluster#prod", sk="audit#1", data={"from": "new"}, ttl_seconds=TTL)
        store.delete(pk="cluster#prod", sk="audit#1")
        old = table.get(pk="cluster#prod", sk="audit#1")
        assert old is not None
        assert old.data == {"from": "old"}
