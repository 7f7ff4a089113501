"""The Kubernetes rows of the attack table, on the real API server as the remediation identity.

deploy/rbac/ is applied (RBAC and the admission policy). Every attack is a request the identity could
send (server-side dry run where the API offers one, so an attack that got through would change
nothing), each expected to be denied: by the admission policy where RBAC must allow the verb, by RBAC
elsewhere. Every legitimate action runs through netguard's own actuators as that identity, for real,
each expected to be allowed: scaling through every owner and reverting, spreading and reverting,
evicting a CoreDNS replica, enabling and disabling NodeLocal DNSCache.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from netguard.clients.kubernetes import JsonObject, KubeApiError
from netguard.remediate.actuators.nodelocal import object_path, render_manifest
from netguard.remediate.actuators.spread import hostname_constraint
from netguard_cli.localstack.processes import wait_until
from tests.attacks.kube import (
    APPS,
    CORE,
    HPA,
    KS,
    LADDER,
    LADDER_CM,
    LINEAR,
    LINEAR_CM,
    attempt,
    configmap,
    pod_spec,
)
from tests.integration.k8s.test_rbac import rbac_applied  # noqa: F401 -- a fixture
from tests.support.k8s import COREDNS, JSON_PATCH, K8sCluster, PathKube
from tests.support.placement import create_coredns_hpa

pytestmark = [pytest.mark.integration, pytest.mark.k8s]

EVIL_DNS = "203.0.113.53"
OTHER_POD = "aws-node-7xq2k"
"""A kube-system pod that is not CoreDNS (as the VPC CNI's DaemonSet names its pods)."""


# --- how an attempt is made and judged -----------------------------------------------------------


@dataclass
class Scene:
    """The session cluster with the objects the attacks aim at, and the remediation identity's client."""

    k8s: K8sCluster
    remediate: PathKube
    kube_dns_ip: str
    coredns_pod: str

    def merge(self, path: str, body: Any) -> JsonObject:
        return self.remediate.patch(path, body, dry_run=True)

    def json_patch(self, path: str, ops: list[dict[str, Any]]) -> JsonObject:
        query: dict[str, str | None] = {"dryRun": "All", "fieldManager": "netguard"}
        return self.remediate.request("PATCH", path, body=ops, query=query, content_type=JSON_PATCH)

    def apply(self, obj: JsonObject) -> JsonObject:
        return self.remediate.apply_at(
            object_path(obj), obj, field_manager="netguard", force=True, dry_run=True
        )

    def create(self, path: str, body: JsonObject) -> JsonObject:
        return self.remediate.request(
            "POST", path, body=body, query={"dryRun": "All", "fieldManager": "netguard"}
        )

    def delete(self, path: str) -> JsonObject:
        return self.remediate.request("DELETE", path, query={"dryRun": "All"})

    def evict(self, pod: str, **extra: Any) -> JsonObject:
        body = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": pod, "namespace": KS},
            **extra,
        }
        return self.create(f"{CORE}/pods/{pod}/eviction", body)

    def nodelocal(
        self, kind: str, *, kube_dns_ip: str | None = None, local_ip: str = "169.254.20.10"
    ) -> JsonObject:
        for obj in render_manifest(kube_dns_ip or self.kube_dns_ip, local_ip):
            if obj["kind"] == kind and obj["metadata"]["name"] in ("node-local-dns", "kube-dns-upstream"):
                return copy.deepcopy(obj)
        raise AssertionError(kind)


def _changed(obj: JsonObject, change: Callable[[JsonObject], None]) -> JsonObject:
    change(obj)
    return obj


def _corefile(scene: Scene, edit: Callable[[str], str], *, local_ip: str = "169.254.20.10") -> JsonObject:
    configmap = scene.nodelocal("ConfigMap", local_ip=local_ip)
    configmap["data"]["Corefile"] = edit(configmap["data"]["Corefile"])
    return configmap


def _daemonset(scene: Scene, change: Callable[[dict[str, Any]], None], **kwargs: Any) -> JsonObject:
    daemonset = scene.nodelocal("DaemonSet", **kwargs)
    change(pod_spec(daemonset))
    return daemonset


