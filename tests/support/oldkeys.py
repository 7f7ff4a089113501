"""The state table as the release before owner prefixes wrote it, for upgrade tests.

That release's code spoke the same logical keys as today's and wrote them as the partition key
itself, except Slack's message references and parts, which shared `group#<id>` with PagerDuty's
records. The item data is unchanged by the prefixes, so today's notifiers and remediation service,
run over `at_old_keys`, write exactly the items an upgraded stack finds in its table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from netguard.state import Item, StateConflict, StateStore
from netguard.state.owned import LegacyKey


class at_old_keys:  # noqa: N801 -- reads as what it makes: a store at the old keys
    """`store` with every logical partition key mapped to the one the previous scheme used."""

    def __init__(self, store: StateStore, old_key: LegacyKey) -> None:
        self._store = store
        self._key = old_key

    def get(self, *, pk: str, sk: str) -> Item | None:
        return self._back(self._store.get(pk=self._key(pk), sk=sk), pk)

    def create(
        self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int, version: int = 1
    ) -> Item:
        item = self._call(pk, "create", sk=sk, data=data, ttl_seconds=ttl_seconds, version=version)
        assert item is not None
        return item

    def replace(
        self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int, expected_version: int
    ) -> Item:
        item = self._call(
            pk, "replace", sk=sk, data=data, ttl_seconds=ttl_seconds, expected_version=expected_version
        )
        assert item is not None
        return item

    def put(self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int) -> Item:
        item = self._back(self._store.put(pk=self._key(pk), sk=sk, data=data, ttl_seconds=ttl_seconds), pk)
        assert item is not None
        return item

    def delete(self, *, pk: str, sk: str, expected_version: int | None = None) -> None:
        self._call(pk, "delete", sk=sk, expected_version=expected_version)

    def query(
        self, *, pk: str, sk_prefix: str = "", limit: int = 100, newest_first: bool = True
    ) -> list[Item]:
        items = self._store.query(
            pk=self._key(pk), sk_prefix=sk_prefix, limit=limit, newest_first=newest_first
        )
        return [replace(i, pk=pk) for i in items]

    def _call(self, pk: str, operation: str, **kwargs: Any) -> Item | None:
        try:
            result = getattr(self._store, operation)(pk=self._key(pk), **kwargs)
        except StateConflict as exc:
            raise StateConflict(pk, exc.sk, self._back(exc.current, pk)) from exc
        return self._back(result, pk)

    @staticmethod
    def _back(item: Item | None, pk: str) -> Item | None:
        return None if item is None else replace(item, pk=pk)
