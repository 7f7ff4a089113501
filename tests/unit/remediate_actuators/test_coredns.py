"""CoreDNS replica-floor actuators over an in-memory API server: who is written, and how."""

from __future__ import annotations

import json
from typing import Any

import pytest
import urllib3
from hypothesis import given
from hypothesis import strategies as st

from netguard.clients.kubernetes import KubeApiError, KubeForbidden, KubeUnavailable
from netguard.dns import ClusterDns, OwnerKind, ReplicaOwner
from netguard.remediate.actuators import (
    ActuatorError,
    ActuatorRetryable,
    DeploymentScaleActuator,
    EksAddonActuator,
    HpaActuator,
    ProportionalAutoscalerActuator,
    coredns_actuator,
)
from netguard.remediate.actuators.coredns import ladder_floor, linear_floor, raise_ladder, raise_linear
from tests.unit.remediate_actuators.fakes import FakeApiServer

NS = "/apis/apps/v1/namespaces/kube-system"
DEPLOYMENT = f"{NS}/deployments/coredns"
SCALE = f"{DEPLOYMENT}/scale"
HPA = "/apis/autoscaling/v2/namespaces/kube-system/horizontalpodautoscalers/coredns"
CPA_CM = "/api/v1/namespaces/kube-system/configmaps/dns-autoscaler"


def cluster_dns(owner: ReplicaOwner, **kwargs: Any) -> ClusterDns:
    values: dict[str, Any] = {
        "coredns_desired": 2,
        "coredns_ready": 2,
        "pods": (),
        "owner": owner,
        "nodelocal_enabled": False,
        "kube_proxy_mode": "iptables",
        "kube_dns_ip": "10.100.0.10",
        "cluster_domain": "cluster.local",
    }
    values.update(kwargs)
    return ClusterDns(**values)


def api_with_coredns(replicas: int = 2) -> FakeApiServer:
    api = FakeApiServer()
    api.put(DEPLOYMENT, {"metadata": {"name": "coredns"}, "spec": {"replicas": replicas}})
    return api


LINEAR = {
    "coresPerReplica": 256,
    "nodesPerReplica": 16,
    "min": 2,
    "max": 10,
    "preventSinglePointFailure": True,
    "includeUnschedulableNodes": True,
}


class TestPureFloors:
    """Raising a cluster-proportional-autoscaler's floor keeps every other parameter."""

    def test_linear_min_raised_others_kept(self) -> None:
        """min goes to the target; the rest is untouched."""
        assert raise_linear(LINEAR, 4) == {**LINEAR, "min": 4}

    def test_linear_max_follows_when_below(self) -> None:
        """A non-zero max below the target is raised with it; 0 (no max) stays 0."""
        assert raise_linear({**LINEAR, "max": 3}, 5)["max"] == 5
        assert raise_linear({**LINEAR, "max": 0}, 5)["max"] == 0

    @given(
        st.fixed_dictionaries(
            {"min": st.integers(0, 50), "max": st.integers(0, 50), "coresPerReplica": st.integers(1, 512)}
        ),
        st.integers(1, 60),
    )
    def test_linear_floor_reaches_target_and_never_lowers(self, params: dict[str, int], target: int) -> None:
        """After raising, the floor is at least the target and at least what it was."""
        raised = raise_linear(params, target)
        assert linear_floor(raised) >= max(target, linear_floor(params))
        assert raised["coresPerReplica"] == params["coresPerReplica"]

    @given(
        st.lists(st.tuples(st.integers(0, 500), st.integers(0, 20)), max_size=6),
        st.lists(st.tuples(st.integers(0, 500), st.integers(0, 20)), max_size=6),
        st.integers(1, 30),
    )
    def test_ladder_floor_reaches_target(
        self, cores: list[tuple[int, int]], nodes: list[tuple[int, int]], target: int
    ) -> None:
        """Whatever step the autoscaler picks afterwards yields at least the target."""
        params = {
            "coresToReplicas": [list(s) for s in sorted(cores)],
            "nodesToReplicas": [list(s) for s in sorted(nodes)],
        }
        raised = raise_ladder(params, target)
        assert ladder_floor(raised) >= target
        changed = "coresToReplicas" if cores else "nodesToReplicas"
        other = "nodesToReplicas" if changed == "coresToReplicas" else "coresToReplicas"
        assert raised[other] == params[other]
        assert [s[0] for s in raised[changed]] == [s[0] for s in params[changed]] or not params[changed]


