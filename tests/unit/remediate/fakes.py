"""Builders and fakes for remediation tests: events, a fake cluster with fake actuators, recorders.

Not a fixture module: tests import what they need. The fake cluster behaves like the real
actuators (a raise changes replicas and spreads pods over free nodes; NodeLocal toggles) and
counts every change, so tests assert "exactly one change".
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from netguard.alerts.fingerprint import fingerprint
from netguard.alerts.models import Alert, AllowanceKind, Status, frozen_map
from netguard.config.clusters import ClusterConfig
from netguard.config.remediate import Settings
from netguard.dns import ClusterDns, CoreDnsPod, OwnerKind, ReplicaOwner
from netguard.enriched import DnsContext, EnrichedAlert, EnrichedEvent, EventType, NodeInfo
from netguard.remediate.actuators import ActuatorError, ChangeResult, ReplicaFloor
from netguard.remediate.cluster import ClusterHandle, snapshot
from netguard.remediate.killswitch import KillSwitchState
from netguard.remediate.service import FollowUp

NOW = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def linklocal_alert(
    node: str,
    *,
    status: str = "firing",
    started: float = NOW - 600,
    rate: float | None = 500.0,
    bypass: Sequence[str] = (),
    alertname: str = "LinklocalAllowanceExceededPersisting",
    annotations: Mapping[str, str] | None = None,
    labels: Mapping[str, str | None] | None = None,
    ended: float | None = None,
    timed: bool = True,
    ambiguity: str = "",
    allowance: AllowanceKind = AllowanceKind.LINKLOCAL,
) -> EnrichedAlert:
    """An alert of the shipped remediation rule by default (its name and `netguard_remediate` label);
    `labels` adds to or overrides the labels, a None value removes one."""
    base = {
        "alertname": alertname,
        "instance": f"10.0.0.{abs(hash(node)) % 250}:9100",
        "node": node,
        "cluster": "prod",
        "netguard_remediate": "dns",
        **(labels or {}),
    }
    final = {k: v for k, v in base.items() if v is not None}
    alert = Alert(
        status=Status(status),
        labels=frozen_map(final),
        annotations=frozen_map(annotations or {}),
        starts_at=datetime.fromtimestamp(started, UTC) if timed else None,
        ends_at=datetime.fromtimestamp(ended, UTC) if ended is not None and timed else None,
        generator_url="",
        fingerprint=fingerprint(final),
        allowance=allowance,
        ambiguity=ambiguity,
    )
    return EnrichedAlert(
        alert=alert,
        cluster="prod",
        node=NodeInfo(name=node),
        drop_rate_per_second=rate,
        dns=DnsContext(dns_bypass_pods=tuple(bypass)),
    )


def event(
    *alerts: EnrichedAlert,
    event_id: str = "msg-1",
    status: str = "firing",
    cluster: str = "prod",
    group_id: str = "netguard/prod/LinklocalAllowanceExceeded",
    alertname: str = "LinklocalAllowanceExceededPersisting",
) -> EnrichedEvent:
    return EnrichedEvent(
        event_type=EventType.ALERT_GROUP,
        event_id=event_id,
        group_id=group_id,
        cluster=cluster,
        status=status,
        alertname=alertname,
        severity="warning",
        alerts=tuple(alerts),
    )


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "enriched_topic_arn": "arn:aws:sns:us-east-1:123456789012:enriched",
        "state_table": "state",
        "followup_queue_url": "https://sqs/queue",
        "kill_switch_parameter": "/netguard/kill",
        "region": "us-east-1",
        "clusters": {"prod": ClusterConfig(name="prod", eks_name="prod-eks", region="us-east-1")},
        "default_cluster": "prod",
        "lock_wait_seconds": 30.0,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class FakeCluster:
    """CoreDNS as a plain Deployment over `nodes`; pods fill nodes without CoreDNS first."""

    nodes: list[str] = field(default_factory=lambda: [f"node-{i}" for i in range(6)])
    pods: dict[str, int] = field(default_factory=lambda: {"node-0": 1, "node-1": 1})
    kube_proxy_mode: str = "iptables"
    nodelocal: bool = False
    owner: str = "deployment"
    fail_with: Exception | None = None
    changes: list[str] = field(default_factory=list)
    observed: int = 0
    fresh: int = 0
    """Replicas started by the last raise; Ready at the next look (time passes between invocations)."""
    pdb_blocks: int = 0
    """Evictions a PodDisruptionBudget refuses (HTTP 429) before it allows them."""
    constraints: list[str] | None = None
    """The Deployment's topologySpreadConstraints (None: none)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def replicas(self) -> int:
        return sum(self.pods.values())

    def dns(self) -> ClusterDns:
        pods = tuple(
            CoreDnsPod(name=f"coredns-{node}-{i}", node_name=node, ready=True, phase="Running")
            for node, count in sorted(self.pods.items())
            for i in range(count)
        )
        return ClusterDns(
            coredns_desired=self.replicas,
            coredns_ready=self.replicas,
            pods=pods,
            owner=ReplicaOwner(OwnerKind.DEPLOYMENT, "coredns"),
            nodelocal_enabled=self.nodelocal,
            kube_proxy_mode=self.kube_proxy_mode,
            kube_dns_ip="10.100.0.10",
            cluster_domain="cluster.local",
        )

    def _scale_to(self, target: int) -> None:
        while self.replicas < target:
            free = [n for n in self.nodes if self.pods.get(n, 0) == 0]
            node = free[0] if free else min(self.nodes, key=lambda n: self.pods.get(n, 0))
            self.pods[node] = self.pods.get(node, 0) + 1
        while self.replicas > target:
            node = max(self.pods, key=lambda n: (self.pods[n], n))
            self.pods[node] -= 1
            if not self.pods[node]:
                del self.pods[node]

    # --- CoreDnsPort ---
    def read(self) -> ReplicaFloor:
        return ReplicaFloor(self.owner, self.replicas, self.replicas, {})

    def _snap(self) -> dict[str, Any]:
        return {"owner": self.owner, "floor": self.replicas, "replicas": self.replicas}

    def raise_floor(self, target: int, *, dry_run: bool) -> ChangeResult:
        with self.lock:
            if self.fail_with is not None:
                raise self.fail_with
            before = self._snap()
            if self.replicas >= target:
                return ChangeResult(False, dry_run, before, before, f"already {self.replicas} replicas")
            if dry_run:
                return ChangeResult(
                    False,
                    True,
                    before,
                    {**before, "floor": target, "replicas": target},
                    f"would scale to {target}",
                )
            self._scale_to(target)
            self.fresh = target - before["replicas"]
            self.changes.append(f"scale {before['replicas']}->{target}")
            return ChangeResult(True, False, before, self._snap(), f"scaled to {target}")

    def restore(self, original: Mapping[str, Any], *, dry_run: bool) -> ChangeResult:
        with self.lock:
            before = self._snap()
            wanted = int(original["replicas"])
            if dry_run:
                return ChangeResult(
                    False, True, before, {**before, "replicas": wanted}, f"would restore {wanted}"
                )
            self._scale_to(wanted)
            self.changes.append(f"restore {before['replicas']}->{wanted}")
            return ChangeResult(True, False, before, self._snap(), f"restored {wanted}")

    # --- NodeLocalPort ---
    def is_enabled(self) -> bool:
        return self.nodelocal

    def enable(self, dns: ClusterDns, *, dry_run: bool) -> ChangeResult:
        with self.lock:
            if dns.kube_proxy_mode != "iptables":
                raise ActuatorError("ipvs")
            if dry_run:
                return ChangeResult(False, True, {"objects": []}, {"objects": ["DaemonSet"]}, "would apply")
            self.nodelocal = True
            self.changes.append("enable nodelocal")
            return ChangeResult(True, False, {"objects": []}, {"objects": ["DaemonSet"]}, "applied")

    def disable(self, *, dry_run: bool) -> ChangeResult:
        with self.lock:
            if dry_run or not self.nodelocal:
                return ChangeResult(False, dry_run, {"objects": []}, {"objects": []}, "would delete")
            self.nodelocal = False
            self.changes.append("disable nodelocal")
            return ChangeResult(True, False, {"objects": ["DaemonSet"]}, {"objects": []}, "deleted")

    # --- Connector ---
    def connect(self, config: ClusterConfig, now: float) -> ClusterHandle:
        with self.lock:
            self.observed += 1
            self.fresh = 0
            dns = self.dns()
            return ClusterHandle(
                state=snapshot(config.name, now, dns, self.read(), nodes=[_node(n) for n in self.nodes]),
                dns=dns,
                coredns=self,
                nodelocal=self,
                spread=FakeSpread(self),
            )


