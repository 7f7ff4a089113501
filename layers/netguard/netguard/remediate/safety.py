"""Safety around every change: modes, the kill switch, the cooldown, the lock, history and audit.

The kill switch is an SSM parameter read through Powertools parameters at every decision (max_age 0),
failing closed when unreadable; the lock and the cooldown live in the state table with conditional
writes, so concurrent or duplicate deliveries make exactly one change; every decision leaves an
audit record and a log line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

from netguard.alerts.ordering import seen_from_json, seen_to_json
from netguard.config.remediate import Mode
from netguard.enriched.models import ActionKind, Outcome, RemediationReport
from netguard.remediate.errors import LockBusy
from netguard.remediate.models import CHANGES, ActionRecord, Decision, History, NodeMemory
from netguard.state import StateConflict, StateStore

log = logging.getLogger(__name__)

Clock = Callable[[], float]
HISTORY_TTL_SECONDS = 180 * 86400
AUDIT_TTL_SECONDS = 400 * 86400


def cluster_pk(cluster: str) -> str:
    return f"cluster#{cluster}"


# --- kill switch ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class KillSwitchState:
    engaged: bool
    reason: str = ""


KILL_SWITCH_MAX_AGE_SECONDS = 0
"""How long a warm container may reuse the kill switch's value: none. The switch is read through
Powertools' SSMProvider once per decision (a handful per invocation, never per alert), so caching
saves almost nothing, while any cache would let an operator's pause miss invocations already warm;
0 makes Powertools skip its cache, so a change applies to the very next decision without a redeploy."""


@dataclass(frozen=True)
class KillSwitchValue:
    """What the kill switch's value says; `problem` is set when it cannot be trusted (then
    everything is paused, and the reason says why)."""

    paused_all: bool
    clusters: frozenset[str] = frozenset()
    problem: str = ""


_ON = frozenset({"on", "true", "paused", "pause", "all", "1", "yes"})
_OFF = frozenset({"", "off", "false", "none", "0", "no"})
_KEYS = frozenset({"all", "clusters"})


def parse_kill_switch(value: str, known: Collection[str]) -> KillSwitchValue:
    """The documented forms only: `on`/`off`, a comma list of configured cluster names, or JSON
    `{"all": bool, "clusters": [names]}`. Anything else (wrong types, unknown keys, names that are not
    configured clusters) pauses everything: a value that parses but means something else must never
    leave a cluster running that the operator meant to pause."""
    text = value.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return _unreadable(f"not valid JSON ({exc.msg})")
        if not isinstance(data, dict):
            return _unreadable("not a JSON object")
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            return _unreadable(f"unknown keys {unknown} (allowed: all, clusters)")
        paused_all = data.get("all", False)
        if not isinstance(paused_all, bool):
            return _unreadable(f'"all" must be true or false, not {type(paused_all).__name__}')
        names = data.get("clusters", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return _unreadable('"clusters" must be a list of cluster names')
        return _named(paused_all, names, known)
    lowered = text.lower()
    if lowered in _ON:
        return KillSwitchValue(True)
    if lowered in _OFF:
        return KillSwitchValue(False)
    return _named(False, [part.strip() for part in text.split(",") if part.strip()], known)


def _named(paused_all: bool, names: Iterable[str], known: Collection[str]) -> KillSwitchValue:
    clusters = frozenset(names)
    strangers = sorted(clusters - set(known))
    if strangers:
        return _unreadable(
            f"names clusters that are not configured: {strangers} (configured: {sorted(known)})"
        )
    return KillSwitchValue(paused_all, clusters)


def _unreadable(problem: str) -> KillSwitchValue:
    return KillSwitchValue(True, frozenset(), problem)


class KillSwitch:
    """The SSM parameter that pauses remediation, for all clusters or some, without a redeploy.

    Value: JSON `{"all": bool, "clusters": ["name", ...]}`, `on`/`off`, or a comma-separated list of
    configured cluster names. A missing parameter pauses nothing; an unreadable one, or a value that
    is not one of those forms, pauses everything (fail closed) and the report says why.
    """

    def __init__(self, ssm: Any, parameter: str, *, clusters: Collection[str]) -> None:
        self._ssm = ssm
        self._provider = SSMProvider(boto3_client=ssm)
        self.parameter = parameter
        self._known = frozenset(clusters)

    def read(self, cluster: str) -> KillSwitchState:
        try:
            value = self._read_value()
        except (ClientError, BotoCoreError, GetParameterError) as exc:
            return KillSwitchState(
                True,
                f"kill switch {self.parameter} could not be read ({_code(exc)});"
                " acting without it would be unsafe",
            )
        parsed = parse_kill_switch(value, self._known)
        if parsed.problem:
            return KillSwitchState(
                True,
                f"kill switch {self.parameter} {parsed.problem}; all clusters paused until it is fixed",
            )
        if parsed.paused_all:
            return KillSwitchState(True, f"kill switch {self.parameter} pauses remediation for all clusters")
        if cluster in parsed.clusters:
            return KillSwitchState(True, f"kill switch {self.parameter} pauses remediation for {cluster}")
        return KillSwitchState(False)

    def set(self, cluster: str | None, *, paused: bool) -> dict[str, Any]:
        """Pause or resume one cluster (or all when `cluster` is None); returns the new value. A value
        that cannot be trusted counts as "all paused": only resuming all clusters clears it."""
        if cluster is not None and cluster not in self._known:
            raise ValueError(f"cluster {cluster!r} is not configured (configured: {sorted(self._known)})")
        try:
            parsed = parse_kill_switch(self._read_value(), self._known)
        except ClientError as exc:
            raise RuntimeError(f"cannot read kill switch {self.parameter}: {_code(exc)}") from exc
        paused_all, clusters = parsed.paused_all, set(parsed.clusters)
        if cluster is None:
            paused_all = paused
            if not paused:
                clusters = set()
        elif paused:
            clusters.add(cluster)
        else:
            clusters.discard(cluster)
        value = {"all": paused_all, "clusters": sorted(clusters)}
        self._ssm.put_parameter(Name=self.parameter, Value=json.dumps(value), Type="String", Overwrite=True)
        return value

    def _read_value(self) -> str:
        try:
            return str(self._provider.get(self.parameter, max_age=KILL_SWITCH_MAX_AGE_SECONDS))
        except GetParameterError as exc:
            # Powertools wraps the boto3 error without `from`; the original is the context.
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ClientError) and _code(cause) == "ParameterNotFound":
                return ""
            if isinstance(cause, (ClientError, BotoCoreError)):
                raise cause from exc
            raise


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "error"))
    return type(exc).__name__


# --- modes and cooldown --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Whether a decision may run now, and how."""

    act: bool
    """True: call the actuator (with `dry_run`)."""
    dry_run: bool
    mode: str
    outcome: Outcome | None = None
    """Set when the verdict already settles the outcome (skipped)."""
    reason: str = ""