def _container(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda pod: change(pod["containers"][0])


def _template(spec: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"template": {"spec": spec}}}


def _cpa(name: str, key: str, params: Any) -> dict[str, Any]:
    return {"data": {key: params if isinstance(params, str) else json.dumps(params)}}


# --- the attacks (each expected denied) ------------------------------------------------------------

ATTACKS: list[tuple[str, Callable[[Scene], object]]] = [
    # The coredns Deployment: only netguard's spread constraint may change.
    (
        "coredns: dnsPolicy None, nameservers [203.0.113.53] (all external lookups)",
        lambda s: s.merge(
            COREDNS, _template({"dnsPolicy": "None", "dnsConfig": {"nameservers": [EVIL_DNS]}})
        ),
    ),
    (
        "coredns: a nodeSelector no node matches",
        lambda s: s.merge(COREDNS, _template({"nodeSelector": {"netguard.example/none": "x"}})),
    ),
    (
        "coredns: strategy maxUnavailable 100%",
        lambda s: s.merge(COREDNS, {"spec": {"strategy": {"rollingUpdate": {"maxUnavailable": "100%"}}}}),
    ),
    ("coredns: spec.replicas 0 on the Deployment", lambda s: s.merge(COREDNS, {"spec": {"replicas": 0}})),
    (
        "coredns: another image",
        lambda s: s.json_patch(
            COREDNS,
            [
                {
                    "op": "replace",
                    "path": "/spec/template/spec/containers/0/image",
                    "value": "registry.example/evil:1",
                }
            ],
        ),
    ),
    (
        "coredns: another ServiceAccount",
        lambda s: s.merge(COREDNS, _template({"serviceAccountName": "default"})),
    ),
    (
        "coredns: a DoNotSchedule spread on a label no node has (unsatisfiable)",
        lambda s: s.merge(
            COREDNS,
            _template(
                {
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "netguard.example/none",
                            "whenUnsatisfiable": "DoNotSchedule",
                            "labelSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ]
                }
            ),
        ),
    ),
    (
        "coredns: a required anti-affinity per OS (one replica in all)",
        lambda s: s.json_patch(
            COREDNS,
            [
                {
                    "op": "replace",
                    "path": "/spec/template/spec/affinity/podAntiAffinity",
                    "value": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [
                            {"labelSelector": {}, "topologyKey": "kubernetes.io/os"}
                        ]
                    },
                }
            ],
        ),
    ),
    (
        "coredns: a toleration of every taint",
        lambda s: s.merge(COREDNS, _template({"tolerations": [{"operator": "Exists"}]})),
    ),
    ("coredns: a label on the Deployment", lambda s: s.merge(COREDNS, {"metadata": {"labels": {"x": "y"}}})),
    # The replica count, through each owner.
    ("coredns scale subresource to 0", lambda s: s.merge(f"{COREDNS}/scale", {"spec": {"replicas": 0}})),
    (
        "coredns scale subresource to 1 (below the floor)",
        lambda s: s.merge(f"{COREDNS}/scale", {"spec": {"replicas": 1}}),
    ),
    (
        "coredns scale subresource to 5000 (above the ceiling)",
        lambda s: s.merge(f"{COREDNS}/scale", {"spec": {"replicas": 5000}}),
    ),
    ("HPA: minReplicas 1 (below the floor)", lambda s: s.merge(HPA, {"spec": {"minReplicas": 1}})),
    (
        "HPA: scaleTargetRef to another Deployment",
        lambda s: s.merge(HPA, {"spec": {"scaleTargetRef": {"name": "aws-load-balancer-controller"}}}),
    ),
    (
        "HPA: metrics changed (CPU target 1%)",
        lambda s: s.merge(
            HPA,
            {
                "spec": {
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": 1},
                            },
                        }
                    ]
                }
            },
        ),
    ),
    (
        "autoscaler linear: min 0",
        lambda s: s.merge(f"{CORE}/configmaps/{LINEAR_CM}", _cpa(LINEAR_CM, "linear", {**LINEAR, "min": 0})),
    ),
    (
        "autoscaler linear: nodesPerReplica changed",
        lambda s: s.merge(
            f"{CORE}/configmaps/{LINEAR_CM}", _cpa(LINEAR_CM, "linear", {**LINEAR, "nodesPerReplica": 1})
        ),
    ),
    (
        "autoscaler linear: a key added (a string hiding ',\"min\":9')",
        lambda s: s.merge(
            f"{CORE}/configmaps/{LINEAR_CM}", _cpa(LINEAR_CM, "linear", {**LINEAR, "min": 3, "x": ',"min":9'})
        ),
    ),
    (
        "autoscaler ladder: every step to 1",
        lambda s: s.merge(
            f"{CORE}/configmaps/{LADDER_CM}",
            _cpa(LADDER_CM, "ladder", {"coresToReplicas": [[1, 1]], "nodesToReplicas": [[1, 1]]}),
        ),
    ),
    (
        "autoscaler ladder: a step's threshold moved",
        lambda s: s.merge(
            f"{CORE}/configmaps/{LADDER_CM}",
            _cpa(LADDER_CM, "ladder", {**LADDER, "coresToReplicas": [[1, 2], [640000, 3]]}),
        ),
    ),
    (
        "autoscaler ConfigMap: another data key",
        lambda s: s.merge(f"{CORE}/configmaps/{LINEAR_CM}", {"data": {"extra": "1"}}),
    ),
    (
        "create a cluster-proportional-autoscaler ConfigMap",
        lambda s: s.create(
            f"{CORE}/configmaps",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "dns-autoscaler", "namespace": KS},
            },
        ),
    ),
    # NodeLocal DNSCache: as rendered, nothing else.
    (
        "node-local-dns Corefile: forward . 203.0.113.53",
        lambda s: s.apply(_corefile(s, lambda c: c.replace("__PILLAR__UPSTREAM__SERVERS__", EVIL_DNS))),
    ),
    (
        "node-local-dns Corefile: an extra zone forwarded to 203.0.113.53",
        lambda s: s.apply(
            _corefile(s, lambda c: c + f"example.com:53 {{\n    forward . {EVIL_DNS}\n    }}\n")
        ),
    ),
    (
        "node-local-dns Corefile: listening on 169.254.169.254 (instance metadata)",
        lambda s: s.apply(_corefile(s, lambda c: c, local_ip="169.254.169.254")),
    ),
    (
        "node-local-dns Corefile: another key beside Corefile",
        lambda s: s.apply(_changed(s.nodelocal("ConfigMap"), lambda o: o["data"].update(extra="x"))),
    ),
    (
        "node-local-dns DaemonSet: -localip 169.254.169.254 on the host network",
        lambda s: s.apply(_daemonset(s, lambda p: None, local_ip="169.254.169.254")),
    ),
    (
        "node-local-dns DaemonSet: cluster DNS IP 203.0.113.53 (public)",
        lambda s: s.apply(_daemonset(s, lambda p: None, kube_dns_ip=EVIL_DNS)),
    ),
    (
        "node-local-dns DaemonSet: a Secret volume",
        lambda s: s.apply(
            _daemonset(s, lambda p: p["volumes"].append({"name": "s", "secret": {"secretName": "x"}}))
        ),
    ),
    (
        "node-local-dns DaemonSet: dnsPolicy None, nameservers [203.0.113.53]",
        lambda s: s.apply(
            _daemonset(s, lambda p: p.update(dnsPolicy="None", dnsConfig={"nameservers": [EVIL_DNS]}))
        ),
    ),
    (
        "node-local-dns DaemonSet: another image",
        lambda s: s.apply(_daemonset(s, _container(lambda c: c.update(image="registry.example/evil:1")))),
    ),
    (
        "node-local-dns DaemonSet: a command override",
        lambda s: s.apply(
            _daemonset(s, _container(lambda c: c.update(command=["/bin/sh", "-c", "iptables -F"])))
        ),
    ),
    (
        "node-local-dns DaemonSet: args changed (-conf elsewhere)",
        lambda s: s.apply(_daemonset(s, _container(lambda c: c["args"].__setitem__(3, "/etc/kube-dns/x")))),
    ),
    (
        "node-local-dns DaemonSet: privileged",
        lambda s: s.apply(
            _daemonset(s, _container(lambda c: c.update(securityContext={"privileged": True})))
        ),
    ),
    (
        "node-local-dns DaemonSet: an extra host port",
        lambda s: s.apply(
            _daemonset(
                s,
                _container(
                    lambda c: c["ports"].append(
                        {"containerPort": 10255, "hostPort": 10255, "name": "x", "protocol": "TCP"}
                    )
                ),
            )
        ),
    ),
    (
        "node-local-dns DaemonSet: the host's root mounted",
        lambda s: s.apply(
            _daemonset(s, lambda p: p["volumes"].append({"name": "root", "hostPath": {"path": "/"}}))
        ),
    ),
    ("node-local-dns DaemonSet: hostPID", lambda s: s.apply(_daemonset(s, lambda p: p.update(hostPID=True)))),
    (
        "node-local-dns DaemonSet: another ServiceAccount",
        lambda s: s.apply(_daemonset(s, lambda p: p.update(serviceAccountName="coredns"))),
    ),
    (
        "kube-dns-upstream: selector on other pods",
        lambda s: s.apply(
            _changed(s.nodelocal("Service"), lambda o: o["spec"].update(selector={"k8s-app": "x"}))
        ),
    ),
    (
        "kube-dns-upstream: type NodePort",
        lambda s: s.apply(_changed(s.nodelocal("Service"), lambda o: o["spec"].update(type="NodePort"))),
    ),
    (
        "a DaemonSet of another name with the node-cache image",
        lambda s: s.create(
            f"{APPS}/daemonsets",
            _changed(s.nodelocal("DaemonSet"), lambda o: o["metadata"].update(name="helper")),
        ),
    ),
    (
        "an aws-auth ConfigMap",
        lambda s: s.create(
            f"{CORE}/configmaps",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "aws-auth", "namespace": KS},
                "data": {
                    "mapRoles": "- rolearn: arn:aws:iam::123456789012:role/x\n  groups: [system:masters]\n"
                },
            },
        ),
    ),
    # Evictions: CoreDNS replicas only.
    (f"evict {OTHER_POD} (not CoreDNS) in kube-system", lambda s: s.evict(OTHER_POD)),
    (
        "evict a CoreDNS pod with gracePeriodSeconds 0",
        lambda s: s.evict(s.coredns_pod, deleteOptions={"gracePeriodSeconds": 0}),
    ),
    # Reads and writes outside the grant.
    ("read a Secret in kube-system", lambda s: s.remediate.get(f"{CORE}/secrets/anything")),
    ("list pods in another namespace", lambda s: s.remediate.list("/api/v1/namespaces/default/pods")),
    ("list pods of every namespace", lambda s: s.remediate.list("/api/v1/pods")),
    ("read one node", lambda s: s.remediate.get(f"/api/v1/nodes/{s.k8s.nodes[0].name}")),
    (
        "patch the coredns ConfigMap (its Corefile)",
        lambda s: s.merge(
            f"{CORE}/configmaps/coredns", {"data": {"Corefile": f".:53 {{\n forward . {EVIL_DNS}\n}}\n"}}
        ),
    ),
    (
        "patch the kube-proxy ConfigMap",
        lambda s: s.merge(f"{CORE}/configmaps/kube-proxy", {"data": {"x": "y"}}),
    ),
    ("delete the kube-dns Service", lambda s: s.delete(f"{CORE}/services/kube-dns")),
    ("delete the coredns Deployment", lambda s: s.delete(COREDNS)),
]


