"""Alertmanager's fingerprint and netguard's group identity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netguard.alerts.fingerprint import fingerprint, fingerprints, group_identity


class TestFingerprint:
    @pytest.mark.parametrize(
        ("labels", "expected"),
        [
            # Recorded from Debian's Alertmanager 0.25: GET /api/v2/alerts after posting these labels.
            ({"alertname": "X", "instance": "10.0.1.2:9100", "q": 'a"b\\c\nd é'}, "f5c3ceba740a7006"),
            # An empty label set is FNV-1a's offset basis.
            ({}, "cbf29ce484222325"),
        ],
    )
    def test_matches_alertmanager(self, labels: dict[str, str], expected: str) -> None:
        assert fingerprint(labels) == expected

    @given(st.dictionaries(st.text(min_size=1), st.text(), max_size=8))
    def test_independent_of_insertion_order(self, labels: dict[str, str]) -> None:
        assert fingerprint(dict(reversed(list(labels.items())))) == fingerprint(labels)

    def test_separator_keeps_name_and_value_apart(self) -> None:
        """`ab=c` and `a=bc` must not collide."""
        assert fingerprint({"ab": "c"}) != fingerprint({"a": "bc"})


class TestFingerprints:
    @given(st.lists(st.dictionaries(st.text(min_size=1), st.text(), max_size=8), max_size=40))
    def test_same_as_one_by_one(self, label_sets: list[dict[str, str]]) -> None:
        """The batched hash (one lane per alert) gives every alert the value `fingerprint` gives it."""
        assert fingerprints(label_sets) == [fingerprint(labels) for labels in label_sets]

    def test_shared_prefix_and_different_lengths(self) -> None:
        sets = [{"alertname": "X", "instance": "10.0.0.1:9100"[:n]} for n in range(14)] + [{}, {"a": ""}]
        assert fingerprints(sets) == [fingerprint(labels) for labels in sets]


class TestGroupIdentity:
    def test_readable_when_short(self) -> None:
        assert group_identity("prod", "LinklocalDrops", {"instance": "10.0.0.1:9100"}) == (
            "netguard/prod/LinklocalDrops/instance=10.0.0.1:9100"
        )

    @given(st.text(), st.text(), st.dictionaries(st.text(), st.text(), max_size=20))
    def test_never_empty_and_within_pagerduty_limit(
        self, cluster: str, name: str, labels: dict[str, str]
    ) -> None:
        identity = group_identity(cluster, name, labels)
        assert 0 < len(identity) <= 255

    def test_stable_and_distinct(self) -> None:
        a = group_identity("prod", "A", {"x": "1" * 300})
        assert a == group_identity("prod", "A", {"x": "1" * 300})
        assert a != group_identity("prod", "A", {"x": "2" * 300})
