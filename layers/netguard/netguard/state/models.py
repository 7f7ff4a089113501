"""What the state table holds: items addressed by a partition and a sort key, with a TTL.

One DynamoDB table serves every function (single-table design). Each function's partitions start with
its owner prefix (`state.owned`); after it, keys by convention: `pk="idem#<function>"`,
`sk=<message id/part>` for idempotency; `pk="ref#<group id>"` / `"parts#<group id>"` for Slack's
message and its parts, `pk="group#<group id>"` for PagerDuty's dedup records; `pk="cluster#<name>"`
with `sk="lock" | "remediation" | "audit#<time>#<id>"` for remediation state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Item:
    pk: str
    sk: str
    data: Mapping[str, Any]
    """JSON-serializable payload."""
    version: int
    """Incremented by every write; conditional writes compare it."""
    expires_at: int
    """Epoch seconds; the item counts as absent from then on (DynamoDB deletes it later)."""