def mode_for(
    action: ActionKind, *, coredns: Mode, nodelocal: Mode, spread: Mode = Mode.ENFORCE
) -> Mode | None:
    if action in (ActionKind.SCALE_COREDNS, ActionKind.REVERT_COREDNS):
        return coredns
    if action in (ActionKind.SPREAD_COREDNS, ActionKind.REVERT_SPREAD):
        return spread
    if action in (ActionKind.ENABLE_NODELOCAL, ActionKind.DISABLE_NODELOCAL):
        return nodelocal
    return None


_STRICTNESS = {Mode.ENFORCE: 0, Mode.DRY_RUN: 1, Mode.OFF: 2}


def strictest(*modes: Mode) -> Mode:
    """The most cautious of several modes (off, then dry-run, then enforce): an action that also does
    another action's work (a spread that raises the replica floor) honours both actions' modes."""
    return max(modes, key=_STRICTNESS.__getitem__)


def check(
    decision: Decision, *, mode: Mode | None, history: History, now: float, ignore_cooldown: bool = False
) -> Verdict:
    """The safety verdict for a decision; only changes are subject to modes and the cooldown."""
    if decision.action not in CHANGES or mode is None:
        return Verdict(act=False, dry_run=False, mode="")
    if mode is Mode.OFF:
        return Verdict(
            act=False,
            dry_run=False,
            mode=mode.value,
            outcome=Outcome.SKIPPED,
            reason=f"mode for {decision.action.value} is off: nothing done",
        )
    if not ignore_cooldown and history.cooldown_until > now:
        last = history.last_action
        what = f" after {last.action.value} ({last.decision_id})" if last else ""
        return Verdict(
            act=False,
            dry_run=False,
            mode=mode.value,
            outcome=Outcome.SKIPPED,
            reason=f"cooldown{what} until {_iso(history.cooldown_until)}"
            f" ({int(history.cooldown_until - now)} s left): nothing changed",
        )
    return Verdict(act=True, dry_run=mode is Mode.DRY_RUN, mode=mode.value)


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# --- the lock ------------------------------------------------------------------------------------


