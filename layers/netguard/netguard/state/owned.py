"""One function's view of the shared state table: its own partitions, and the old key scheme's items.

Every partition key a function writes starts with its owner prefix (`enrich#`, `slack#`,
`pagerduty#`, `remediate#`), so IAM's `dynamodb:LeadingKeys` can confine each role to its own
partitions (template.yaml): a notifier cannot take the remediation lock or rewrite its history, and
PagerDuty reads Slack's message references (`slack#ref#…`) but nothing else of Slack's. Callers keep
speaking in logical keys (`cluster#prod`, `ref#<group>`); this adapter adds and strips the prefix,
and the items it returns carry logical keys.

Until the release that introduced the prefixes, items were written without them (and Slack's and
PagerDuty's shared `group#<id>` partitions). Those items keep meaning something until their TTL
(a Slack thread to reply under, an idempotency record, 180 days of remediation history), so while
`legacy` maps a logical key to its old partition, the old items are read, never written:

- `get` returns the new item, else the old one (its logical key, its version);
- `create` of a key whose old item is live conflicts with that item, as if it were the new one
  (a lock or idempotency record held under the old scheme still holds);
- `replace` of a key that exists only in the old scheme, at the old item's version, writes the new
  item with the next version (so a second writer holding the same old version loses, as it would
  on one item); the old item then stays hidden behind the new one until its TTL;
- `query` merges both partitions, the new item winning where both hold a sort key;
- `put` and `delete` touch only the new item.

Once the longest TTL has passed since the upgrade (docs/security.md), `LegacyStateReads=false`
turns the fallback and its read grant off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from enum import StrEnum
from typing import Any

from netguard.state.errors import StateConflict
from netguard.state.models import Item
from netguard.state.store import StateStore

LegacyKey = Callable[[str], str]
"""A logical partition key → the partition the previous key scheme kept it in."""


class Owner(StrEnum):
    """Whose partitions: the prefix of every partition key a function writes."""

    ENRICH = "enrich"
    SLACK = "slack"
    PAGERDUTY = "pagerduty"
    REMEDIATE = "remediate"


def same_key(logical: str) -> str:
    """The previous scheme kept most partitions under the logical key itself."""
    return logical


def slack_legacy_key(logical: str) -> str:
    """Slack's references (`ref#<id>`) and parts (`parts#<id>`) shared `group#<id>` with PagerDuty."""
    for prefix in ("ref#", "parts#"):
        if logical.startswith(prefix):
            return "group#" + logical[len(prefix) :]
    return logical


LEGACY_KEYS: Mapping[Owner, LegacyKey] = {
    Owner.ENRICH: same_key,
    Owner.SLACK: slack_legacy_key,
    Owner.PAGERDUTY: same_key,
    Owner.REMEDIATE: same_key,
}


def physical_pk(owner: Owner, logical: str) -> str:
    return f"{owner.value}#{logical}"


class OwnedStore:
    """A `StateStore` over `store` confined to `owner`'s partitions, reading the old scheme's items
    while `legacy` is given (the module docstring has the rules)."""

    def __init__(self, store: StateStore, owner: Owner, *, legacy: LegacyKey | None = None) -> None:
        self._store = store
        self.owner = owner
        self._legacy = legacy

    @classmethod
    def of(cls, store: StateStore, owner: Owner, *, read_legacy: bool) -> OwnedStore:
        return cls(store, owner, legacy=LEGACY_KEYS[owner] if read_legacy else None)

    # --- protocol ------------------------------------------------------------------------------

    def get(self, *, pk: str, sk: str) -> Item | None:
        item = self._store.get(pk=self._pk(pk), sk=sk)
        if item is None:
            item = self._old(pk, sk)
        return None if item is None else self._logical(item, pk)

    def create(
        self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int, version: int = 1
    ) -> Item:
        old = self._old(pk, sk)
        if old is not None:
            # Taken: by the owner's item if there is one (it hides the old), else by the old item.
            current = self._store.get(pk=self._pk(pk), sk=sk) or old
            raise StateConflict(pk, sk, self._logical(current, pk))
        try:
            item = self._store.create(
                pk=self._pk(pk), sk=sk, data=data, ttl_seconds=ttl_seconds, version=version
            )
        except StateConflict as exc:
            raise StateConflict(pk, sk, self._maybe_logical(exc.current, pk)) from exc
        return self._logical(item, pk)

    def replace(
        self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int, expected_version: int
    ) -> Item:
        new_pk = self._pk(pk)
        try:
            item = self._store.replace(
                pk=new_pk, sk=sk, data=data, ttl_seconds=ttl_seconds, expected_version=expected_version
            )
        except StateConflict as exc:
            # Only when the owner's partition has no live item can the old scheme's be the one meant.
            old = self._old(pk, sk) if exc.current is None else None
            if old is None or old.version != expected_version:
                raise StateConflict(pk, sk, self._maybe_logical(exc.current or old, pk)) from exc
            # The old item moves to the owner's partition: this write is its next version.
            try:
                item = self._store.create(
                    pk=new_pk, sk=sk, data=data, ttl_seconds=ttl_seconds, version=expected_version + 1
                )
            except StateConflict as lost:
                raise StateConflict(pk, sk, self._maybe_logical(lost.current, pk)) from lost
        return self._logical(item, pk)

    def put(self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int) -> Item:
        item = self._store.put(pk=self._pk(pk), sk=sk, data=data, ttl_seconds=ttl_seconds)
        return self._logical(item, pk)

    def delete(self, *, pk: str, sk: str, expected_version: int | None = None) -> None:
        try:
            self._store.delete(pk=self._pk(pk), sk=sk, expected_version=expected_version)
        except StateConflict as exc:
            raise StateConflict(pk, sk, self._maybe_logical(exc.current, pk)) from exc

    def query(
        self, *, pk: str, sk_prefix: str = "", limit: int = 100, newest_first: bool = True
    ) -> list[Item]:
        items = {
            i.sk: i
            for i in self._store.query(
                pk=self._pk(pk), sk_prefix=sk_prefix, limit=limit, newest_first=newest_first
            )
        }
        if self._legacy is not None:
            old = self._store.query(
                pk=self._legacy(pk), sk_prefix=sk_prefix, limit=limit, newest_first=newest_first
            )
            for item in old:
                items.setdefault(item.sk, item)
        ordered = sorted(items.values(), key=lambda i: i.sk, reverse=newest_first)
        return [self._logical(i, pk) for i in ordered[:limit]]

    # --- helpers -------------------------------------------------------------------------------

    def _pk(self, logical: str) -> str:
        return physical_pk(self.owner, logical)

    def _old(self, pk: str, sk: str) -> Item | None:
        return None if self._legacy is None else self._store.get(pk=self._legacy(pk), sk=sk)

    @staticmethod
    def _logical(item: Item, pk: str) -> Item:
        return replace(item, pk=pk)

    @staticmethod
    def _maybe_logical(item: Item | None, pk: str) -> Item | None:
        return None if item is None else replace(item, pk=pk)
