"""The remediation role is as narrow as the code: what it grants, the code calls, and nothing more.

The local kube-apiserver writes an audit log (Metadata level) of every request by a member of a netguard
group (see `AUDIT_POLICY` in netguard_cli.localstack.cluster). One test runs the remediation code, as
the `remediate` identity, through every path that touches Kubernetes: the Lambda handler on an alert
(observe, scale through the scale subresource), `netguard remediation revert` (the same function, the
operator's path), and the actuators the handler would pick for the other owners and actions (HPA,
both cluster-proportional-autoscaler ConfigMaps, spreading through the Deployment and through the
Eviction API, NodeLocal DNSCache enabled, updated and disabled). From the log it derives the set of
(verb, resource[/subresource], namespace, name) the code used and compares it with
deploy/rbac/remediate.yaml, both ways:

- every call made is granted (and none was refused);
- every granted (verb, resource, name) is used, or listed in `UNUSED_BY_DESIGN` with the reason the
  test cannot reach it. A stale explanation (the grant is used after all, or no longer exists) fails
  too, so the list cannot rot.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from netguard.dns import observe_cluster_dns
from netguard.remediate.actuators import HpaActuator, NodeLocalDnsActuator, ProportionalAutoscalerActuator
from netguard.remediate.actuators.spread import AddonSpreadOwner, DeploymentSpreadOwner, SpreadActuator
from netguard_cli.localstack import cluster, seed
from netguard_cli.localstack.models import IDENTITIES
from netguard_cli.localstack.processes import wait_until
from tests.attacks.kube import LADDER, LADDER_CM, LINEAR, LINEAR_CM, configmap
from tests.integration import test_remediate as flows
from tests.integration.test_remediate import rig  # noqa: F401 -- a fixture
from tests.integration.test_spread import NO_SPREAD_SCHEMA
from tests.support.eks_addons import EksAddonEndpoint
from tests.support.placement import create_coredns_hpa, place_all_on, placement

pytestmark = [pytest.mark.integration, pytest.mark.k8s]

RBAC_FILE = cluster.RBAC_DIR / "remediate.yaml"
GROUP = "netguard:remediate"
KS = seed.KUBE_SYSTEM
SELECTOR = "k8s-app=kube-dns"
LABELS = {"k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns"}

UNUSED_BY_DESIGN: Mapping[tuple[str, str, str], str] = {}
"""(verb, resource[/subresource], name or "") granted but not called by these flows -> why it stays."""


@dataclass(frozen=True, order=True)
class Call:
    verb: str
    group: str
    resource: str
    """`resource` or `resource/subresource`."""
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.verb} {self.group or 'core'}/{self.resource} {where}{self.name or '*'}"


@dataclass(frozen=True)
class Grant:
    verb: str
    group: str
    resource: str
    name: str
    """One element of `resourceNames`, or "" when the rule names none."""
    namespace: str
    """The Role's namespace, or "" for the ClusterRole (every namespace and cluster-scoped objects)."""

    def covers(self, call: Call) -> bool:
        return (
            self.verb == call.verb
            and self.group == call.group
            and self.resource == call.resource
            and self.name in ("", call.name)
            and self.namespace in ("", call.namespace)
        )

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.verb, self.resource, self.name)


