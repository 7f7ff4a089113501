"""The remediation orchestrator: one run is observe -> decide -> act -> record -> schedule over a `Run`.

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
from typing import Any, Protocol

from netguard.alerts import ordering
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
from netguard.errors import RetryableError
from netguard.remediate import describe, gate, policy, verification
from netguard.remediate.apply import Applied, apply_decision
from netguard.remediate.audit import AuditLog
from netguard.remediate.cluster import ClusterHandle, Connector
from netguard.remediate.errors import BadFollowUp
from netguard.remediate.incident import Event, Look
from netguard.remediate.killswitch import KillSwitch
from netguard.remediate.load import ForwardRates, measured
from netguard.remediate.models import (
    Decision,
    DropStatus,
    History,
    NoAction,
    Observation,
    SpreadCoreDns,
    Trigger,
)
from netguard.remediate.safety import Verdict, check, mode_for, strictest
from netguard.remediate.store import ClusterLock, HistoryStore, cluster_pk
from netguard.state import Once, OnceOutcome, OnceUnavailable, StateStore

log = logging.getLogger(__name__)

FOLLOW_UP_KIND = "netguard.remediate.followup/v1"
IDEMPOTENCY_PK = "idem#remediate"
IDEMPOTENCY_TTL_SECONDS = 2 * 86400
IN_PROGRESS_SECONDS = 150.0
"""How long a delivery being handled blocks a duplicate: the function's 120 s timeout plus a margin,
so the retry of an invocation that crashed or timed out is not locked out for the whole TTL."""


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
class Run:
    """The one value a run passes from step to step (observe, decide, act, record, schedule)."""

    config: ClusterConfig
    trigger: Trigger
    decision_id: str
    event: EnrichedEvent | None = None
    by: str = ""
    now: float = 0.0
    history: History = dataclasses.field(default_factory=lambda: History(cluster=""))
    group_id: str = ""
    handle: ClusterHandle | None = None
    unreadable: Exception | None = None
    """Why the cluster could not be read (then nothing is decided)."""
    observations: tuple[Observation, ...] = ()
    decision: Decision | None = None
    finishing: bool = False
    """The decision finishes a pending spread (the same step: no cooldown, no new count)."""
    verdict: Verdict | None = None
    applied: Applied | None = None
    plan: verification.Plan | None = None
    message: FollowUp | None = None

    # Each step fills what the next needs; these say so where a value must be there.
    @property
    def need_handle(self) -> ClusterHandle:
        if self.handle is None:
            raise RuntimeError(
                "remediation steps out of order: observe runs before decide"
            )  # a bug, never input
        return self.handle

    @property
    def need_decision(self) -> Decision:
        if self.decision is None:
            raise RuntimeError("remediation steps out of order: decide runs before act")  # a bug, never input
        return self.decision

    @property
    def need_verdict(self) -> Verdict:
        if self.verdict is None:
            raise RuntimeError("remediation steps out of order: decide runs before act")  # a bug, never input
        return self.verdict

    @property
    def need_applied(self) -> Applied:
        if self.applied is None:
            raise RuntimeError("remediation steps out of order: act runs before record")  # a bug, never input
        return self.applied

    @property
    def need_plan(self) -> verification.Plan:
        if self.plan is None:
            raise RuntimeError(
                "remediation steps out of order: record runs before schedule"
            )  # a bug, never input
        return self.plan


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
        forwards: ForwardRates | None = None,
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
        self._forwards = forwards
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
        """An enriched event from the topic; None when it is not for remediation or a duplicate.

        Only alerts of the operator's remediation rules move remediation (`gate.untrusted_reason`);
        every other alert was enriched and notified already and is ignored here."""
        if event.event_type is not EventType.ALERT_GROUP:
            log.info("ignoring %s event %s", event.event_type.value, event.event_id)
            return None
        rules = self._settings.rules
        reasons = {a.alert.fingerprint: gate.untrusted_reason(a, rules) for a in event.alerts}
        trusted = tuple(a for a in event.alerts if not reasons[a.alert.fingerprint])
        if not trusted:
            return self._untrusted(event, reasons)
        event = dataclasses.replace(event, alerts=trusted)
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

    def _untrusted(self, event: EnrichedEvent, reasons: Mapping[str, str]) -> Handled | None:
        """No alert of the event may move remediation. Silent (logged) for alerts of other rules;
        reported when an alert of a remediation rule could not be trusted (ambiguous reading, or a
        counter that is not linklocal), so the operator sees why their rule did nothing."""
        counts = {reason: list(reasons.values()).count(reason) for reason in set(reasons.values())}
        log.info("event %s: no alert remediation acts for (%s)", event.event_id, counts)
        ours = [reason for reason in reasons.values() if reason in ("ambiguous", "not_linklocal")]
        if not ours:
            return None
        why = {
            "ambiguous": "could not be read unambiguously",
            "not_linklocal": "is not about the linklocal counter by its type label",
        }
        lines = tuple(
            f"no remediation: {ours.count(reason)} alert(s) of a remediation rule {why[reason]}"
            for reason in sorted(set(ours))
        )
        return Handled(
            self._report_only(
                event.cluster or self._settings.default_cluster or "unknown",
                NoAction((*lines, "nothing observed or changed")),
                Outcome.SKIPPED,
                group_id=event.group_id,
                event=event,
                source=Trigger.ALERT,
            )
        )

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
        """One run as named steps over one `Run` value: observe, decide, act, record, schedule."""
        run = Run(config=config, trigger=trigger, decision_id=str(uuid.uuid4()), event=event, by=by)
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
            self._store, config.name, owner=run.decision_id, wait_seconds=self._settings.lock_wait_seconds
        ):
            now = self._clock()
            history = self._histories.load(config.name)
            if follow_up is not None and follow_up.follow_up_id != history.follow_up_id:
                log.info("follow-up %s superseded by %r", follow_up.follow_up_id, history.follow_up_id)
                return None
            if event is not None:
                stale = ordering.stale_alerts((a.alert for a in event.alerts), history.seen)
                if len(stale) == len(event.alerts):
                    return self._stale(config, history, event, decision_id=run.decision_id, now=now)
                history = self._remember(history, event, now)
            run = dataclasses.replace(run, now=now, history=history, group_id=group_id or history.group_id)
            run = self._observe(run)
            if run.handle is not None:
                run = self._act(self._decide(run, command=command, dry_run=dry_run))
            run = self._record(run)
        return self._schedule(run)

    def _observe(self, run: Run) -> Run:
        """Look at the cluster and at what is known of the nodes' drops."""
        try:
            handle = self._connect(run.config, run.now)
        except Exception as exc:  # noqa: BLE001 - any failure to look is reported, never swallowed
            log.warning("cannot observe cluster %s: %s", run.config.name, exc)
            return dataclasses.replace(run, unreadable=exc)
        observations = gate.observe(
            run.history.nodes,
            now=run.now,
            persistence_seconds=self._settings.persistence_seconds,
            fresh=self._fresh_rates(run.history),
        )
        return dataclasses.replace(run, handle=handle, observations=observations)

    def _decide(self, run: Run, *, command: OperatorCommand | None, dry_run: bool) -> Run:
        """The decision (the operator's command, finishing a pending spread, or the policy's) and
        whether safety lets it run now."""
        settings = self._settings
        handle, history = run.need_handle, run.history
        finishing = False
        mode: Mode | None
        if command is not None:
            decision = command(handle, history)
            mode = Mode.DRY_RUN if dry_run else Mode.ENFORCE
        else:
            if run.trigger is Trigger.FOLLOW_UP and history.spread_pending:
                # Finish the spread already decided; the drop rates still show the old placement.
                decision = policy.finish_spread(handle.state, history, settings.policy)
                finishing = isinstance(decision, SpreadCoreDns)
            else:
                decision = policy.decide(
                    handle.state,
                    self._with_forward_rates(run.config.name, run.observations, handle),
                    history,
                    settings.policy,
                )
            mode = mode_for(
                decision.action,
                coredns=settings.coredns_mode,
                nodelocal=settings.nodelocal_mode,
                spread=settings.spread_mode,
            )
            if isinstance(decision, SpreadCoreDns) and decision.target > decision.current and mode:
                mode = strictest(mode, settings.coredns_mode)  # it raises the floor too
        verdict = check(
            decision,
            mode=mode,
            history=history,
            now=run.now,
            ignore_cooldown=run.trigger is Trigger.OPERATOR or finishing,
        )
        return dataclasses.replace(run, decision=decision, finishing=finishing, verdict=verdict)

    def _act(self, run: Run) -> Run:
        """Apply the decision under the verdict; the history learns what it did."""
        decision, verdict, handle = run.need_decision, run.need_verdict, run.need_handle
        applied = apply_decision(decision, verdict, handle)
        history = verification.next_history(
            self._settings,
            run.history,
            decision,
            finishing=run.finishing,
            applied=applied,
            handle=handle,
            observations=run.observations,
            trigger=run.trigger,
            decision_id=run.decision_id,
            mode=verdict.mode,
            now=run.now,
        )
        return dataclasses.replace(run, applied=applied, history=history)

    def _record(self, run: Run) -> Run:
        """The run's event through the transition table; the next phase and check are stored."""
        settings, history = self._settings, run.history
        if run.unreadable is not None:
            if run.trigger is Trigger.FOLLOW_UP:
                history = dataclasses.replace(
                    history, verification_attempts=history.verification_attempts + 1
                )
            event = Event.OPERATOR_COMMAND if run.trigger is Trigger.OPERATOR else Event.CLUSTER_UNREADABLE
            plan = verification.after(settings, history, event, trigger=run.trigger, now=run.now)
        else:
            plan = verification.plan(
                settings,
                run.need_decision,
                run.need_applied,
                verdict=run.need_verdict,
                observations=run.observations,
                history=history,
                trigger=run.trigger,
                now=run.now,
            )
        message = None
        if plan.due is not None:
            message = FollowUp(
                cluster=run.config.name,
                follow_up_id=str(uuid.uuid4()),
                due_at=plan.due,
                group_id=run.group_id,
            )
            history = dataclasses.replace(history, follow_up_id=message.follow_up_id, follow_up_due=plan.due)
        elif run.trigger is Trigger.FOLLOW_UP and plan.look is not Look.RETRY:
            # the chain ends here; a retried (redelivered) follow-up must stay current
            history = dataclasses.replace(history, follow_up_id="", follow_up_due=0.0)
        history = dataclasses.replace(history, phase=plan.phase)
        self._histories.save(history)
        return dataclasses.replace(run, history=history, plan=plan, message=message)

    def _schedule(self, run: Run) -> Handled:
        """Audit and publish the report, send the next check, and let Lambda retry a retryable failure."""
        report = self._report(run)
        extra: dict[str, Any] = {"observations": [_observation_dict(o) for o in run.observations]}
        if run.by:
            extra["by"] = run.by
        self._audit.record(report, source=run.trigger.value, extra=extra)
        self._publish(report, event=run.event, observations=run.observations)
        if run.message is not None:
            self._send_follow_up(run.message, now=run.now)
        error = run.applied.error if run.applied is not None else None
        if isinstance(error, RetryableError):
            raise error
        return Handled(report, run.message)

    def _report(self, run: Run) -> RemediationReport:
        plan = run.need_plan
        handle = run.handle
        words = describe.summary(
            plan.event,
            run.decision,
            handle.state if handle is not None else None,
            run.observations,
            run.history,
            dry_run=plan.event is Event.ACTION_DRY_RUN,
        )
        action, outcome, mode = ActionKind.NONE, Outcome.FAILED, ""
        reasons: tuple[str, ...] = (
            f"cannot observe cluster {run.config.name}: {run.unreadable}",
            "nothing changed",
        )
        before: Mapping[str, Any] = {}
        after: Mapping[str, Any] = {}
        if run.unreadable is None and run.applied is not None:
            action, outcome, mode = run.need_decision.action, run.applied.outcome, run.need_verdict.mode
            reasons, before, after = run.applied.reasons, run.applied.before, run.applied.after
        return RemediationReport(
            decision_id=run.decision_id,
            cluster=run.config.name,
            action=action,
            outcome=outcome,
            mode=mode,
            reasons=reasons,
            before=before,
            after=after,
            group_id=run.group_id,
            at=_iso(run.now),
            follow_up=plan.words,
            phase_before=plan.before.value,
            phase=plan.phase.value,
            tell=plan.tells,
            changed=plan.changed_cluster,
            summary=words,
        )

    def _remember(self, history: History, event: EnrichedEvent, now: float) -> History:
        """The event's news about nodes; alerts older than what is known about them add nothing."""
        current = tuple(a for a in event.alerts if not ordering.is_stale(a.alert, history.seen))
        update = gate.memory_from_alerts(current, now=now, rules=self._settings.rules)
        retention = max(86400.0, 2.0 * self._settings.quiet_seconds_before_revert)
        nodes = gate.merge_memory(history.nodes, update, now=now, retention_seconds=retention)
        return dataclasses.replace(
            history,
            seen=ordering.remember(history.seen, (a.alert for a in current)),
            nodes=nodes,
            group_id=event.group_id or history.group_id,
            alertname=event.alertname or history.alertname,
        )

    def _stale(
        self, config: ClusterConfig, history: History, event: EnrichedEvent, *, decision_id: str, now: float
    ) -> Handled:
        """Every alert of the event is older than what is known (a firing delivered again after its
        resolve): it changes nothing; the audit says so, and nothing is published (people saw it)."""
        self._histories.save(dataclasses.replace(history, stale_events=history.stale_events + 1))
        report = RemediationReport(
            decision_id=decision_id,
            cluster=config.name,
            action=ActionKind.NONE,
            outcome=Outcome.SKIPPED,
            mode="",
            reasons=(
                "stale: every alert of this delivery is older than what is known about it"
                " (by the alerts' own start and end times); nothing changed",
            ),
            group_id=event.group_id or history.group_id,
            at=_iso(now),
            phase_before=history.phase.value,
            phase=history.phase.value,  # incident.transition: a stale alert never moves the phase
            tell=False,
            changed=False,
        )
        self._audit.record(report, source=Trigger.ALERT.value, extra={"event_id": event.event_id})
        return Handled(report)

    def _fresh_rates(self, history: History) -> Mapping[str, float | None] | None:
        if self._fresh is None or not history.nodes:
            return None
        return self._fresh(history.cluster, {node: m.instance for node, m in history.nodes.items()})

    def _with_forward_rates(
        self, cluster: str, observations: tuple[Observation, ...], handle: ClusterHandle
    ) -> tuple[Observation, ...]:
        """Observations with each node's packets/s measured where CoreDNS's forward rates tell. Only
        the policy's estimate reads them, so the query is made only where the policy decides."""
        forwards = self._forwards(cluster) if self._forwards is not None else None
        return measured(observations, handle.dns.pods, forwards) if forwards else observations

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
        """A report of a run that looked at no cluster (paused, unknown cluster, untrusted alerts,
        an operator's note): people hear of it, but nothing changed, so it is no change event."""
        report = RemediationReport(
            changed=False,
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
