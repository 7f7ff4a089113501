"""The EKS managed add-on actuator, through botocore against the local EKS add-on endpoint."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netguard.remediate.actuators import ActuatorError, ActuatorRetryable, EksAddonActuator, find_addon
from netguard.remediate.actuators.addon import (
    floor_of,
    parse_configuration_values,
    with_floor,
    with_original_floor,
)
from tests.support.eks_addons import OLD_COREDNS_SCHEMA, EksAddonEndpoint

OTHERS = {
    "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
    "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
    "corefile": ".:53 {\n    errors\n}\n",
    "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
}


class TestMerge:
    """Merging the floor into configuration values keeps everything else."""

    @pytest.mark.parametrize(
        ("values", "target", "expected"),
        [
            ({}, 4, {"replicaCount": 4}),
            ({"replicaCount": 2, **OTHERS}, 4, {"replicaCount": 4, **OTHERS}),
            (
                {"autoScaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 10}},
                4,
                {"autoScaling": {"enabled": True, "minReplicas": 4, "maxReplicas": 10}},
            ),
            (
                {"autoScaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 3}},
                5,
                {"autoScaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 5}},
            ),
            (
                {"replicaCount": 3, "autoScaling": {"enabled": False, "minReplicas": 2}},
                4,
                {"replicaCount": 4, "autoScaling": {"enabled": False, "minReplicas": 2}},
            ),
        ],
    )
    def test_with_floor(self, values: dict[str, Any], target: int, expected: dict[str, Any]) -> None:
        """replicaCount, or autoScaling.minReplicas when autoscaling is on, reaches the target."""
        assert with_floor(values, target) == expected
        assert floor_of(with_floor(values, target)) >= target

    @given(
        st.one_of(
            st.fixed_dictionaries({"replicaCount": st.integers(0, 20)}),
            st.fixed_dictionaries(
                {
                    "autoScaling": st.fixed_dictionaries(
                        {"enabled": st.booleans(), "minReplicas": st.integers(2, 20)},
                        optional={"maxReplicas": st.integers(2, 20)},
                    )
                }
            ),
            st.just({}),
        ),
        st.integers(1, 25),
    )
    def test_restore_undoes_raise(self, values: dict[str, Any], target: int) -> None:
        """Restoring the original floor after a raise gives back the original values exactly."""
        merged = {**with_floor(values, target), **OTHERS}
        assert with_original_floor(merged, values) == {**values, **OTHERS}

    def test_yaml_values_understood(self) -> None:
        """EKS accepts YAML configuration values; they parse like JSON."""
        assert parse_configuration_values("replicaCount: 3\nresources:\n  limits: {memory: 1Gi}\n") == {
            "replicaCount": 3,
            "resources": {"limits": {"memory": "1Gi"}},
        }

    @pytest.mark.parametrize("text", ["[1, 2]", "a: [", "42"])
    def test_unusable_values_refused(self, text: str) -> None:
        """Values that are not an object are refused, never overwritten."""
        with pytest.raises(ActuatorError):
            parse_configuration_values(text)


class TestEksAddonActuator:
    """UpdateAddon with merged values, resolveConflicts=PRESERVE; the schema has the last word."""

    def actuator(self, eks_addons: EksAddonEndpoint) -> EksAddonActuator:
        return EksAddonActuator(eks_addons.client(), "prod")

    def test_replica_count_raised_others_kept(self, eks_addons: EksAddonEndpoint) -> None:
        """replicaCount 2 -> 4; every other configuration value unchanged; one UpdateAddon."""
        eks_addons.add("prod", values={"replicaCount": 2, **OTHERS})
        result = self.actuator(eks_addons).raise_floor(4, dry_run=False)
        assert result.applied
        assert eks_addons.values("prod") == {"replicaCount": 4, **OTHERS}
        [update] = eks_addons.updates()
        assert update.path == "/clusters/prod/addons/coredns/update"
        assert update.body["resolveConflicts"] == "PRESERVE"
        assert "addonVersion" not in update.body  # the installed version is kept
        assert result.after["update"]["status"] == "InProgress"
        assert (result.before["floor"], result.after["floor"]) == (2, 4)

    def test_autoscaling_min_raised(self, eks_addons: EksAddonEndpoint) -> None:
        """With add-on autoscaling on, autoScaling.minReplicas is raised instead of replicaCount."""
        eks_addons.add("prod", values={"autoScaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 10}})
        result = self.actuator(eks_addons).raise_floor(3, dry_run=False)
        assert eks_addons.values("prod") == {
            "autoScaling": {"enabled": True, "minReplicas": 3, "maxReplicas": 10}
        }
        assert result.before["key"] == "autoScaling.minReplicas"

    def test_unset_replica_count_means_default(self, eks_addons: EksAddonEndpoint) -> None:
        """An add-on without configuration values runs 2 replicas; raising to 2 does nothing."""
        eks_addons.add("prod")
        actuator = self.actuator(eks_addons)
        assert actuator.read().floor == 2
        assert not actuator.raise_floor(2, dry_run=False).applied
        assert eks_addons.updates() == []

    def test_dry_run_sends_no_update(self, eks_addons: EksAddonEndpoint) -> None:
        """EKS has no dry run: dry_run describes the change and sends no UpdateAddon."""
        eks_addons.add("prod", values={"replicaCount": 2, **OTHERS})
        result = self.actuator(eks_addons).raise_floor(4, dry_run=True)
        assert (result.applied, result.dry_run) == (False, True)
        assert json.loads(json.dumps(result.after["values"])) == {"replicaCount": 4, **OTHERS}
        assert eks_addons.updates() == []
        assert eks_addons.values("prod") == {"replicaCount": 2, **OTHERS}

    def test_restore(self, eks_addons: EksAddonEndpoint) -> None:
        """restore(before) returns replicaCount to its recorded value and keeps later changes."""
        eks_addons.add("prod", values={"replicaCount": 2, **OTHERS})
        actuator = self.actuator(eks_addons)
        raised = actuator.raise_floor(4, dry_run=False)
        later = {**eks_addons.values("prod"), "priorityClassName": "system-cluster-critical"}
        eks_addons.addons[("prod", "coredns")].configuration_values = json.dumps(later)
        actuator.restore(raised.before, dry_run=False)
        assert eks_addons.values("prod") == {
            "replicaCount": 2,
            **OTHERS,
            "priorityClassName": "system-cluster-critical",
        }

    def test_old_version_without_replica_settings_refused(self, eks_addons: EksAddonEndpoint) -> None:
        """A version whose schema knows no replicaCount is refused before UpdateAddon, with a reason."""
        eks_addons.add("prod", version="v1.8.7-eksbuild.3")
        eks_addons.schemas["v1.8.7-eksbuild.3"] = OLD_COREDNS_SCHEMA
        with pytest.raises(ActuatorError, match="does not accept configuration value replicaCount"):
            self.actuator(eks_addons).raise_floor(4, dry_run=False)
        assert eks_addons.updates() == []

    def test_busy_addon_is_retryable(self, eks_addons: EksAddonEndpoint) -> None:
        """An add-on already UPDATING is retried later, not queued behind."""
        eks_addons.add("prod", values={"replicaCount": 2}, status="UPDATING")
        with pytest.raises(ActuatorRetryable, match="UPDATING"):
            self.actuator(eks_addons).raise_floor(4, dry_run=False)

    @pytest.mark.parametrize(
        ("status", "code", "kind"),
        [
            (409, "ResourceInUseException", ActuatorRetryable),
            (400, "ThrottlingException", ActuatorRetryable),
            (500, "ServerException", ActuatorRetryable),
            (400, "InvalidParameterException", ActuatorError),
            (403, "AccessDeniedException", ActuatorError),
        ],
    )
    def test_update_errors_classified(
        self, eks_addons: EksAddonEndpoint, status: int, code: str, kind: type[Exception]
    ) -> None:
        """UpdateAddon failures map to retryable or fatal by their EKS error code."""
        eks_addons.add("prod", values={"replicaCount": 2})
        actuator = self.actuator(eks_addons)
        original = eks_addons.handle

        def fail_update(method: str, raw_path: str, body: bytes) -> Any:
            if raw_path.endswith("/update"):
                eks_addons.failures.append((status, code))
            return original(method, raw_path, body)

        eks_addons.handle = fail_update  # type: ignore[method-assign]
        try:
            with pytest.raises(kind, match=code):
                actuator.raise_floor(4, dry_run=False)
        finally:
            eks_addons.handle = original  # type: ignore[method-assign]
        assert eks_addons.values("prod") == {"replicaCount": 2}

    def test_bad_merge_would_be_rejected(self, eks_addons: EksAddonEndpoint) -> None:
        """The endpoint validates like EKS: an unknown key is rejected (so the merge tests mean something)."""
        eks_addons.add("prod")
        client = eks_addons.client()
        with pytest.raises(client.exceptions.InvalidParameterException):
            client.update_addon(
                clusterName="prod",
                addonName="coredns",
                configurationValues=json.dumps({"replicas": 4}),
                resolveConflicts="PRESERVE",
            )


class TestFindAddon:
    """Whether CoreDNS is the managed add-on: only a clear "not found" means no."""

    def test_found(self, eks_addons: EksAddonEndpoint) -> None:
        """An existing add-on is returned as DescribeAddon describes it."""
        eks_addons.add("prod", values={"replicaCount": 3})
        addon = find_addon(eks_addons.client(), "prod")
        assert addon is not None
        assert addon["addonVersion"] == "v1.11.4-eksbuild.2"

    def test_not_found(self, eks_addons: EksAddonEndpoint) -> None:
        """ResourceNotFoundException means a self-managed CoreDNS."""
        assert find_addon(eks_addons.client(), "prod") is None

    def test_endpoint_without_addon_api(self, aws_env: Any) -> None:
        """moto (the local stack's AWS) answers a bare 404: no add-on, not an error."""
        import boto3

        assert find_addon(boto3.client("eks"), "netguard-local") is None

    @pytest.mark.parametrize(
        ("status", "code", "kind"),
        [(403, "AccessDeniedException", ActuatorError), (500, "ServerException", ActuatorRetryable)],
    )
    def test_other_failures_raise(
        self, eks_addons: EksAddonEndpoint, status: int, code: str, kind: type[Exception]
    ) -> None:
        """Denied or failing look-ups raise: without knowing the owner nothing is written."""
        eks_addons.failures.append((status, code))
        with pytest.raises(kind, match=code):
            find_addon(eks_addons.client(), "prod")
