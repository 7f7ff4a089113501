"""Lambda's delivery of one event to a handler, as the async invoke path does it: the first
invocation plus up to two retries; an event that still fails goes to the failure destination."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netguard_cli.commands.invoke import invoke

LAMBDA_ATTEMPTS = 3
"""EventInvokeConfig.MaximumRetryAttempts (2) + the first invocation."""


@dataclass
class Delivery:
    deliveries: int = 0
    results: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    kept: bool = False
    """Every attempt failed: Lambda would send the event to FailureQueue (kept, not lost)."""


def deliver(
    function: str,
    event: dict[str, Any],
    *,
    between: Callable[[int], None] | None = None,
    attempts: int = LAMBDA_ATTEMPTS,
) -> Delivery:
    """Invoke `function` until it returns; `between(n)` runs before retry n (to lift or change a fault)."""
    outcome = Delivery()
    for attempt in range(attempts):
        if attempt and between is not None:
            between(attempt)
        outcome.deliveries += 1
        try:
            outcome.results.append(invoke(function, event))
        except Exception as exc:  # noqa: BLE001 -- any escape is what Lambda would retry
            outcome.errors.append(f"{type(exc).__name__}: {exc}")
            continue
        return outcome
    outcome.kept = True
    return outcome
