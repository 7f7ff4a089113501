"""The scenarios the local stack plays: the default DNS-throttling walk-through (`Scenario`, step by
step, with timings) and the named scenarios of `catalogue` (`NamedScenario`, each with an expected
outcome).

Drops appear on the nodes hosting CoreDNS → Prometheus fires → Alertmanager publishes to SNS →
enrich → Slack and PagerDuty → remediation raises CoreDNS replicas → new pods Ready on new nodes →
drops stop → resolved → Slack message edited, PagerDuty resolved. A step whose component is not
running is skipped with the reason; the first step that times out ends the run.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from netguard.clients.kubernetes import JsonObject, Kube, KubeNotFound
from netguard_cli.localstack import owners, processes, seed
from netguard_cli.localstack.catalogue import BypassPod, Expect, Owner, ScenarioSpec
from netguard_cli.localstack.dnsload import LOAD_ANNOTATION, LoadModel
from netguard_cli.localstack.manifests import apply_all
from netguard_cli.localstack.prometheus import EXPORTER_JOB
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
        if stack.kube is not None and len(stack.nodes) >= 2:
            # The walk-through starts from CoreDNS on two nodes, chosen (not left to the scheduler,
            # which may put both on one node: that case is the `colocated` scenario).
            seed.place_coredns(stack.kube, (stack.nodes[0].name, stack.nodes[1].name))
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
        result = self.stack.prometheus.query(f'count(up{{job="{EXPORTER_JOB}"}} == 1)')
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


# --- named scenarios (netguard demo --scenario NAME) ---------------------------------------------

SCENARIO_LABEL = "netguard.local/scenario"
"""On every object a named scenario creates outside kube-system, so the next one removes it."""
HOLD_SECONDS = 10.0
"""How long an outcome must last (drops gone, cluster unchanged): several load updates and owner
reconciles (every 2 s), so an owner undoing the change shows as drops coming back."""


@dataclass(frozen=True)
class ClusterSnapshot:
    replicas: int
    placement: tuple[str, ...]
    """Node of each Ready CoreDNS pod, sorted."""
    nodelocal: bool
    owner_floor: int | None = None
    """What the emulated owner asks for (CPA `min`, the add-on's replicaCount), when there is one."""

    def text(self) -> str:
        counts: dict[str, int] = {}
        for node in self.placement:
            counts[node] = counts.get(node, 0) + 1
        where = ", ".join(
            f"{n.split('.')[0]}×{c}" if c > 1 else n.split(".")[0] for n, c in sorted(counts.items())
        )
        extra = f", owner asks {self.owner_floor}" if self.owner_floor is not None else ""
        return (
            f"{self.replicas} replicas, Ready on {where or 'no node'}"
            f"{', NodeLocal DNSCache on' if self.nodelocal else ''}{extra}"
        )


@dataclass(frozen=True)
class NamedResult:
    name: str
    passed: bool
    explanation: str
    """Why it passed or failed, in plain words."""
    seconds: float
    """From the start of the load to the end of the scenario."""
    persistence_at: float | None
    """Seconds after the load started when the persisting alert fired (the gate remediation waits for)."""
    outcome_at: float | None
    """Seconds after the load started when the outcome was reached (drops gone, diagnosis, report)."""
    actions: tuple[str, ...]
    kube_calls: Mapping[str, int]
    """Requests of the remediation identity, `VERB resource` -> count (from the API server's audit log)."""
    aws_calls: Mapping[str, int]
    before: ClusterSnapshot
    after: ClusterSnapshot

    @property
    def reaction(self) -> float | None:
        """Seconds from persistence met to the outcome."""
        if self.persistence_at is None or self.outcome_at is None:
            return None
        return max(0.0, self.outcome_at - self.persistence_at)

    def reaction_text(self) -> str:
        """Persistence met → outcome, or how long before persistence the outcome came."""
        # The stack sees alerts once a second: an outcome within that of the alert is not "before" it.
        if (
            self.persistence_at is not None
            and self.outcome_at is not None
            and self.outcome_at < self.persistence_at - 1.0
        ):
            return f"reached {self.persistence_at - self.outcome_at:.1f}s before persistence was met"
        return f"{self.reaction:.1f}s" if self.reaction is not None else "n/a"

    def lines(self) -> list[str]:
        reaction = self.reaction_text()
        kube = ", ".join(f"{k} ×{v}" for k, v in sorted(self.kube_calls.items())) or "none"
        aws = ", ".join(f"{k} ×{v}" for k, v in sorted(self.aws_calls.items())) or "none"
        return [
            f"scenario {self.name}: {'PASSED' if self.passed else 'FAILED'} — {self.explanation}",
            f"  persistence met → outcome: {reaction} (persisting alert at {_secs(self.persistence_at)},"
            f" outcome at {_secs(self.outcome_at)}, scenario {self.seconds:.1f}s)",
            f"  before: {self.before.text()}",
            f"  after:  {self.after.text()}",
            f"  actions: {'; '.join(self.actions) or 'none'}",
            f"  Kubernetes calls by netguard-remediate ({sum(self.kube_calls.values())}): {kube}",
            f"  AWS calls to the EKS add-on API ({sum(self.aws_calls.values())}): {aws}",
        ]


def _secs(value: float | None) -> str:
    return f"{value:.1f}s" if value is not None else "never"


class NamedScenario:
    """Plays one `ScenarioSpec` on a started stack: reset, explicit placement, owner, modes, load,
    then waits for the expected outcome and checks it lasts. Kubernetes writes are in `_prepare`."""

    def __init__(
        self, stack: LocalStack, spec: ScenarioSpec, *, say: Callable[[str], None] | None = None
    ) -> None:
        if stack.kube is None:
            raise RuntimeError("named scenarios need the Kubernetes control plane")
        self.stack = stack
        self.kube: Kube = stack.kube
        self.spec = spec
        self._say = say or (lambda _text: None)

    # --- set-up ----------------------------------------------------------------------------------

    def _prepare(self) -> None:
        stack, kube, spec = self.stack, self.kube, self.spec
        stack.load.stop()
        stack.set_owner(None)
        self._wait_quiet()
        for pod in kube.list_all(kube.core.list_pod_for_all_namespaces, label_selector=SCENARIO_LABEL):
            meta = pod["metadata"]
            with contextlib.suppress(KubeNotFound):
                kube.call(kube.core.delete_namespaced_pod, meta["name"], meta["namespace"])
        seed.restore_kube_system(kube, stack.kube_baseline, stack.cluster_nodes)
        if stack.addons is not None:
            stack.addons.reset()
        seed.place_coredns(kube, spec.coredns, timeout=120)
        if spec.owner is Owner.CPA:
            apply_all(kube, owners.cpa_manifests(len(spec.coredns)), field_manager=seed.SEED_FIELD_MANAGER)
            stack.set_owner(
                owners.ReplicaOwnerLoop(
                    "cluster-proportional-autoscaler",
                    kube,
                    owners.cpa_desired(kube),
                    on_write=self._owner_wrote,
                )
            )
        elif spec.owner is Owner.ADDON:
            if stack.addons is None:
                raise RuntimeError("the EKS add-on endpoint is not running")
            stack.addons.add(stack.settings.cluster_name, values={"replicaCount": len(spec.coredns)})
            stack.set_owner(
                owners.ReplicaOwnerLoop(
                    "eks-addon",
                    kube,
                    owners.addon_desired(stack.addons, stack.settings.cluster_name),
                    on_write=self._owner_wrote,
                )
            )
        for bypass in spec.bypass:
            kube.call(kube.core.create_namespaced_pod, "default", _bypass_pod(bypass, spec.name))
        processes.wait_until(
            lambda: len(self._bypass_ready()) == len(spec.bypass), what="bypass pods Running", timeout=60
        )
        stack.reset_state()
        stack.restart_worker("remediate", spec.modes)

    def _owner_wrote(self, owner: str, before: int, after: int) -> None:
        self.stack.emit("kubernetes", "owner", f"{owner} reconciled coredns replicas {before} -> {after}")

    def _bypass_ready(self) -> list[str]:
        pods = self.kube.list_all(
            self.kube.core.list_namespaced_pod, "default", label_selector=SCENARIO_LABEL
        )
        return [p["metadata"]["name"] for p in pods if (p.get("status") or {}).get("phase") == "Running"]

    def _wait_quiet(self, timeout: float = 120.0) -> None:
        """No alert pending or firing, so the next drops are a new incident (Alertmanager notifies)."""
        deadline = time.monotonic() + timeout
        self.stack.wait_for(
            lambda: not any(v in ("firing", "pending") for v in self.stack.alert_states().values()),
            deadline=deadline,
        )

    def snapshot(self) -> ClusterSnapshot:
        kube = self.kube
        scale = kube.call(kube.apps.read_namespaced_deployment_scale, "coredns", seed.KUBE_SYSTEM)
        nodelocal = bool(
            kube.list_all(
                kube.apps.list_namespaced_daemon_set,
                seed.KUBE_SYSTEM,
                field_selector="metadata.name=node-local-dns",
            )
        )
        floor: int | None = None
        if self.spec.owner is Owner.CPA:
            configmap = kube.call(kube.core.read_namespaced_config_map, owners.CPA_NAME, seed.KUBE_SYSTEM)
            floor = int(json.loads((configmap.get("data") or {}).get("linear") or "{}").get("min") or 0)
        elif self.spec.owner is Owner.ADDON and self.stack.addons is not None:
            floor = owners.addon_desired(self.stack.addons, self.stack.settings.cluster_name)()
        return ClusterSnapshot(
            int((scale.get("spec") or {}).get("replicas") or 0),
            seed.coredns_placement(self.kube),
            nodelocal,
            floor,
        )

    # --- playing ---------------------------------------------------------------------------------

    def run(self) -> NamedResult:
        spec, stack = self.spec, self.stack
        self._say(
            f"setting up: CoreDNS on {', '.join(spec.coredns)}; owner {spec.owner.value}; "
            f"modes {dict(spec.modes) or 'defaults'}; {spec.load_text()}"
        )
        self._prepare()
        before = self.snapshot()
        addon_requests = len(stack.addons.requests) if stack.addons else 0
        started_wall = time.time()
        start = stack.elapsed()
        stack.load.start(LoadModel(spec.queries_pps, stack.settings.linklocal_limit_pps))
        deadline = time.monotonic() + spec.timeout
        if spec.expect is Expect.DROPS_STOP:
            outcome_at, why = self._drops_stop(start, deadline)
        elif spec.expect is Expect.DIAGNOSIS_ONLY:
            outcome_at, why = self._unchanged_after(start, deadline, before, self._diagnosis)
        else:
            outcome_at, why = self._unchanged_after(start, deadline, before, self._dry_run_report)
        after = self.snapshot()
        end = stack.elapsed()
        stack.load.stop()
        persisting = self._persisting_at(start)
        reports = self._reports(start)
        applied = [r for r in reports if r.get("outcome") == "applied"]
        passed = outcome_at is not None
        if passed and spec.expect is not Expect.DROPS_STOP and applied:
            passed, why = False, f"a change was applied although none should be: {_report_text(applied[0])}"
        if (
            passed
            and spec.owner is not Owner.DEPLOYMENT
            and not (
                after.owner_floor is not None
                and before.owner_floor is not None
                and after.owner_floor > before.owner_floor
            )
        ):
            passed, why = (
                False,
                (
                    f"the drops stopped but the owner's setting did not change ({before.owner_floor} -> "
                    f"{after.owner_floor}): the change did not go through {spec.owner.value}"
                ),
            )
        return NamedResult(
            name=spec.name,
            passed=passed,
            explanation=why,
            seconds=end - start,
            persistence_at=None if persisting is None else persisting - start,
            outcome_at=None if outcome_at is None else outcome_at - start,
            actions=_actions(reports),
            kube_calls=audit_counts(stack.audit_log(), "netguard-remediate", started_wall, time.time()),
            aws_calls=_addon_counts(stack.addons.requests[addon_requests:] if stack.addons else []),
            before=before,
            after=after,
        )

    def _drops_stop(self, start: float, deadline: float) -> tuple[float | None, str]:
        """The first moment after which no node drops for HOLD_SECONDS (drops may come back when an
        owner undoes a change: then the clock starts again)."""
        hot = self.spec.hot_node

        def quiet_since() -> float | None:
            drops = self.stack.find(lambda e: e.source == "exporter" and e.kind == "drops" and e.at >= start)
            if not drops or not any(e.data.get("drops") for e in drops):
                return None
            last = drops[-1]
            return None if last.data.get("drops") else last.at

        while time.monotonic() < deadline:
            since = self.stack.wait_for(quiet_since, deadline=deadline)
            if since is None:
                break
            if (
                self.stack.wait_for(
                    lambda since=since: quiet_since() != since or None,  # type: ignore[misc]
                    deadline=time.monotonic() + HOLD_SECONDS,
                )
                is None
            ):
                return since, (
                    f"drops stopped on {hot} (and every other node), and stayed so for {HOLD_SECONDS:.0f}s"
                    + (
                        f", through the owner's reconciles ({self.spec.owner.value})"
                        if self.spec.owner is not Owner.DEPLOYMENT
                        else ""
                    )
                )
        last = self.stack.find(lambda e: e.source == "exporter" and e.kind == "drops" and e.at >= start)
        still = last[-1].text if last else "no drops event"
        return (
            None,
            f"drops did not stop within {self.spec.timeout:.0f}s; last: {still}; "
            + self._history_text(start),
        )

    def _unchanged_after(
        self, start: float, deadline: float, before: ClusterSnapshot, seen: Callable[[float], float | None]
    ) -> tuple[float | None, str]:
        at = self.stack.wait_for(lambda: seen(start), deadline=deadline)
        if at is None:
            what = (
                "a diagnosis naming the bypass pods"
                if self.spec.expect is Expect.DIAGNOSIS_ONLY
                else "a dry-run report"
            )
            return None, f"no {what} within {self.spec.timeout:.0f}s; " + self._history_text(start)
        hold = self.stack.settings.verify_seconds + HOLD_SECONDS
        time.sleep(max(0.0, min(hold, deadline - time.monotonic())))
        now = self.snapshot()
        if (now.replicas, now.placement, now.nodelocal) != (
            before.replicas,
            before.placement,
            before.nodelocal,
        ):
            return None, f"the cluster changed: before {before.text()}; after {now.text()}"
        what = (
            f"the diagnosis named {', '.join(sorted(self._bypass_names()))}"
            if self.spec.expect is Expect.DIAGNOSIS_ONLY
            else "remediation reported in dry-run"
        )
        return at, f"{what}, and the cluster was unchanged {hold:.0f}s later"

    def _bypass_names(self) -> set[str]:
        return {f"default/{p.name}" for p in self.spec.bypass}

    def _diagnosis(self, start: float) -> float | None:
        wanted = self._bypass_names()
        for event in self.stack.find(
            lambda e: e.source == "enriched" and e.kind == "alert_group-firing" and e.at >= start
        ):
            for alert in event.data.get("event", {}).get("alerts") or []:
                if (alert.get("node") or {}).get("name") != self.spec.hot_node:
                    continue
                listed = set((alert.get("dns") or {}).get("dns_bypass_pods") or ())
                if wanted <= listed:
                    return event.at
        return None

    def _dry_run_report(self, start: float) -> float | None:
        events = self.stack.find(
            lambda e: e.source == "enriched" and e.kind.startswith("remediation") and e.at >= start
        )
        for event in events:
            report = event.data.get("event", {}).get("remediation") or {}
            if report.get("outcome") == "dry_run":
                return event.at
        return None

    def _reports(self, start: float) -> list[Mapping[str, Any]]:
        events = self.stack.find(
            lambda e: e.source == "enriched" and e.kind.startswith("remediation") and e.at >= start
        )
        return [event.data.get("event", {}).get("remediation") or {} for event in events]

    def _persisting_at(self, start: float) -> float | None:
        fired = self.stack.find(
            lambda e: (
                e.source == "prometheus"
                and e.kind == "alert-firing"
                and e.at >= start
                and str(e.data.get("alert", "")).startswith("LinklocalAllowanceExceededPersisting")
            )
        )
        return fired[0].at if fired else None

    def _history_text(self, start: float) -> str:
        reports = [_report_text(r) for r in self._reports(start)]
        failures = [
            e.text
            for e in self.stack.find(lambda e: e.source == "lambda" and e.kind == "error" and e.at >= start)
        ]
        return f"remediation reports: {' | '.join(reports) or 'none'}" + (
            f"; function failures: {' | '.join(failures[:3])}" if failures else ""
        )


def _actions(reports: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """What remediation did or would have done, in order; decisions to wait or skip are counted."""
    done = [_report_text(r) for r in reports if r.get("outcome") != "skipped"]
    skipped = len(reports) - len(done)
    return (*dict.fromkeys(done), *([f"{skipped} decision(s) to wait or do nothing"] if skipped else []))


def _report_text(report: Mapping[str, Any]) -> str:
    reasons = report.get("reasons") or [""]
    return f"{report.get('action')} -> {report.get('outcome')} ({report.get('mode')}): {reasons[0]}"


def _bypass_pod(pod: BypassPod, scenario: str) -> JsonObject:
    spec: dict[str, Any] = {
        "nodeName": pod.node,
        "containers": [{"name": "app", "image": "public.ecr.aws/docker/library/busybox:stable"}],
        "tolerations": [{"operator": "Exists"}],
    }
    if pod.host_network:
        spec["hostNetwork"] = True
    else:
        spec["dnsPolicy"] = "Default"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod.name,
            "labels": {SCENARIO_LABEL: scenario},
            "annotations": {LOAD_ANNOTATION: str(pod.qps)},
        },
        "spec": spec,
    }


def audit_counts(path: Path, user: str, since: float, until: float) -> dict[str, int]:
    """`VERB resource[/subresource]` -> requests `user` made between two epoch times, from the API
    server's audit log (JSON lines); empty when there is no log."""
    counts: dict[str, int] = {}
    if not path.is_file():
        return counts
    with path.open() as handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if (entry.get("user") or {}).get("username") != user:
                continue
            when = datetime.fromisoformat(str(entry.get("requestReceivedTimestamp")).replace("Z", "+00:00"))
            if not since <= when.timestamp() <= until:
                continue
            ref = entry.get("objectRef") or {}
            resource = str(ref.get("resource") or entry.get("requestURI") or "?")
            if ref.get("subresource"):
                resource += f"/{ref['subresource']}"
            key = f"{str(entry.get('verb', '?')).upper()} {resource}"
            counts[key] = counts.get(key, 0) + 1
    return counts


def _addon_counts(requests: Sequence[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in requests:
        if request.path.endswith("/update"):
            name = "UpdateAddon"
        elif "configuration-schemas" in request.path:
            name = "DescribeAddonConfiguration"
        else:
            name = "DescribeAddon"
        counts[name] = counts.get(name, 0) + 1
    return counts