@dataclass
class FakeSpread:
    """The spread actuator over a FakeCluster: durable constraint, evictions that wait for Ready
    replicas and for the PodDisruptionBudget, evicted pods rescheduled on the emptiest node."""

    cluster: FakeCluster

    def read(self) -> dict[str, Any]:
        return {"owner": "deployment", "topologySpreadConstraints": self.cluster.constraints}

    def spread(self, per_node: int, *, desired: int, dry_run: bool) -> ChangeResult:
        c = self.cluster
        with c.lock:
            before = {"original": self.read(), "pods": dict(c.pods)}
            durable = c.constraints is None
            extras = [(node, n - per_node) for node, n in sorted(c.pods.items()) if n > per_node]
            would = [f"kube-system/coredns-{node}-{i} (on {node})" for node, k in extras for i in range(k)]
            if dry_run:
                after = {"durable": durable, "evicted": [], "would_evict": would, "pending": ""}
                return ChangeResult(False, True, before, after, "would evict " + ", ".join(would))
            if durable:
                c.constraints = ["hostname"]
                c.changes.append("durable spread")
            evicted: list[str] = []
            pending = ""
            if extras and c.fresh:
                pending = f"{c.replicas - c.fresh} of {desired} replicas Ready"
            for node, k in extras if not pending else ():
                for _ in range(k):
                    if c.pdb_blocks:
                        c.pdb_blocks -= 1
                        pending = "a PodDisruptionBudget does not allow evicting now"
                        break
                    c.pods[node] -= 1
                    free = min(c.nodes, key=lambda n: (c.pods.get(n, 0), n))
                    c.pods[free] = c.pods.get(free, 0) + 1
                    evicted.append(node)
                    c.changes.append(f"evict from {node}")
            after = {"durable": durable, "evicted": evicted, "would_evict": [], "pending": pending}
            return ChangeResult(
                durable or bool(evicted), False, before, after, f"evicted {evicted}; {pending}"
            )

    def restore(self, original: Mapping[str, Any], *, dry_run: bool) -> ChangeResult:
        c = self.cluster
        with c.lock:
            before = self.read()
            if not dry_run:
                c.constraints = original.get("topologySpreadConstraints")
                c.changes.append("restore spread")
            return ChangeResult(not dry_run, dry_run, before, dict(original), "restored spread")


class Recorder:
    """Publisher and follow-up sender that keep what they were given."""

    def __init__(self) -> None:
        self.events: list[EnrichedEvent] = []
        self.follow_ups: list[tuple[FollowUp, int]] = []
        self._lock = threading.Lock()

    def publish(self, event: EnrichedEvent) -> None:
        with self._lock:
            self.events.append(event)

    def send(self, message: FollowUp, *, delay_seconds: int) -> None:
        with self._lock:
            self.follow_ups.append((message, delay_seconds))

    @property
    def reports(self) -> list[Any]:
        return [e.remediation for e in self.events]


class FakeKillSwitch:
    parameter = "/netguard/kill"

    def __init__(self) -> None:
        self.engaged = False
        self.reads = 0

    def read(self, cluster: str) -> KillSwitchState:
        self.reads += 1
        return KillSwitchState(self.engaged, "kill switch engaged" if self.engaged else "")

    def set(self, cluster: str | None, *, paused: bool) -> dict[str, Any]:
        self.engaged = paused
        return {"all": paused, "clusters": []}


def _node(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