class TestChooser:
    """`coredns_actuator` picks the owner of the replica count."""

    def test_hpa_wins(self) -> None:
        """An HPA targeting CoreDNS is written, not the Deployment."""
        dns = cluster_dns(ReplicaOwner(OwnerKind.HPA, "coredns"))
        assert isinstance(coredns_actuator(FakeApiServer(), dns), HpaActuator)

    def test_autoscaler_configmap(self) -> None:
        """cluster-proportional-autoscaler is changed through its ConfigMap."""
        owner = ReplicaOwner(
            OwnerKind.CLUSTER_PROPORTIONAL_AUTOSCALER,
            "dns-autoscaler",
            {"configmap": "dns-autoscaler", "namespace": "kube-system"},
        )
        actuator = coredns_actuator(FakeApiServer(), cluster_dns(owner))
        assert isinstance(actuator, ProportionalAutoscalerActuator)

    def test_autoscaler_without_configmap_refused(self) -> None:
        """An autoscaler with no --configmap is refused, never bypassed through spec.replicas."""
        owner = ReplicaOwner(OwnerKind.CLUSTER_PROPORTIONAL_AUTOSCALER, "dns-autoscaler", {"configmap": ""})
        with pytest.raises(ActuatorError, match="--configmap"):
            coredns_actuator(FakeApiServer(), cluster_dns(owner))

    def test_addon_before_deployment(self, eks_addons: Any) -> None:
        """With the EKS add-on present, the add-on is asked, not the Deployment."""
        eks_addons.add("prod", values={"replicaCount": 2})
        dns = cluster_dns(ReplicaOwner(OwnerKind.DEPLOYMENT, "coredns"))
        actuator = coredns_actuator(
            FakeApiServer(),
            dns,
            eks=eks_addons.client(),
            cluster_name="prod",
        )
        assert isinstance(actuator, EksAddonActuator)

    def test_no_addon_falls_back_to_deployment(self, eks_addons: Any) -> None:
        """DescribeAddon's ResourceNotFoundException means a self-managed Deployment."""
        dns = cluster_dns(ReplicaOwner(OwnerKind.DEPLOYMENT, "coredns"))
        actuator = coredns_actuator(
            FakeApiServer(),
            dns,
            eks=eks_addons.client(),
            cluster_name="prod",
        )
        assert isinstance(actuator, DeploymentScaleActuator)

    def test_addon_lookup_denied_is_fatal(self, eks_addons: Any) -> None:
        """An add-on lookup that is denied does not fall back to writing the Deployment."""
        eks_addons.failures.append((403, "AccessDeniedException"))
        dns = cluster_dns(ReplicaOwner(OwnerKind.DEPLOYMENT, "coredns"))
        with pytest.raises(ActuatorError, match="AccessDeniedException"):
            coredns_actuator(
                FakeApiServer(),
                dns,
                eks=eks_addons.client(),
                cluster_name="prod",
            )

    def test_addon_owner_without_client_refused(self) -> None:
        """An add-on owner with no EKS client is refused rather than scaled through the Deployment."""
        dns = cluster_dns(ReplicaOwner(OwnerKind.EKS_ADDON, "coredns"))
        with pytest.raises(ActuatorError, match="EKS"):
            coredns_actuator(FakeApiServer(), dns)