# The same requests unchanged (or changed as netguard changes them) are admitted: so each denial above
# is about what the attack changed, not about the object it starts from.
CONTROLS: list[tuple[str, Callable[[Scene], object]]] = [
    (
        "coredns: netguard's hostname spread constraint (dry run)",
        lambda s: s.merge(
            COREDNS,
            _template(
                {
                    "topologySpreadConstraints": [
                        hostname_constraint(s.remediate.get(COREDNS)["spec"]["selector"]["matchLabels"])
                    ]
                }
            ),
        ),
    ),
    (
        "coredns scale subresource to 3 (dry run)",
        lambda s: s.merge(f"{COREDNS}/scale", {"spec": {"replicas": 3}}),
    ),
    ("HPA: minReplicas 4 (dry run)", lambda s: s.merge(HPA, {"spec": {"minReplicas": 4}})),
    (
        "autoscaler linear: min 4 (dry run)",
        lambda s: s.merge(f"{CORE}/configmaps/{LINEAR_CM}", _cpa(LINEAR_CM, "linear", {**LINEAR, "min": 4})),
    ),
    (
        "autoscaler ladder: steps raised to 4 (dry run)",
        lambda s: s.merge(
            f"{CORE}/configmaps/{LADDER_CM}",
            _cpa(LADDER_CM, "ladder", {**LADDER, "coresToReplicas": [[1, 4], [64, 4]]}),
        ),
    ),
    *[
        (
            f"node-local-dns {kind} {name} as rendered (dry run)",
            lambda s, kind=kind, name=name: s.apply(
                next(
                    o
                    for o in render_manifest(s.kube_dns_ip)
                    if (o["kind"], o["metadata"]["name"]) == (kind, name)
                )
            ),
        )
        for kind, name in [
            ("ServiceAccount", "node-local-dns"),
            ("Service", "kube-dns-upstream"),
            ("ConfigMap", "node-local-dns"),
            ("DaemonSet", "node-local-dns"),
            ("Service", "node-local-dns"),
        ]
    ],
    ("evict a CoreDNS pod (dry run)", lambda s: s.evict(s.coredns_pod)),
]


