"""The remediation orchestrator: event -> observe -> gate -> decide -> safety -> act -> audit -> publish.

Called by `functions/remediate` (enriched events from SNS, delayed follow-ups from SQS) and by
`netguard remediation` (operator commands), so both share one code path and one audit trail.
Every decision, "no action because ..." included, is published back to the enriched topic.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from netguard.alerts.models import AllowanceKind
from netguard.config.clusters import ClusterConfig
from netguard.config.errors import UnknownCluster
from netguard.config.remediate import SQS_MAX_DELAY_SECONDS, Mode, Settings
from netguard.enriched import (
    ActionKind,
    EnrichedEvent,
    EventType,
    Outcome,
    RemediationReport,
    event_to_json,
    message_attributes,
)
from netguard.errors import NetguardError, RetryableError
from netguard.remediate import gate, policy
from netguard.remediate.cluster import ClusterHandle, Connector
from netguard.remediate.errors import BadFollowUp
from netguard.remediate.models import (
    CHANGES,
    ActionRecord,
    Decision,
    DisableNodeLocal,
    DropStatus,
    EnableNodeLocal,
    Escalate,
    History,
    NoAction,
    Observation,
    RevertCoreDns,
    ScaleCoreDns,
)
from netguard.remediate.safety import (
    AuditLog,
    ClusterLock,
    HistoryStore,
    KillSwitch,
    Verdict,
    check,
    cluster_pk,
    mode_for,
)
from netguard.state import Once, OnceOutcome, OnceUnavailable, StateStore

log = logging.getLogger(__name__)

FOLLOW_UP_KIND = "netguard.remediate.followup/v1"
IDEMPOTENCY_PK = "idem#remediate"
IDEMPOTENCY_TTL_SECONDS = 2 * 86400
IN_PROGRESS_SECONDS = 150.0
"""How long a delivery being handled blocks a duplicate: the function's 120 s timeout plus a margin,
so the retry of an invocation that crashed or timed out is not locked out for the whole TTL."""
_LOST_FOLLOW_UP_GRACE = 120.0


class Trigger(StrEnum):
    ALERT = "alert"
    FOLLOW_UP = "follow_up"
    OPERATOR = "operator"


@dataclass(frozen=True)
class FollowUp:
    """A delayed SQS message that re-invokes the function to verify (chained past SQS's 900 s)."""

    cluster: str
    follow_up_id: str
    due_at: float
    group_id: str = ""

    def to_json(self) -> str:
        return json.dumps({"kind": FOLLOW_UP_KIND, **dataclasses.asdict(self)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> FollowUp:
        try:
            data = json.loads(text)
            if data.get("kind") != FOLLOW_UP_KIND:
                raise BadFollowUp(f"not a netguard follow-up (kind {data.get('kind')!r})")
            return cls(
                cluster=str(data["cluster"]),
                follow_up_id=str(data["follow_up_id"]),
                due_at=float(data["due_at"]),
                group_id=str(data.get("group_id", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BadFollowUp(f"malformed follow-up message: {exc!r}") from exc


class Publisher(Protocol):
    def publish(self, event: EnrichedEvent) -> None: ...


class FollowUpSender(Protocol):
    def send(self, message: FollowUp, *, delay_seconds: int) -> None: ...


class SnsPublisher:
    def __init__(self, sns: Any, topic_arn: str) -> None:
        self._sns = sns
        self._topic = topic_arn

    def publish(self, event: EnrichedEvent) -> None:
        self._sns.publish(
            TopicArn=self._topic, Message=event_to_json(event), MessageAttributes=message_attributes(event)
        )


class SqsFollowUps:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def send(self, message: FollowUp, *, delay_seconds: int) -> None:
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=message.to_json(),
            DelaySeconds=max(0, min(SQS_MAX_DELAY_SECONDS, delay_seconds)),
        )


@dataclass(frozen=True)
class Handled:
    """What one invocation decided and reported."""

    report: RemediationReport
    follow_up: FollowUp | None = None


OperatorCommand = Callable[[ClusterHandle, History], Decision]


@dataclass(frozen=True)
class _Applied:
    outcome: Outcome
    reasons: tuple[str, ...]
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    result_before: Mapping[str, Any] | None = None
    error: NetguardError | None = None


class RemediationService:
    def __init__(
        self,
        settings: Settings,
        *,
        store: StateStore,
        publisher: Publisher,
        followups: FollowUpSender,
        kill_switch: KillSwitch,
        connect: Connector,
        fresh: gate.FreshRates | None = None,
        clock: Callable[[], float] = time.time,
        audit_logger: Any | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._publisher = publisher
        self._followups = followups
        self._kill_switch = kill_switch
        self._connect = connect
        self._fresh = fresh
        self._clock = clock
        self._histories = HistoryStore(store)
        self._audit = AuditLog(store, logger=audit_logger or log)
        # Powertools idempotency per event id; the same id must describe the same group and status.
        self._events = Once(
            store,
            IDEMPOTENCY_PK,
            ttl_seconds=IDEMPOTENCY_TTL_SECONDS,
            in_progress_seconds=lambda: IN_PROGRESS_SECONDS,
            validate="[group_id, status]",
        )

    # --- entry points ----------------------------------------------------------------------------

    def on_event(self, event: EnrichedEvent) -> Handled | None:
        """An enriched event from the topic; None when it is not for remediation or a duplicate."""
        if event.event_type is not EventType.ALERT_GROUP:
            log.info("ignoring %s event %s", event.event_type.value, event.event_id)
            return None
        if not any(a.alert.allowance is AllowanceKind.LINKLOCAL for a in event.alerts):
            log.info("event %s carries no linklocal alert; not for remediation", event.event_id)
            return None
        try:
            config = self._settings.cluster(event.cluster)
        except UnknownCluster as exc:
            decision = NoAction((f"no remediation: {exc}",))
            return Handled(
                self._report_only(
                    event.cluster or "unknown",
                    decision,
                    Outcome.SKIPPED,
                    group_id=event.group_id,
                    event=event,
                    source=Trigger.ALERT,
                )
            )
        handled: list[Handled | None] = []
        try:
            # An exception deletes the record, so Lambda's retry runs the event again.
            outcome = self._events.run(
                event.event_id,
                lambda: handled.append(
                    self._process(config, Trigger.ALERT, event=event, group_id=event.group_id)
                ),
                payload={"group_id": event.group_id, "status": event.status or ""},
            )
        except OnceUnavailable as exc:
            if not exc.ran:
                raise  # retryable: nothing was done
            log.warning("event %s handled, but its idempotency record was not written", event.event_id)
            return handled[0]
        if outcome is not OnceOutcome.RAN:
            # A concurrent duplicate is dropped too (as before): the delivery in flight completes it,
            # or fails and is retried by Lambda once its in-progress window has passed.
            log.info("event %s already handled or in flight (%s)", event.event_id, outcome.value)
            return None
        return handled[0]

    def on_follow_up(self, message: FollowUp) -> Handled | None:
        """A delayed verification; re-queued when not yet due, dropped when superseded."""
        now = self._clock()
        if message.due_at - now > 1:
            delay = int(min(SQS_MAX_DELAY_SECONDS, message.due_at - now))
            self._followups.send(message, delay_seconds=delay)
            log.info(
                "follow-up %s not due for %d s; re-queued", message.follow_up_id, int(message.due_at - now)
            )
            return None
        config = self._settings.cluster(message.cluster)
        return self._process(config, Trigger.FOLLOW_UP, follow_up=message, group_id=message.group_id)

    def operator(
        self, cluster: str, command: OperatorCommand, *, dry_run: bool = False, by: str = ""
    ) -> Handled | None:
        """An operator's command through the same path: lock, audit, publish (kill switch and modes
        do not apply: a person decided)."""
        config = self._settings.cluster(cluster)
        return self._process(config, Trigger.OPERATOR, command=command, dry_run=dry_run, by=by)

    def record_operator_note(self, cluster: str, reason: str, *, by: str = "") -> RemediationReport:
        """Audit and publish an operator action that is not a cluster change (pause, resume)."""
        return self._report_only(
            cluster,
            NoAction((reason,)),
            Outcome.APPLIED,
            group_id="",
            event=None,
            source=Trigger.OPERATOR,
            extra={"by": by} if by else None,
        )

    def history(self, cluster: str) -> History:
        return self._histories.load(cluster)

    @property
    def kill_switch(self) -> KillSwitch:
        return self._kill_switch

    @property
    def settings(self) -> Settings:
        return self._settings

    def connect(self, cluster: str) -> ClusterHandle:
        """A read-only look at the cluster (no lock; for `netguard remediation status`)."""
        return self._connect(self._settings.cluster(cluster), self._clock())

    def lock_holder(self, cluster: str) -> str | None:
        item = self._store.get(pk=cluster_pk(cluster), sk="lock")
        return None if item is None else str(item.data.get("owner", "?"))

    def audit_records(self, cluster: str, *, limit: int = 10) -> list[Mapping[str, Any]]:
        return self._audit.recent(cluster, limit=limit)

    # --- the pipeline ----------------------------------------------------------------------------

    def _process(
        self,
        config: ClusterConfig,
        trigger: Trigger,
        *,
        event: EnrichedEvent | None = None,
        follow_up: FollowUp | None = None,
        group_id: str = "",
        command: OperatorCommand | None = None,
        dry_run: bool = False,
        by: str = "",
    ) -> Handled | None:
        settings = self._settings
        decision_id = str(uuid.uuid4())
        if trigger is not Trigger.OPERATOR:
            switch = self._kill_switch.read(config.name)  # every invocation, so no redeploy is needed
            if switch.engaged:
                paused = NoAction((f"{switch.reason}: nothing observed or changed",))
                return Handled(
                    self._report_only(
                        config.name, paused, Outcome.SKIPPED, group_id=group_id, event=event, source=trigger
                    )
                )

        with ClusterLock(
            self._store, config.name, owner=decision_id, wait_seconds=settings.lock_wait_seconds
        ):
            now = self._clock()
            history = self._histories.load(config.name)
            if follow_up is not None and follow_up.follow_up_id != history.follow_up_id:
                log.info("follow-up %s superseded by %r", follow_up.follow_up_id, history.follow_up_id)
                return None
            if event is not None:
                history = self._remember(history, event, now)
            group_id = group_id or history.group_id

            try:
                handle = self._connect(config, now)
            except Exception as exc:  # noqa: BLE001 - any failure to look is reported, never swallowed
                return self._unobservable(
                    config,
                    trigger,
                    history,
                    exc,
                    decision_id=decision_id,
                    now=now,
                    group_id=group_id,
                    event=event,
                )

            observations = gate.observe(
                history.nodes,
                now=now,
                persistence_seconds=settings.persistence_seconds,
                fresh=self._fresh_rates(history),
            )
            decision: Decision
            if command is not None:
                decision = command(handle, history)
                mode: Mode | None = Mode.DRY_RUN if dry_run else Mode.ENFORCE
            else:
                decision = policy.decide(handle.state, observations, history, settings.policy)
                mode = mode_for(
                    decision.action, coredns=settings.coredns_mode, nodelocal=settings.nodelocal_mode
                )
            verdict = check(
                decision, mode=mode, history=history, now=now, ignore_cooldown=trigger is Trigger.OPERATOR
            )
            applied = self._apply(decision, verdict, handle)
            history = self._next_history(
                history,
                decision,
                applied=applied,
                handle=handle,
                observations=observations,
                trigger=trigger,
                decision_id=decision_id,
                mode=verdict.mode,
                now=now,
            )
            due, follow_text = self._plan(
                decision,
                applied,
                verdict=verdict,
                observations=observations,
                history=history,
                trigger=trigger,
                now=now,
            )
            message = None
            if due is not None:
                message = FollowUp(
                    cluster=config.name, follow_up_id=str(uuid.uuid4()), due_at=due, group_id=group_id
                )
                history = dataclasses.replace(history, follow_up_id=message.follow_up_id, follow_up_due=due)
            elif trigger is Trigger.FOLLOW_UP and not isinstance(applied.error, RetryableError):
                # the chain ends here; a retried (redelivered) follow-up must stay current
                history = dataclasses.replace(history, follow_up_id="", follow_up_due=0.0)
            self._histories.save(history)

        report = RemediationReport(
            decision_id=decision_id,
            cluster=config.name,
            action=decision.action,
            outcome=applied.outcome,
            mode=verdict.mode,
            reasons=applied.reasons,
            before=applied.before,
            after=applied.after,
            group_id=group_id,
            at=_iso(now),
            follow_up=follow_text,
        )
        extra: dict[str, Any] = {"observations": [_observation_dict(o) for o in observations]}
        if by:
            extra["by"] = by
        self._audit.record(report, source=trigger.value, extra=extra)
        self._publish(report, event=event, observations=observations)
        if message is not None:
            self._send_follow_up(message, now=now)
        if applied.error is not None and isinstance(applied.error, RetryableError):
            raise applied.error
        return Handled(report, message)

    def _remember(self, history: History, event: EnrichedEvent, now: float) -> History:
        update = gate.memory_from_alerts(event.alerts, now=now, rule_for=self._settings.persisting_rules)
        retention = max(86400.0, 2.0 * self._settings.quiet_seconds_before_revert)
        nodes = gate.merge_memory(history.nodes, update, now=now, retention_seconds=retention)
        return dataclasses.replace(
            history,
            nodes=nodes,
            group_id=event.group_id or history.group_id,
            alertname=event.alertname or history.alertname,
        )

    def _fresh_rates(self, history: History) -> Mapping[str, float | None] | None:
        if self._fresh is None or not history.nodes:
            return None
        return self._fresh({node: m.instance for node, m in history.nodes.items()})

    def _apply(self, decision: Decision, verdict: Verdict, handle: ClusterHandle) -> _Applied:
        state = _state_summary(handle)
        if not verdict.act:
            if verdict.outcome is not None:
                return _Applied(verdict.outcome, (verdict.reason, *_would_have(decision)), state, state)
            if isinstance(decision, Escalate):
                outcome = Outcome.REFUSED if decision.refused is not None else Outcome.APPLIED
                return _Applied(outcome, decision.reasons, state, state)
            return _Applied(Outcome.SKIPPED, decision.reasons, state, state)
        try:
            if isinstance(decision, ScaleCoreDns):
                result = handle.coredns.raise_floor(decision.target, dry_run=verdict.dry_run)
            elif isinstance(decision, RevertCoreDns):
                result = handle.coredns.restore(decision.original, dry_run=verdict.dry_run)
            elif isinstance(decision, EnableNodeLocal):
                result = handle.nodelocal.enable(handle.dns, dry_run=verdict.dry_run)
            elif isinstance(decision, DisableNodeLocal):
                result = handle.nodelocal.disable(dry_run=verdict.dry_run)
            else:  # pragma: no cover - CHANGES lists exactly the four above
                raise AssertionError(f"no actuator for {decision.action}")
        except NetguardError as exc:
            retry = "; Lambda will retry" if isinstance(exc, RetryableError) else "; handing over to on-call"
            return _Applied(
                Outcome.FAILED,
                (f"{decision.action.value} failed: {exc}{retry}", *decision.reasons),
                state,
                state,
                error=exc,
            )
        if verdict.dry_run:
            variable = (
                "COREDNS_MODE"
                if decision.action in (ActionKind.SCALE_COREDNS, ActionKind.REVERT_COREDNS)
                else "NODELOCAL_MODE"
            )
            return _Applied(
                Outcome.DRY_RUN,
                (f"dry-run ({variable}=dry-run), nothing changed: {result.description}", *decision.reasons),
                dict(result.before),
                dict(result.after),
                dict(result.before),
            )
        if not result.applied:
            return _Applied(
                Outcome.SKIPPED,
                (f"nothing to change: {result.description}", *decision.reasons),
                dict(result.before),
                dict(result.after),
                dict(result.before),
            )
        return _Applied(
            Outcome.APPLIED,
            (result.description, *decision.reasons),
            dict(result.before),
            dict(result.after),
            dict(result.before),
        )

    def _next_history(
        self,
        history: History,
        decision: Decision,
        *,
        applied: _Applied,
        handle: ClusterHandle,
        observations: Sequence[Observation],
        trigger: Trigger,
        decision_id: str,
        mode: str,
        now: float,
    ) -> History:
        statuses = {o.status for o in observations}
        resolved_at = history.resolved_at
        if statuses & {DropStatus.PERSISTING, DropStatus.TRANSIENT}:
            resolved_at = None
        elif observations and statuses == {DropStatus.RECOVERED}:
            resolved_at = history.resolved_at if history.resolved_at is not None else now
        history = dataclasses.replace(history, resolved_at=resolved_at)

        acted = applied.outcome in (Outcome.APPLIED, Outcome.DRY_RUN) and decision.action in CHANGES
        if acted:
            done = applied.outcome is Outcome.APPLIED
            record = ActionRecord(
                action=decision.action,
                decision_id=decision_id,
                at=now,
                mode=mode,
                applied=done,
                drop_rate_before=policy.coredns_drop_rate(handle.state, observations),
                replicas_before=handle.state.coredns_current,
                replicas_after=decision.target if isinstance(decision, ScaleCoreDns) else None,
            )
            original = history.original_coredns
            nodelocal_ours = history.nodelocal_enabled_by_netguard
            if done and isinstance(decision, ScaleCoreDns) and original is None:
                original = applied.result_before
            elif done and isinstance(decision, RevertCoreDns):
                original = None
            elif done and isinstance(decision, EnableNodeLocal):
                nodelocal_ours = True
            elif done and isinstance(decision, DisableNodeLocal):
                nodelocal_ours = False
            last_scale = record if done and isinstance(decision, ScaleCoreDns) else history.last_scale
            # A dry-run changes nothing, so it does not restart the count of checks (the chain stays bounded).
            attempts = (
                0 if done else history.verification_attempts + (1 if trigger is Trigger.FOLLOW_UP else 0)
            )
            return dataclasses.replace(
                history,
                last_action=record,
                last_scale=last_scale,
                cooldown_until=now + self._settings.cooldown_seconds,
                verification_attempts=attempts,
                original_coredns=original,
                nodelocal_enabled_by_netguard=nodelocal_ours,
            )
        if applied.outcome is Outcome.FAILED and not isinstance(applied.error, RetryableError):
            history = dataclasses.replace(history, cooldown_until=now + self._settings.cooldown_seconds)
        if trigger is Trigger.FOLLOW_UP:
            history = dataclasses.replace(history, verification_attempts=history.verification_attempts + 1)
        return history

    def _plan(
        self,
        decision: Decision,
        applied: _Applied,
        *,
        verdict: Verdict,
        observations: Sequence[Observation],
        history: History,
        trigger: Trigger,
        now: float,
    ) -> tuple[float | None, str]:
        """When to look again (None: not at all) and the words for the report."""
        settings = self._settings
        if trigger is Trigger.OPERATOR:
            return None, "operator command; automatic checks continue with the next alert"
        if applied.outcome is Outcome.FAILED:
            if isinstance(applied.error, RetryableError):
                return None, "failed; the delivery will be retried"
            return None, "failed; no further automatic steps"
        if isinstance(decision, Escalate):
            return None, "escalated to on-call; no further automatic steps"
        acted = applied.outcome in (Outcome.APPLIED, Outcome.DRY_RUN) and decision.action in CHANGES
        if acted and decision.action in (ActionKind.SCALE_COREDNS, ActionKind.ENABLE_NODELOCAL):
            return now + settings.verify_seconds, f"verification in {settings.verify_seconds} s"
        active = [o for o in observations if o.status is not DropStatus.RECOVERED]
        pending = bool(history.follow_up_id) and now < history.follow_up_due + _LOST_FOLLOW_UP_GRACE
        if active and not acted:
            if trigger is Trigger.ALERT and pending:
                return None, f"next check already scheduled in {max(0, int(history.follow_up_due - now))} s"
            if history.verification_attempts >= settings.max_verifications:
                return None, f"stopped checking after {history.verification_attempts} checks; on-call decides"
            transient = [
                o.since + settings.persistence_seconds
                for o in active
                if o.status is DropStatus.TRANSIENT and o.since is not None
            ]
            if verdict.outcome is Outcome.SKIPPED and history.cooldown_until > now:
                due = history.cooldown_until
            elif transient and not any(o.status is DropStatus.PERSISTING for o in active):
                due = min(transient)
            else:
                due = now + settings.verify_seconds
            due = max(due, now + 5)
            return due, f"hold: next check in {int(due - now)} s"
        if not active:
            wanted = policy.revert_wanted(history, settings.policy)
            if wanted and history.resolved_at is not None:
                if trigger is Trigger.ALERT and pending:
                    return (
                        None,
                        f"next check already scheduled in {max(0, int(history.follow_up_due - now))} s",
                    )
                due = max(
                    history.resolved_at + settings.quiet_seconds_before_revert,
                    history.cooldown_until,
                    now + 5,
                )
                return due, f"revert check of {wanted} in {int(due - now)} s"
            if trigger is Trigger.FOLLOW_UP:
                return None, "verified: drops stopped; closed"
        return None, ""

    def _unobservable(
        self,
        config: ClusterConfig,
        trigger: Trigger,
        history: History,
        exc: Exception,
        *,
        decision_id: str,
        now: float,
        group_id: str,
        event: EnrichedEvent | None,
    ) -> Handled:
        """The cluster could not be read: report it, keep what the alert said, look again later."""
        settings = self._settings
        attempts = history.verification_attempts + (1 if trigger is Trigger.FOLLOW_UP else 0)
        message = None
        follow_text = "no further automatic checks"
        if trigger is not Trigger.OPERATOR and attempts < settings.max_verifications:
            due = now + settings.verify_seconds
            message = FollowUp(
                cluster=config.name, follow_up_id=str(uuid.uuid4()), due_at=due, group_id=group_id
            )
            follow_text = f"hold: next check in {settings.verify_seconds} s"
        history = dataclasses.replace(
            history,
            verification_attempts=attempts,
            follow_up_id=message.follow_up_id if message else history.follow_up_id,
            follow_up_due=message.due_at if message else history.follow_up_due,
        )
        self._histories.save(history)
        report = RemediationReport(
            decision_id=decision_id,
            cluster=config.name,
            action=ActionKind.NONE,
            outcome=Outcome.FAILED,
            mode="",
            reasons=(f"cannot observe cluster {config.name}: {exc}", "nothing changed"),
            group_id=group_id,
            at=_iso(now),
            follow_up=follow_text,
        )
        self._audit.record(report, source=trigger.value)
        self._publish(report, event=event, observations=())
        if message is not None:
            self._send_follow_up(message, now=now)
        return Handled(report, message)

    def _report_only(
        self,
        cluster: str,
        decision: NoAction,
        outcome: Outcome,
        *,
        group_id: str,
        event: EnrichedEvent | None,
        source: Trigger,
        extra: Mapping[str, Any] | None = None,
    ) -> RemediationReport:
        report = RemediationReport(
            decision_id=str(uuid.uuid4()),
            cluster=cluster,
            action=decision.action,
            outcome=outcome,
            mode="",
            reasons=decision.reasons,
            group_id=group_id,
            at=_iso(self._clock()),
        )
        self._audit.record(report, source=source.value, extra=extra)
        self._publish(report, event=event, observations=())
        return report

    def _publish(
        self, report: RemediationReport, *, event: EnrichedEvent | None, observations: Sequence[Observation]
    ) -> None:
        if event is not None:
            status = event.status
        elif observations and all(o.status is DropStatus.RECOVERED for o in observations):
            status = "resolved"
        else:
            status = "firing"
        self._publisher.publish(
            EnrichedEvent(
                event_type=EventType.REMEDIATION,
                event_id=report.decision_id,
                group_id=report.group_id,
                cluster=report.cluster,
                status=status,
                alertname=event.alertname if event else "",
                severity=event.severity if event else "",
                remediation=report,
                created_at=report.at,
            )
        )

    def _send_follow_up(self, message: FollowUp, *, now: float) -> None:
        delay = int(min(SQS_MAX_DELAY_SECONDS, max(0.0, message.due_at - now)))
        try:
            self._followups.send(message, delay_seconds=delay)
        except Exception:
            log.exception("could not schedule follow-up %s for %s", message.follow_up_id, message.cluster)
            raise


def _would_have(decision: Decision) -> tuple[str, ...]:
    if not decision.reasons:
        return ()
    return (f"would have: {decision.reasons[0]}", *decision.reasons[1:])


def _state_summary(handle: ClusterHandle) -> dict[str, Any]:
    state = handle.state
    return {
        "coredns_replicas": state.coredns_current,
        "replica_owner": state.replica_owner,
        "replica_floor": state.replica_floor,
        "coredns_ready": state.coredns_ready,
        "coredns_distinct_nodes": state.coredns_distinct_nodes,
        "nodelocal_enabled": state.nodelocal_enabled,
        "kube_proxy_mode": state.kube_proxy_mode,
    }


def _observation_dict(obs: Observation) -> dict[str, Any]:
    return {
        "node": obs.node,
        "status": obs.status.value,
        "drop_rate": obs.drop_rate,
        "since": obs.since,
        "evidence": obs.evidence,
    }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