def grants(path: Path) -> list[Grant]:
    """Every (verb, resource, name) the Role and ClusterRole grant, bound to `GROUP` (bindings checked)."""
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    bound = {
        (d["roleRef"]["kind"], d["roleRef"]["name"], d["metadata"].get("namespace", ""))
        for d in documents
        if d["kind"] in ("RoleBinding", "ClusterRoleBinding")
        and any(s["kind"] == "Group" and s["name"] == GROUP for s in d["subjects"])
    }
    out: list[Grant] = []
    for doc in documents:
        if doc["kind"] not in ("Role", "ClusterRole"):
            continue
        namespace = doc["metadata"].get("namespace", "")
        assert (doc["kind"], doc["metadata"]["name"], namespace) in bound, (
            f"{doc['kind']} not bound to {GROUP}"
        )
        for rule in doc["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        for name in rule.get("resourceNames") or [""]:
                            out.append(Grant(verb, group, resource, name, namespace))
    return out


def audited_calls(log: Path, group: str, since: float, until: float) -> tuple[set[Call], list[str]]:
    """The calls members of `group` made between two epoch times, and those the server refused."""
    calls: set[Call] = set()
    refused: list[str] = []
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        if group not in (entry.get("user") or {}).get("groups", []):
            continue
        when = datetime.fromisoformat(str(entry["requestReceivedTimestamp"]).replace("Z", "+00:00"))
        if not since <= when.timestamp() <= until:
            continue
        ref = entry.get("objectRef") or {}
        resource = str(ref.get("resource", ""))
        if ref.get("subresource"):
            resource += f"/{ref['subresource']}"
        call = Call(
            str(entry["verb"]),
            str(ref.get("apiGroup", "")),
            resource,
            str(ref.get("namespace", "")),
            str(ref.get("name", "")),
        )
        calls.add(call)
        code = int((entry.get("responseStatus") or {}).get("code", 0))
        if call.verb == "patch" and code == 201:
            # A server-side apply that created the object: the API server authorized it as `create`
            # too (no audit event of its own), so the role needs both.
            calls.add(Call("create", call.group, call.resource, call.namespace, call.name))
        if code == 403:
            refused.append(
                f"{call}: {(entry.get('annotations') or {}).get('authorization.k8s.io/reason', '')}"
            )
    return calls, refused


def wait_for(what: str, ready: Any) -> None:
    wait_until(ready, what=what, timeout=60)


def run_every_remediation_path(handler: flows.Rig, eks_addons: EksAddonEndpoint, capsys: Any) -> None:
    """Each path of the remediation code that talks to Kubernetes, once, as the `remediate` identity."""
    k8s = handler.world.cluster
    admin = handler.admin
    remediate = k8s.client("remediate")

    # 1. The Lambda handler on an alert: observe, decide, raise CoreDNS through the scale subresource.
    handler.deliver(handler.alert_event(*sorted(handler.coredns_nodes())))
    assert handler.replicas() == 4, [r.reasons for r in handler.reports()]
    # 2. The operator's revert: the same function, back to the recorded original.
    (reverted,) = flows.TestOperatorCommands().run(capsys, "revert", "--cluster", flows.CLUSTER)
    assert (reverted["action"], reverted["outcome"]) == ("revert_coredns", "applied"), reverted
    assert handler.replicas() == seed.COREDNS_REPLICAS

    # 3. The other replica owners, through the actuators the handler picks for them.
    create_coredns_hpa(admin)
    hpa = HpaActuator(remediate, namespace=KS, hpa="coredns")
    raised = hpa.raise_floor(4, dry_run=False)
    assert raised.applied, raised.description
    assert hpa.restore(raised.before, dry_run=False).applied
    for name, mode, params in ((LINEAR_CM, "linear", LINEAR), (LADDER_CM, "ladder", LADDER)):
        admin.create(f"/api/v1/namespaces/{KS}/configmaps", configmap(name, mode, params))
        autoscaler = ProportionalAutoscalerActuator(remediate, namespace=KS, configmap=name)
        raised = autoscaler.raise_floor(4, dry_run=False)
        assert raised.applied, raised.description
        assert autoscaler.restore(raised.before, dry_run=False).applied
    k8s.reset_dns()

    # 4. Spreading: durable through the Deployment's pod template, and reverted ...
    owner = DeploymentSpreadOwner(remediate, namespace=KS, deployment="coredns")
    selector = ",".join(f"{k}={v}" for k, v in sorted(LABELS.items()))
    spread = SpreadActuator(remediate, owner, selector=selector).spread(1, desired=2, dry_run=False)
    assert spread.after["durable"], spread.description
    assert SpreadActuator(remediate, owner).restore(spread.before["original"], dry_run=False).applied
    k8s.reset_dns()
    # ... and, under an add-on whose schema offers no spread setting, through the Eviction API.
    eks_addons.add(seed.CLUSTER_NAME, values={"replicaCount": 2}, version="v1.9.3-eksbuild.22")
    eks_addons.schemas["v1.9.3-eksbuild.22"] = NO_SPREAD_SCHEMA
    hot = k8s.nodes[2].name
    place_all_on(k8s, hot, 2)
    addon_owner = AddonSpreadOwner(eks_addons.client(), seed.CLUSTER_NAME, match_labels=LABELS)
    evicted = SpreadActuator(remediate, addon_owner, selector=SELECTOR).spread(1, desired=2, dry_run=False)
    assert evicted.after["evicted"], evicted.description
    wait_for("the evicted replica replaced", lambda: placement(admin).get(hot, 0) <= 1)
    k8s.reset_dns()

    # 5. NodeLocal DNSCache: enabled, enabled again (an update of every object), disabled. Its
    # precondition reads kube-proxy's mode where EKS keeps it, `kube-proxy-config` (the seeded
    # `kube-proxy` also carries it, for other readers; taken out here, put back by the reset).
    admin.patch(f"/api/v1/namespaces/{KS}/configmaps/kube-proxy", {"data": {"config": None}})
    nodelocal = NodeLocalDnsActuator(remediate)
    dns = observe_cluster_dns(remediate)
    assert nodelocal.enable(dns, dry_run=False).applied
    nodelocal.enable(dns, dry_run=False)
    assert nodelocal.disable(dry_run=False).applied
    assert not nodelocal.is_enabled()


def compare(used: set[Call], granted: list[Grant]) -> tuple[list[Call], set[tuple[str, str, str]]]:
    """(calls no grant covers, granted (verb, resource, name) no call used)."""
    ungranted = [c for c in used if not any(g.covers(c) for g in granted)]
    unused = {g.key for g in granted if not any(g.covers(c) for c in used)}
    return ungranted, unused


def test_the_comparison_catches_both_directions(tmp_path: Path) -> None:
    """No cluster: an extra verb and an extra name are unused; a call on another name, in another
    namespace or through a subresource is ungranted."""
    path = tmp_path / "role.yaml"
    role = {
        "kind": "Role",
        "metadata": {"name": "r", "namespace": KS},
        "rules": [
            {
                "apiGroups": ["apps"],
                "resources": ["deployments/scale"],
                "resourceNames": ["coredns"],
                "verbs": ["get", "patch", "update"],
            },
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a", "b"], "verbs": ["get"]},
        ],
    }
    binding = {
        "kind": "RoleBinding",
        "metadata": {"name": "r", "namespace": KS},
        "roleRef": {"kind": "Role", "name": "r"},
        "subjects": [{"kind": "Group", "name": GROUP}],
    }
    path.write_text(yaml.safe_dump_all([role, binding]))
    used = {
        Call("get", "apps", "deployments/scale", KS, "coredns"),
        Call("patch", "apps", "deployments/scale", KS, "coredns"),
        Call("get", "", "configmaps", KS, "a"),
        Call("get", "", "configmaps", KS, "c"),
        Call("get", "", "configmaps", "default", "a"),
        Call("get", "apps", "deployments", KS, "coredns"),
    }
    ungranted, unused = compare(used, grants(path))
    assert set(ungranted) == {
        Call("get", "", "configmaps", KS, "c"),
        Call("get", "", "configmaps", "default", "a"),
        Call("get", "apps", "deployments", KS, "coredns"),
    }
    assert unused == {("update", "deployments/scale", "coredns"), ("get", "configmaps", "b")}


def _lines(items: Iterable[Any]) -> str:
    return "\n  ".join(str(i) for i in sorted(items, key=str))


@pytest.fixture
def audit(rig: flows.Rig) -> Path:  # noqa: F811 -- the imported fixture
    """The API server's audit log; the handler without a cooldown (each path runs once, back to back)."""
    rig.configure(COOLDOWN_SECONDS="0")
    return cluster.audit_log(rig.world.cluster.directory)


def test_remediation_rbac_is_what_the_code_calls(
    rig: flows.Rig,  # noqa: F811 -- the imported fixture
    audit: Path,
    eks_addons: EksAddonEndpoint,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert GROUP in IDENTITIES["remediate"][1]
    since = time.time()
    started = time.monotonic()
    run_every_remediation_path(rig, eks_addons, capsys)
    until = time.time()
    used, refused = audited_calls(audit, GROUP, since, until)
    granted = grants(RBAC_FILE)
    with capsys.disabled():
        print(  # a measurement, not an assertion
            f"\n[measure] every remediation path: {time.monotonic() - started:.1f} s,"
            f" {len(used)} distinct calls:\n  {_lines(used)}"
        )

    assert refused == [], "the remediation code was refused:\n  " + _lines(refused)
    ungranted, unused = compare(used, granted)
    assert ungranted == [], "called without a grant:\n  " + _lines(ungranted)
    unexplained = unused - set(UNUSED_BY_DESIGN)
    assert unexplained == set(), (
        "granted in deploy/rbac/remediate.yaml, never called by the remediation code"
        " (narrow the role, or explain in UNUSED_BY_DESIGN):\n  " + _lines(unexplained)
    )
    stale = set(UNUSED_BY_DESIGN) - unused
    assert stale == set(), "explained as unused, but used or no longer granted:\n  " + _lines(stale)