def _other_pod(node: str) -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": OTHER_POD, "namespace": KS, "labels": {"k8s-app": "aws-node"}},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
    }


def _remove_other_pod(admin: PathKube) -> None:
    try:
        admin.request("DELETE", f"{CORE}/pods/{OTHER_POD}", query={"gracePeriodSeconds": "0"})
    except KubeApiError:
        return
    wait_until(
        lambda: OTHER_POD not in {p["metadata"]["name"] for p in admin.list(f"{CORE}/pods")},
        what=f"{OTHER_POD} gone",
    )


@pytest.fixture(scope="module")
def scene(rbac_applied: K8sCluster) -> Iterator[Scene]:  # noqa: F811 -- the imported fixture
    """Every object an attack aims at exists (created by the admin): an HPA, both autoscaler ConfigMaps,
    NodeLocal DNSCache as netguard renders it, a kube-system pod that is not CoreDNS."""
    k8s = rbac_applied
    k8s.reset_dns()
    admin = k8s.admin
    create_coredns_hpa(admin)
    admin.create(f"{CORE}/configmaps", configmap(LINEAR_CM, "linear", LINEAR))
    admin.create(f"{CORE}/configmaps", configmap(LADDER_CM, "ladder", LADDER))
    kube_dns_ip = admin.get(f"{CORE}/services/kube-dns")["spec"]["clusterIP"]
    for obj in render_manifest(kube_dns_ip):
        admin.apply_at(object_path(obj), obj, field_manager="netguard", force=True)
    admin.create(f"{CORE}/pods", _other_pod(k8s.nodes[0].name))
    pods = admin.list(f"{CORE}/pods", label_selector="k8s-app=kube-dns")
    try:
        yield Scene(k8s, k8s.client("remediate"), kube_dns_ip, pods[0]["metadata"]["name"])
    finally:
        _remove_other_pod(admin)
        k8s.reset_dns()


@pytest.mark.parametrize(("name", "control"), CONTROLS, ids=[name for name, _ in CONTROLS])
def test_control_is_admitted(scene: Scene, name: str, control: Callable[[Scene], object]) -> None:
    """What netguard itself sends to the same objects is admitted (dry run)."""
    row = attempt(name, "k8s", "allowed", lambda: control(scene))
    assert row.ok, f"{name}: expected allowed, got {row.got} {row.by}"


@pytest.mark.parametrize(("name", "attack"), ATTACKS, ids=[name for name, _ in ATTACKS])
def test_attack_is_denied(scene: Scene, name: str, attack: Callable[[Scene], object]) -> None:
    """The remediation identity's attempt answers 403 (dry run where the API has one: nothing changes)."""
    row = attempt(name, "k8s", "denied", lambda: attack(scene))
    assert row.ok, f"{name}: expected denied, got {row.got} {row.by}"