class ClusterLock:
    """A lease on `cluster#<name>` / `lock`, taken with a conditional create and released by version.

    A crashed holder's lease expires after `lease_seconds` (expired items count as absent).
    """

    def __init__(
        self,
        store: StateStore,
        cluster: str,
        *,
        owner: str,
        lease_seconds: int = 300,
        wait_seconds: float = 20.0,
        poll_seconds: float = 0.25,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._pk = cluster_pk(cluster)
        self._owner = owner
        self._lease = lease_seconds
        self._wait = wait_seconds
        self._poll = poll_seconds
        self._clock = clock
        self._sleep = sleep
        self._version: int | None = None
        self.waited = False

    def acquire(self) -> None:
        deadline = self._clock() + self._wait
        while True:
            try:
                item = self._store.create(
                    pk=self._pk, sk="lock", data={"owner": self._owner}, ttl_seconds=self._lease
                )
            except StateConflict as exc:
                holder = exc.current.data.get("owner", "?") if exc.current else "?"
                if self._clock() >= deadline:
                    raise LockBusy(f"remediation lock on {self._pk} held by {holder}") from exc
                self.waited = True
                self._sleep(self._poll)
                continue
            self._version = item.version
            return

    def release(self) -> None:
        if self._version is None:
            return
        try:
            self._store.delete(pk=self._pk, sk="lock", expected_version=self._version)
        except StateConflict:
            log.warning("remediation lock on %s expired before release", self._pk)
        finally:
            self._version = None

    def __enter__(self) -> ClusterLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


# --- history -------------------------------------------------------------------------------------


class HistoryStore:
    """`History` to and from `cluster#<name>` / `remediation`, with version checks."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    def load(self, cluster: str) -> History:
        item = self._store.get(pk=cluster_pk(cluster), sk="remediation")
        if item is None:
            return History(cluster=cluster)
        return history_from_dict(cluster, item.data, version=item.version)

    def save(self, history: History) -> History:
        data = history_to_dict(history)
        pk = cluster_pk(history.cluster)
        if history.version == 0:
            item = self._store.create(pk=pk, sk="remediation", data=data, ttl_seconds=HISTORY_TTL_SECONDS)
        else:
            item = self._store.replace(
                pk=pk,
                sk="remediation",
                data=data,
                ttl_seconds=HISTORY_TTL_SECONDS,
                expected_version=history.version,
            )
        return history_from_dict(history.cluster, item.data, version=item.version)


def history_to_dict(history: History) -> dict[str, Any]:
    return {
        "last_action": _record_to_dict(history.last_action),
        "last_scale": _record_to_dict(history.last_scale),
        "cooldown_until": history.cooldown_until,
        "original_coredns": None if history.original_coredns is None else dict(history.original_coredns),
        "nodelocal_enabled_by_netguard": history.nodelocal_enabled_by_netguard,
        "verification_attempts": history.verification_attempts,
        "resolved_at": history.resolved_at,
        "group_id": history.group_id,
        "alertname": history.alertname,
        "follow_up_id": history.follow_up_id,
        "follow_up_due": history.follow_up_due,
        "original_spread": None if history.original_spread is None else dict(history.original_spread),
        "steps": history.steps,
        "spread_pending": history.spread_pending,
        "seen": seen_to_json(history.seen),
        "stale_events": history.stale_events,
        "floor_set_by_netguard": history.floor_set_by_netguard,
        "nodes": {
            node: {
                "firing": m.firing,
                "since": m.since,
                "updated_at": m.updated_at,
                "drop_rate": m.drop_rate,
                "instance": m.instance,
                "bypass_pods": list(m.bypass_pods),
                "untimed": m.untimed,
            }
            for node, m in history.nodes.items()
        },
    }


def _record_to_dict(record: ActionRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "action": record.action.value,
        "decision_id": record.decision_id,
        "at": record.at,
        "mode": record.mode,
        "applied": record.applied,
        "drop_rate_before": record.drop_rate_before,
        "replicas_before": record.replicas_before,
        "replicas_after": record.replicas_after,
    }


def _record_from_dict(data: Mapping[str, Any] | None) -> ActionRecord | None:
    if not data:
        return None
    return ActionRecord(
        action=ActionKind(data["action"]),
        decision_id=data["decision_id"],
        at=float(data["at"]),
        mode=data.get("mode", ""),
        applied=bool(data.get("applied")),
        drop_rate_before=data.get("drop_rate_before"),
        replicas_before=data.get("replicas_before"),
        replicas_after=data.get("replicas_after"),
    )


def history_from_dict(cluster: str, data: Mapping[str, Any], *, version: int) -> History:
    return History(
        cluster=cluster,
        last_action=_record_from_dict(data.get("last_action")),
        last_scale=_record_from_dict(data.get("last_scale")),
        cooldown_until=float(data.get("cooldown_until") or 0.0),
        original_coredns=data.get("original_coredns"),
        nodelocal_enabled_by_netguard=bool(data.get("nodelocal_enabled_by_netguard")),
        verification_attempts=int(data.get("verification_attempts") or 0),
        resolved_at=data.get("resolved_at"),
        group_id=data.get("group_id", ""),
        alertname=data.get("alertname", ""),
        nodes={
            node: NodeMemory(
                firing=bool(m["firing"]),
                since=m.get("since"),
                updated_at=float(m["updated_at"]),
                drop_rate=m.get("drop_rate"),
                instance=m.get("instance", ""),
                bypass_pods=tuple(m.get("bypass_pods") or ()),
                untimed=bool(m.get("untimed")),
            )
            for node, m in (data.get("nodes") or {}).items()
        },
        follow_up_id=data.get("follow_up_id", ""),
        follow_up_due=float(data.get("follow_up_due") or 0.0),
        original_spread=data.get("original_spread"),
        steps=int(data.get("steps") or 0),
        spread_pending=bool(data.get("spread_pending")),
        seen=seen_from_json(data.get("seen")),
        stale_events=int(data.get("stale_events") or 0),
        floor_set_by_netguard=None
        if data.get("floor_set_by_netguard") is None
        else int(data["floor_set_by_netguard"]),
        version=version,
    )


# --- audit ---------------------------------------------------------------------------------------


class AuditLog:
    """One record per decision, in the state table (`audit#<time>#<id>`) and as a structured log line."""

    def __init__(self, store: StateStore, *, logger: logging.Logger | Any = log) -> None:
        self._store = store
        self._log = logger

    def record(
        self, report: RemediationReport, *, source: str, extra: Mapping[str, Any] | None = None
    ) -> None:
        data = {
            "decision_id": report.decision_id,
            "cluster": report.cluster,
            "action": report.action.value,
            "outcome": report.outcome.value,
            "mode": report.mode,
            "reasons": list(report.reasons),
            "before": dict(report.before),
            "after": dict(report.after),
            "group_id": report.group_id,
            "at": report.at,
            "follow_up": report.follow_up,
            "source": source,
            **(extra or {}),
        }
        self._log.info("remediation decision", extra={"audit": data})
        self._store.put(
            pk=cluster_pk(report.cluster),
            sk=f"audit#{report.at}#{report.decision_id}",
            data=data,
            ttl_seconds=AUDIT_TTL_SECONDS,
        )

    def recent(self, cluster: str, *, limit: int = 10) -> list[Mapping[str, Any]]:
        return [i.data for i in self._store.query(pk=cluster_pk(cluster), sk_prefix="audit#", limit=limit)]
