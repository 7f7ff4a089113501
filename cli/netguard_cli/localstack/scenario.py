"""The DNS-throttling scenario the local stack plays, step by step, with timings.

Drops appear on the nodes hosting CoreDNS → Prometheus fires → Alertmanager publishes to SNS →
enrich → Slack and PagerDuty → remediation raises CoreDNS replicas → new pods Ready on new nodes →
drops stop → resolved → Slack message edited, PagerDuty resolved. A step whose component is not
running is skipped with the reason; the first step that times out ends the run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from netguard_cli.localstack.stack import LocalStack, StackEvent


class StepStatus(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"
    TIMEOUT = "timeout"
    NOT_REACHED = "not reached"


@dataclass(frozen=True)
class StepResult:
    name: str
    status: StepStatus
    at: float
    """Seconds since the scenario started when it happened (when the event was seen by the stack)."""
    took: float
    """Seconds since the previous step happened."""
    detail: str = ""


@dataclass(frozen=True)
class ScenarioResult:
    steps: tuple[StepResult, ...]
    seconds: float

    @property
    def loop_closed(self) -> bool:
        """Every step happened (none skipped, none timed out)."""
        return all(s.status is StepStatus.DONE for s in self.steps)

    @property
    def failed(self) -> bool:
        return any(s.status in (StepStatus.TIMEOUT, StepStatus.NOT_REACHED) for s in self.steps)

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)


@dataclass(frozen=True)
class Seen:
    """What a check found: a line for people, and when it happened (stack seconds)."""

    text: str
    at: float


@dataclass
class _Step:
    name: str
    check: Callable[[], Seen | None]
    needs: tuple[str, ...] = ()
    """Functions or components that must run for the step to be possible."""
    before: Callable[[], None] | None = None


class Scenario:
    """Plays the scenario on a started `LocalStack`; every check reads the events the stack recorded,
    so each step's time is when it happened, not when the scenario got round to looking."""

    def __init__(
        self, stack: LocalStack, *, timeout: float = 300.0, say: Callable[[StepResult], None] | None = None
    ) -> None:
        self.stack = stack
        self.timeout = timeout
        self._say = say
        self._initial = stack.coredns()
        self._recovery_forced = False
        self._since = 0.0
        """Stack seconds when the scenario started: older events do not count."""
        self._raised_at = 0.0

    # --- checks --------------------------------------------------------------------------------

    def _first(
        self,
        source: str,
        kind_prefix: str,
        where: Callable[[StackEvent], bool] | None = None,
        *,
        after: float = 0.0,
    ) -> Seen | None:
        for event in self.stack.find(lambda e: e.source == source and e.kind.startswith(kind_prefix)):
            if event.at >= max(after, self._since) and (where is None or where(event)):
                return Seen(event.text, event.at)
        return None

    def _targets_up(self) -> Seen | None:
        if self.stack.prometheus is None:
            return None
        result = self.stack.prometheus.query('count(up{job="ethtool-exporter"} == 1)')
        up = int(float(result[0]["value"][1])) if result else 0
        return (
            Seen(f"{up} exporter targets scraped", self.stack.elapsed())
            if up == len(self.stack.nodes)
            else None
        )

    def _drops(self) -> Seen | None:
        return self._first("exporter", "drops", lambda e: bool(e.data.get("drops")))

    def _raised(self) -> Seen | None:
        before = self._initial.replicas
        seen = self._first("kubernetes", "coredns", lambda e: int(e.data.get("replicas", 0)) > before)
        if seen is None:
            return None
        self._raised_at = seen.at
        report = self._first("enriched", "remediation", lambda e: "-> applied" in e.text)
        replicas = self.stack.coredns().replicas
        text = f"coredns replicas {before} -> {replicas}" + (f"; {report.text}" if report else "")
        return Seen(text, seen.at)

    def _spread(self) -> Seen | None:
        initial = self._initial

        def spread(event: StackEvent) -> bool:
            replicas, ready = int(event.data.get("replicas", 0)), int(event.data.get("ready", 0))
            nodes = set(event.data.get("nodes") or ())
            return replicas > initial.replicas and ready == replicas and len(nodes) > len(set(initial.nodes))

        seen = self._first("kubernetes", "coredns", spread)
        if seen is None:
            return None
        state = self.stack.coredns()
        new = sorted(set(state.nodes) - set(initial.nodes))
        return Seen(
            f"{state.ready}/{state.replicas} Ready on {len(set(state.nodes))} nodes (new: {', '.join(new)})",
            seen.at,
        )

    def _recovered(self) -> Seen | None:
        seen = self._first("exporter", "drops", lambda e: not e.data.get("drops"), after=self._raised_at)
        if seen is None:
            return None
        why = (
            "DNS load switched off (no remediation in this run)"
            if self._recovery_forced
            else "load spread over more interfaces: no node above 1024 pps"
        )
        return Seen(why, seen.at)

    def _all_quiet(self) -> Seen | None:
        states = self.stack.alert_states()
        if any(v in ("firing", "pending") for v in states.values()):
            return None
        last = self.stack.find(lambda e: e.source == "prometheus" and e.kind.startswith("alert-"))
        return Seen("no alert pending or firing", last[-1].at if last else self.stack.elapsed())

    def _slack_resolved(self) -> Seen | None:
        return self._first(
            "slack", "update", lambda e: "resolved" in json.dumps(e.data.get("body", {})).lower()
        )

    def _force_recovery_if_needed(self) -> None:
        if "remediate" not in self.stack.workers:
            self._recovery_forced = True
            self.stack.load.stop()

    # --- running -------------------------------------------------------------------------------

    def steps(self) -> list[_Step]:
        notify_slack, notify_pd = ("enrich", "notify_slack"), ("enrich", "notify_pagerduty")
        remediation = ("enrich", "remediate", "kubernetes")
        return [
            _Step("exporter scraped", self._targets_up, ("prometheus",)),
            _Step("drops on the CoreDNS nodes", self._drops, before=self.stack.load.start),
            _Step(
                "alert firing in Prometheus",
                lambda: self._first("prometheus", "alert-firing"),
                ("prometheus",),
            ),
            _Step(
                "Alertmanager published to SNS", lambda: self._first("sns", "alert-firing"), ("alertmanager",)
            ),
            _Step(
                "enriched event published", lambda: self._first("enriched", "alert_group-firing"), ("enrich",)
            ),
            _Step("Slack message posted", lambda: self._first("slack", "post"), notify_slack),
            _Step("PagerDuty incident triggered", lambda: self._first("pagerduty", "trigger"), notify_pd),
            _Step("CoreDNS replicas raised", self._raised, remediation),
            _Step("new CoreDNS pods Ready on new nodes", self._spread, remediation),
            _Step("drops stopped", self._recovered, before=self._force_recovery_if_needed),
            _Step("alert resolved in Prometheus", self._all_quiet, ("prometheus",)),
            _Step(
                "Alertmanager published the resolve",
                lambda: self._first("sns", "alert-resolved"),
                ("alertmanager",),
            ),
            _Step(
                "enriched resolved event",
                lambda: self._first("enriched", "alert_group-resolved"),
                ("enrich",),
            ),
            _Step("Slack message edited to resolved", self._slack_resolved, notify_slack),
            _Step("PagerDuty incident resolved", lambda: self._first("pagerduty", "resolve"), notify_pd),
        ]

    def _missing(self, needs: tuple[str, ...]) -> str:
        reasons = []
        for need in needs:
            if need in ("prometheus", "alertmanager"):
                if getattr(self.stack, need) is None:
                    reasons.append(f"{need} is not running")
            elif need == "kubernetes":
                if self.stack.kube is None:
                    reasons.append(self.stack.skipped.get("kubernetes", "no Kubernetes"))
            elif need not in self.stack.workers:
                why = self.stack.function_available(need) or "not running"
                reasons.append(f"{need}: {why}")
        return "; ".join(reasons)

    def run(self) -> ScenarioResult:
        self._since = self.stack.elapsed()
        deadline = time.monotonic() + self.timeout
        previous = self._since
        results: list[StepResult] = []
        stopped = False
        for step in self.steps():
            now = self.stack.elapsed() - self._since
            if stopped:
                results.append(StepResult(step.name, StepStatus.NOT_REACHED, now, 0.0))
                continue
            missing = self._missing(step.needs)
            if missing:
                result = StepResult(step.name, StepStatus.SKIPPED, now, 0.0, missing)
            else:
                if step.before is not None:
                    step.before()
                seen: Seen | None = self.stack.wait_for(step.check, deadline=deadline)
                if seen is not None:
                    at = max(seen.at, previous)  # steps are causal: never earlier than the one before
                    result = StepResult(
                        step.name, StepStatus.DONE, at - self._since, at - previous, seen.text
                    )
                    previous = at
                else:
                    now = self.stack.elapsed()
                    result = StepResult(
                        step.name,
                        StepStatus.TIMEOUT,
                        now - self._since,
                        now - previous,
                        f"not seen within the {self.timeout:.0f}s budget",
                    )
                    stopped = True
            results.append(result)
            if self._say is not None:
                self._say(result)
        return ScenarioResult(tuple(results), self.stack.elapsed() - self._since)
