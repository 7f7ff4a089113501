"""Emulated replica owners undo a change that did not go through them; the load model reads placement."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from netguard_cli.localstack.dnsload import LOAD_ANNOTATION, observe_traffic
from netguard_cli.localstack.owners import ReplicaOwnerLoop
from tests.support.fakekube import FakeKube, pod


class ScaleOnly:
    """Just coredns's scale subresource, through the typed methods `Kube` runs, every write recorded."""

    def __init__(self, replicas: int) -> None:
        self.replicas = replicas
        self.writes: list[int] = []
        self.apps = SimpleNamespace(
            read_namespaced_deployment_scale=self._read, patch_namespaced_deployment_scale=self._patch
        )

    def call(self, method: Any, *args: Any, **_: Any) -> dict[str, Any]:
        result: dict[str, Any] = method(*args)
        return result

    def merge(self, method: Any, *args: Any, patch: dict[str, Any], **_: Any) -> dict[str, Any]:
        result: dict[str, Any] = method(*args, patch)
        return result

    def _read(self, name: str, namespace: str) -> dict[str, Any]:
        assert (name, namespace) == ("coredns", "kube-system")
        return {"spec": {"replicas": self.replicas}}

    def _patch(self, name: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        assert (name, namespace) == ("coredns", "kube-system")
        self.replicas = int(body["spec"]["replicas"])
        self.writes.append(self.replicas)
        return body


class TestReplicaOwnerLoop:
    def test_a_raise_written_only_to_replicas_is_undone(self) -> None:
        """The owner still asks for 2, so spec.replicas=4 goes back to 2 at the next round."""
        kube = ScaleOnly(4)
        seen: list[tuple[str, int, int]] = []
        loop = ReplicaOwnerLoop("cpa", kube, lambda: 2, on_write=lambda *a: seen.append(a))  # type: ignore[arg-type]
        loop.reconcile()
        assert (kube.replicas, kube.writes, seen, loop.rounds) == (2, [2], [("cpa", 4, 2)], 1)

    def test_a_raise_through_the_owner_stays(self) -> None:
        """When the owner's own setting asks for 4, a round writes nothing."""
        kube = ScaleOnly(4)
        loop = ReplicaOwnerLoop("eks-addon", kube, lambda: 4)  # type: ignore[arg-type]
        loop.reconcile()
        assert (kube.replicas, kube.writes, loop.rounds) == (4, [], 1)


class TestObserveTraffic:
    def test_reads_coredns_nodelocal_and_annotated_bypass_pods(self) -> None:
        """Ready pods only; bypass load only from host-network or dnsPolicy Default pods."""
        dns, cache = {"k8s-app": "kube-dns"}, {"k8s-app": "node-local-dns"}
        agent = pod("agent", "c", namespace="default", host_network=True)
        agent["metadata"]["annotations"] = {LOAD_ANNOTATION: "900"}
        ordinary = pod("web", "c", namespace="default")
        ordinary["metadata"]["annotations"] = {LOAD_ANNOTATION: "500"}  # uses cluster DNS: not a bypass
        kube = FakeKube().add(
            "/api/v1/namespaces/kube-system/pods",
            pod("coredns-1", "a", labels=dns),
            pod("coredns-2", "a", labels=dns),
            pod("coredns-3", "b", labels=dns, ready=False),
            pod("node-local-dns-x", "b", labels=cache),
        )
        kube.add("/api/v1/namespaces/default/pods", agent, ordinary)
        traffic = observe_traffic(kube, ["a", "b", "c"])
        assert traffic.coredns == ("a", "a")
        assert traffic.nodelocal == frozenset({"b"})
        assert dict(traffic.bypass) == {"c": 900.0}
