"""The one shape every owner of CoreDNS's replica floor shares: read -> snapshot -> compare -> write,
and a write whose answer was lost is read back before it counts as failed.

`coredns.py` (Deployment, HPA, cluster-proportional-autoscaler) and `addon.py` (the EKS add-on)
implement only their few steps: how to read the object, what its snapshot and floor are, what to
write for a raise or a restore, and how to write it (each write reads back after a lost answer, so
Lambda's retry never raises the floor a second step).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

from netguard.remediate.actuators.errors import ActuatorError
from netguard.remediate.actuators.models import ChangeResult, FloorOwner, ReplicaFloor

Obj = TypeVar("Obj")
"""What the owner reads (a Kubernetes object, an add-on description)."""
Want = TypeVar("Want")
"""What the owner writes (a replica count, an HPA spec, autoscaler parameters, add-on values)."""


def check_target(target: int) -> None:
    if isinstance(target, bool) or not isinstance(target, int) or target < 1:
        raise ActuatorError(f"replica floor must be a positive integer, got {target!r}")


def check_owner(original: Mapping[str, Any], owner: FloorOwner) -> None:
    if original.get("owner") != owner:
        raise ActuatorError(
            f"the recorded values belong to owner {original.get('owner')!r}, but CoreDNS's replica count "
            f"is now owned by {owner.value!r}; restore it by hand"
        )


class FloorActuator(ABC, Generic[Obj, Want]):
    """`raise_floor` and `restore` written once over an owner's read, snapshot, want and write."""

    owner: ClassVar[FloorOwner]
    raised_words: ClassVar[tuple[str, str]] = ("raised", "would raise")
    """How a raise is told, done and in dry-run."""
    _what: str

    # --- the steps each owner implements ----------------------------------------------------------

    @abstractmethod
    def _get(self) -> Obj:
        """Read the owner's object (errors become actuator errors)."""

    @abstractmethod
    def _snapshot(self, obj: Obj) -> dict[str, Any]:
        """Plain data of the object, with `owner` and `floor`; recorded as `before` for restore."""

    @abstractmethod
    def _raising(self, before: Mapping[str, Any], target: int) -> Want:
        """What to write so the floor becomes `target` (known to be above the current floor)."""

    @abstractmethod
    def _restoring(self, before: Mapping[str, Any], original: Mapping[str, Any]) -> Want | None:
        """What to write to put `original` back; None when the object already holds it."""

    @abstractmethod
    def _write(self, obj: Obj, want: Want, *, dry_run: bool) -> dict[str, Any]:
        """Write conditionally, reading back when the answer is lost; the snapshot after."""

    @abstractmethod
    def read(self) -> ReplicaFloor: ...

    # --- words (owners may say it their way) -------------------------------------------------------

    def _already(self, before: Mapping[str, Any], target: int) -> str:
        return f"{self._what} already keeps at least {before['floor']} replicas (>= {target})"

    def _already_restored(self, want: Any) -> str:
        return f"{self._what} already has the recorded values"

    def _raised(self, before: Mapping[str, Any], after: Mapping[str, Any], target: int) -> str:
        return f"the floor of {self._what} from {before['floor']} to {after['floor']}"

    def _restored(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
        return f"the floor of {self._what} to {after['floor']}"

    # --- the shape, once ---------------------------------------------------------------------------

    def raise_floor(self, target: int, *, dry_run: bool) -> ChangeResult:
        check_target(target)
        obj = self._get()
        before = self._snapshot(obj)
        if before["floor"] >= target:
            return ChangeResult(False, dry_run, before, before, self._already(before, target))
        after = self._write(obj, self._raising(before, target), dry_run=dry_run)
        done, would = self.raised_words
        return ChangeResult.made(
            before, after, dry_run=dry_run, done=done, would=would, detail=self._raised(before, after, target)
        )

    def restore(self, original: Mapping[str, Any], *, dry_run: bool) -> ChangeResult:
        check_owner(original, self.owner)
        obj = self._get()
        before = self._snapshot(obj)
        want = self._restoring(before, original)
        if want is None:
            return ChangeResult(False, dry_run, before, before, self._already_restored(original))
        after = self._write(obj, want, dry_run=dry_run)
        return ChangeResult.made(
            before,
            after,
            dry_run=dry_run,
            done="restored",
            would="would restore",
            detail=self._restored(before, after),
        )