class TestDeploymentScale:
    """A plain Deployment is scaled through its scale subresource, conditionally."""

    def test_raise_patches_scale_subresource(self) -> None:
        """2 -> 4 is one PATCH of deployments/coredns/scale with the read resourceVersion."""
        api = api_with_coredns(2)
        result = DeploymentScaleActuator(api).raise_floor(4, dry_run=False)
        assert (result.applied, result.before["replicas"], result.after["replicas"]) == (True, 2, 4)
        assert api.writes() == [("PATCH", SCALE, False)]
        assert api.objects[DEPLOYMENT]["spec"]["replicas"] == 4
        assert "2 to 4" in result.description

    def test_already_high_enough_is_a_no_op(self) -> None:
        """A floor at or above the target changes nothing."""
        api = api_with_coredns(5)
        result = DeploymentScaleActuator(api).raise_floor(4, dry_run=False)
        assert not result.applied
        assert result.before == result.after
        assert api.writes() == []

    def test_dry_run_sends_dry_run_and_changes_nothing(self) -> None:
        """dry_run=True uses the API's dryRun and leaves the replicas alone."""
        api = api_with_coredns(2)
        result = DeploymentScaleActuator(api).raise_floor(4, dry_run=True)
        assert (result.applied, result.dry_run, result.after["replicas"]) == (False, True, 4)
        assert api.writes() == [("PATCH", SCALE, True)]
        assert api.objects[DEPLOYMENT]["spec"]["replicas"] == 2
        assert "dry run" in result.description

    def test_restore_puts_back_before(self) -> None:
        """restore(result.before) returns to the recorded replica count."""
        api = api_with_coredns(2)
        actuator = DeploymentScaleActuator(api)
        raised = actuator.raise_floor(4, dry_run=False)
        restored = actuator.restore(raised.before, dry_run=False)
        assert restored.applied
        assert api.objects[DEPLOYMENT]["spec"]["replicas"] == 2

    def test_restore_refuses_another_owners_record(self) -> None:
        """Values recorded under another owner are not written to the Deployment."""
        actuator = DeploymentScaleActuator(api_with_coredns(2))
        with pytest.raises(ActuatorError, match="restore it by hand"):
            actuator.restore({"owner": "hpa", "minReplicas": 2, "maxReplicas": 5}, dry_run=False)

    @pytest.mark.parametrize("target", [0, -1, True, 2.5])
    def test_bad_target_refused(self, target: Any) -> None:
        """Targets that are not positive integers never reach the API."""
        api = api_with_coredns(2)
        with pytest.raises(ActuatorError, match="positive integer"):
            DeploymentScaleActuator(api).raise_floor(target, dry_run=False)
        assert api.requests == []

    @pytest.mark.parametrize(
        ("error", "kind"),
        [
            (KubeForbidden(403, "Forbidden", "no", verb="PATCH", path=SCALE), ActuatorError),
            (KubeUnavailable(503, "ServiceUnavailable", "down", verb="PATCH", path=SCALE), ActuatorRetryable),
        ],
    )
    def test_api_errors_classified(self, error: KubeApiError, kind: type[Exception]) -> None:
        """Forbidden is fatal (and names the request); unavailable is retryable."""
        api = api_with_coredns(2)
        api.fail("PATCH", SCALE, error)
        with pytest.raises(kind) as caught:
            DeploymentScaleActuator(api).raise_floor(4, dry_run=False)
        if kind is ActuatorError:
            assert "PATCH" in str(caught.value)
            assert "deploy/rbac" in str(caught.value)

    def test_concurrent_change_is_retryable(self) -> None:
        """A change between read and write turns into a retryable conflict, not a blind overwrite."""

        class Racing(FakeApiServer):
            def serve_get(self, path: str) -> dict[str, Any]:
                seen = super().serve_get(path)
                self.objects[DEPLOYMENT]["metadata"]["resourceVersion"] = "999999"
                return seen

        api = Racing()
        api.put(DEPLOYMENT, {"metadata": {"name": "coredns"}, "spec": {"replicas": 2}})
        with pytest.raises(ActuatorRetryable, match="someone else"):
            DeploymentScaleActuator(api).raise_floor(4, dry_run=False)
        assert api.objects[DEPLOYMENT]["spec"]["replicas"] == 2


class TestHpa:
    """An HPA's minReplicas is raised; the Deployment is never written."""

    def api(self, minimum: int | None, maximum: int) -> FakeApiServer:
        api = api_with_coredns(2)
        spec: dict[str, Any] = {
            "maxReplicas": maximum,
            "scaleTargetRef": {"kind": "Deployment", "name": "coredns"},
        }
        if minimum is not None:
            spec["minReplicas"] = minimum
        api.put(HPA, {"metadata": {"name": "coredns"}, "spec": spec})
        return api

    def test_min_raised_max_kept(self) -> None:
        """minReplicas 2 -> 4 with maxReplicas 10 untouched."""
        api = self.api(2, 10)
        result = HpaActuator(api, namespace="kube-system", hpa="coredns").raise_floor(4, dry_run=False)
        assert result.applied
        assert api.objects[HPA]["spec"]["minReplicas"] == 4
        assert api.objects[HPA]["spec"]["maxReplicas"] == 10
        assert all(path == HPA for _, path, _ in api.writes())

    def test_max_raised_when_below(self) -> None:
        """A maxReplicas below the target is raised with it (the API rejects min > max)."""
        api = self.api(2, 3)
        HpaActuator(api, namespace="kube-system", hpa="coredns").raise_floor(5, dry_run=False)
        assert api.objects[HPA]["spec"]["minReplicas"] == 5
        assert api.objects[HPA]["spec"]["maxReplicas"] == 5

    def test_default_min_is_one(self) -> None:
        """An HPA without minReplicas has the API default of 1."""
        actuator = HpaActuator(self.api(None, 10), namespace="kube-system", hpa="coredns")
        floor = actuator.read()
        assert (floor.owner, floor.floor, floor.replicas) == ("hpa", 1, 2)

    def test_restore_both_bounds(self) -> None:
        """restore puts back minReplicas and maxReplicas."""
        api = self.api(2, 3)
        actuator = HpaActuator(api, namespace="kube-system", hpa="coredns")
        raised = actuator.raise_floor(5, dry_run=False)
        actuator.restore(raised.before, dry_run=False)
        assert (api.objects[HPA]["spec"]["minReplicas"], api.objects[HPA]["spec"]["maxReplicas"]) == (2, 3)


