"""Errors of the state store."""

from __future__ import annotations

from netguard.errors import NetguardError, PermanentError, RetryableError
from netguard.state.models import Item


class StateConflict(NetguardError):
    """A conditional write lost: someone else wrote first. Carries what is there now, if known."""

    def __init__(self, pk: str, sk: str, current: Item | None) -> None:
        super().__init__(
            f"conditional write to {pk}/{sk} lost (version now {current.version if current else 'unknown'})"
        )
        self.pk = pk
        self.sk = sk
        self.current = current


class StateUnavailable(RetryableError):
    """The table could not be reached or throttled us."""


class PayloadMismatch(PermanentError):
    """An idempotency key arrived again with a different payload (Powertools payload validation)."""


class OnceUnavailable(StateUnavailable):
    """The table failed around a once-only action; `started` / `ran`: whether the action had begun
    and whether it had completed."""

    def __init__(self, message: str, *, started: bool, ran: bool) -> None:
        super().__init__(message)
        self.started = started
        self.ran = ran
