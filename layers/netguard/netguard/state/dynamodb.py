"""The `StateStore` on one DynamoDB table: `pk` (S) and `sk` (S) keys, TTL attribute `expires_at`.

The payload is stored as a JSON string (`data`), which keeps numbers exact without Decimal juggling
and keeps one item's shape independent of what the payload holds. DynamoDB deletes expired items
lazily, so every read and every condition treats `expires_at <= now` as absent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from netguard.state.errors import StateConflict, StateUnavailable
from netguard.state.models import Item
from netguard.state.store import Clock

_ABSENT_OR_EXPIRED = "attribute_not_exists(pk) OR expires_at <= :now"


class DynamoStore:
    def __init__(self, client: Any, table_name: str, *, clock: Clock = time.time) -> None:
        self._ddb = client
        self._table = table_name
        self._clock = clock

    # --- protocol ------------------------------------------------------------------------------

    def get(self, *, pk: str, sk: str) -> Item | None:
        response = self._call("get_item", TableName=self._table, Key=_key(pk, sk), ConsistentRead=True)
        item = _from_dynamo(response.get("Item"))
        if item is None or item.expires_at <= self._clock():
            return None
        return item

    def create(
        self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int, version: int = 1
    ) -> Item:
        item = self._item(pk, sk, data, ttl_seconds, version=version)
        self._conditional_put(item, _ABSENT_OR_EXPIRED, {":now": _n(int(self._clock()))})
        return item

    def replace(
        self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int, expected_version: int
    ) -> Item:
        item = self._item(pk, sk, data, ttl_seconds, version=expected_version + 1)
        self._conditional_put(
            item,
            "version = :expected AND expires_at > :now",
            {":expected": _n(expected_version), ":now": _n(int(self._clock()))},
        )
        return item

    def put(self, *, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int) -> Item:
        current = self.get(pk=pk, sk=sk)
        item = self._item(pk, sk, data, ttl_seconds, version=(current.version + 1) if current else 1)
        self._call("put_item", TableName=self._table, Item=_to_dynamo(item))
        return item

    def delete(self, *, pk: str, sk: str, expected_version: int | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self._table, "Key": _key(pk, sk)}
        if expected_version is not None:
            kwargs["ConditionExpression"] = "version = :expected"
            kwargs["ExpressionAttributeValues"] = {":expected": _n(expected_version)}
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        self._call("delete_item", **kwargs, _conflict_key=(pk, sk))

    def query(
        self, *, pk: str, sk_prefix: str = "", limit: int = 100, newest_first: bool = True
    ) -> list[Item]:
        condition = "pk = :pk"
        values: dict[str, Any] = {":pk": {"S": pk}, ":now": _n(int(self._clock()))}
        if sk_prefix:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = {"S": sk_prefix}
        items: list[Item] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "FilterExpression": "expires_at > :now",
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        while len(items) < limit:
            response = self._call("query", **kwargs)
            items.extend(i for i in (_from_dynamo(raw) for raw in response.get("Items", [])) if i is not None)
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return items[:limit]

    # --- helpers -------------------------------------------------------------------------------

    def _item(self, pk: str, sk: str, data: Mapping[str, Any], ttl_seconds: int, *, version: int) -> Item:
        return Item(
            pk=pk, sk=sk, data=dict(data), version=version, expires_at=int(self._clock()) + ttl_seconds
        )

    def _conditional_put(self, item: Item, condition: str, values: dict[str, Any]) -> None:
        self._call(
            "put_item",
            TableName=self._table,
            Item=_to_dynamo(item),
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            _conflict_key=(item.pk, item.sk),
        )

    def _call(self, operation: str, _conflict_key: tuple[str, str] | None = None, **kwargs: Any) -> Any:
        try:
            return getattr(self._ddb, operation)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException" and _conflict_key is not None:
                current = _from_dynamo(exc.response.get("Item"))  # type: ignore[arg-type]
                if current is not None and current.expires_at <= self._clock():
                    current = None
                raise StateConflict(*_conflict_key, current) from exc
            raise StateUnavailable(f"DynamoDB {operation} on {self._table} failed: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StateUnavailable(f"DynamoDB {operation} on {self._table} failed: {exc}") from exc


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _to_dynamo(item: Item) -> dict[str, Any]:
    return {
        **_key(item.pk, item.sk),
        "data": {"S": json.dumps(item.data, separators=(",", ":"), default=str)},
        "version": _n(item.version),
        "expires_at": _n(item.expires_at),
    }


def _from_dynamo(raw: Mapping[str, Any] | None) -> Item | None:
    if not raw or "pk" not in raw:
        return None
    return Item(
        pk=raw["pk"]["S"],
        sk=raw["sk"]["S"],
        data=json.loads(raw["data"]["S"]),
        version=int(raw["version"]["N"]),
        expires_at=int(raw["expires_at"]["N"]),
    )