class TestProportionalAutoscaler:
    """cluster-proportional-autoscaler's ConfigMap floor is raised; spec.replicas is not written."""

    def api(self, data: dict[str, str]) -> FakeApiServer:
        api = api_with_coredns(2)
        api.put(CPA_CM, {"metadata": {"name": "dns-autoscaler"}, "data": data})
        return api

    def actuator(self, api: FakeApiServer) -> ProportionalAutoscalerActuator:
        return ProportionalAutoscalerActuator(api, namespace="kube-system", configmap="dns-autoscaler")

    def test_linear_min_raised(self) -> None:
        """`min` 2 -> 4, every other parameter kept, and the only write is the ConfigMap."""
        api = self.api({"linear": json.dumps(LINEAR), "other": "kept"})
        result = self.actuator(api).raise_floor(4, dry_run=False)
        assert result.applied
        data = api.objects[CPA_CM]["data"]
        assert json.loads(data["linear"]) == {**LINEAR, "min": 4}
        assert data["other"] == "kept"
        assert api.writes() == [("PATCH", CPA_CM, False)]
        assert api.objects[DEPLOYMENT]["spec"]["replicas"] == 2

    def test_ladder_steps_raised(self) -> None:
        """Ladder mode raises the step values of one table to the target."""
        ladder = {"coresToReplicas": [[1, 1], [64, 3], [512, 5]], "nodesToReplicas": [[1, 1], [2, 2]]}
        api = self.api({"ladder": json.dumps(ladder)})
        result = self.actuator(api).raise_floor(4, dry_run=False)
        written = json.loads(api.objects[CPA_CM]["data"]["ladder"])
        assert written["coresToReplicas"] == [[1, 4], [64, 4], [512, 5]]
        assert written["nodesToReplicas"] == ladder["nodesToReplicas"]
        assert (result.before["floor"], result.after["floor"]) == (1, 4)

    def test_restore_keeps_later_changes(self) -> None:
        """restore puts back min and max but keeps parameters someone changed since."""
        api = self.api({"linear": json.dumps(LINEAR)})
        actuator = self.actuator(api)
        raised = actuator.raise_floor(4, dry_run=False)
        params = json.loads(api.objects[CPA_CM]["data"]["linear"])
        api.objects[CPA_CM]["data"]["linear"] = json.dumps({**params, "nodesPerReplica": 8})
        actuator.restore(raised.before, dry_run=False)
        assert json.loads(api.objects[CPA_CM]["data"]["linear"]) == {**LINEAR, "nodesPerReplica": 8}

    @pytest.mark.parametrize(
        ("data", "reason"),
        [({"linear": "{not json"}, "not valid JSON"), ({"something": "else"}, "neither")],
    )
    def test_unusable_configmap_refused(self, data: dict[str, str], reason: str) -> None:
        """A ConfigMap netguard cannot read is refused with the reason."""
        with pytest.raises(ActuatorError, match=reason):
            self.actuator(self.api(data)).raise_floor(4, dry_run=False)

    def test_dry_run(self) -> None:
        """dry_run reports the new min and leaves the ConfigMap as it was."""
        api = self.api({"linear": json.dumps(LINEAR)})
        result = self.actuator(api).raise_floor(4, dry_run=True)
        assert (result.applied, result.after["floor"]) == (False, 4)
        assert json.loads(api.objects[CPA_CM]["data"]["linear"]) == LINEAR
        assert api.writes() == [("PATCH", CPA_CM, True)]


class _LostAnswer(FakeApiServer):
    """The PATCH reaches the server and is applied; its answer is lost (a read timeout, raised where
    the official client's transport raises it, so `Kube` turns it into KubeUnavailable)."""

    lost = 0

    def serve_patch(
        self, path: str, body: Any, *, field_manager: str = "netguard", dry_run: bool = False
    ) -> dict[str, Any]:
        super().serve_patch(path, body, field_manager=field_manager, dry_run=dry_run)
        self.lost += 1
        raise urllib3.exceptions.ReadTimeoutError(
            urllib3.HTTPConnectionPool("memory"), path, "read timed out"
        )


def test_a_lost_answer_to_an_applied_scale_is_success() -> None:
    """The scale is read back: the change is in place, so no error (a retry would raise it twice)."""
    api = _LostAnswer()
    api.put(DEPLOYMENT, {"metadata": {"name": "coredns"}, "spec": {"replicas": 2}})
    result = DeploymentScaleActuator(api).raise_floor(4, dry_run=False)
    assert api.lost == 1
    assert (result.applied, result.after["replicas"]) == (True, 4)
    assert api.objects[DEPLOYMENT]["spec"]["replicas"] == 4
