"""The EKS managed add-on actuator, through botocore against the local EKS add-on endpoint."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from netguard.remediate.actuators import ActuatorError, ActuatorRetryable, EksAddonActuator, find_addon
from netguard.remediate.actuators import addon as addon_module
from netguard.remediate.actuators.addon import (
    FLOOR_PATHS,
    Path,
    changed_paths,
    check_floor_values,
    check_only_owned,
    floor_keys,
    floor_of,
    parse_configuration_values,
    update_text,
    with_floor,
    with_original_floor,
)
from netguard.remediate.actuators.models import FloorOwner
from netguard.remediate.actuators.spread import AddonSpreadOwner
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


# --- only the keys netguard owns: corefile is never added or changed --------------------------------

OPERATOR_COREFILE = (
    ".:53 {\n    errors\n    health\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n"
    "      pods insecure\n      fallthrough in-addr.arpa ip6.arpa\n    }\n"
    "    forward . 10.0.0.2 {\n      max_concurrent 1000\n    }\n    cache 30\n}\n"
)
"""An operator's own Corefile (forwarding to their resolver), which netguard must send back as is."""
FORGED_COREFILE = ".:53 {\n    forward . 203.0.113.53\n}\n"
"""What a tampered recorded original, or a wrong merge, would point the cluster's DNS at."""

_KEY = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC_-.", min_size=1, max_size=8)
_TEXT = st.text(
    st.characters(max_codepoint=0x2FFF, exclude_categories=("Cs", "Cc")) | st.sampled_from("\n\t"),
    max_size=24,
)
_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
)
_NESTED = st.recursive(
    _LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEY, inner, max_size=3), max_leaves=12
)
_OWNED_TOP = frozenset({"replicaCount", "autoScaling", "corefile"})
_EXTRAS = st.dictionaries(_KEY.filter(lambda k: k not in _OWNED_TOP), _NESTED, max_size=4)


@st.composite
def operator_values(draw: st.DrawFn) -> dict[str, Any]:
    """Configuration values an operator may hold: any other keys, nested; a corefile or none; a
    replicaCount or none; an autoScaling section on, off or absent, with keys of its own."""
    values = draw(_EXTRAS)
    if draw(st.booleans()):
        values["corefile"] = draw(st.sampled_from([OPERATOR_COREFILE, FORGED_COREFILE, ""]) | _TEXT)
    if draw(st.booleans()):
        values["replicaCount"] = draw(st.integers(0, 20))
    if draw(st.booleans()):
        scaling: dict[str, Any] = draw(
            st.dictionaries(
                _KEY.filter(lambda k: k != "enabled" and not k.endswith("Replicas")), _NESTED, max_size=2
            )
        )
        scaling["enabled"] = draw(st.booleans())
        for key in ("minReplicas", "maxReplicas"):
            if draw(st.booleans()):
                scaling[key] = draw(st.integers(2, 20))
        values["autoScaling"] = scaling
    return values


@st.composite
def operator_text(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """Those values and the text DescribeAddon returns for them: JSON or YAML (EKS accepts both)."""
    values = draw(operator_values())
    if draw(st.booleans()):
        return json.dumps(values, indent=draw(st.sampled_from([None, 2]))), values
    return yaml.safe_dump(values, allow_unicode=True, default_flow_style=draw(st.booleans())), values


def without(values: dict[str, Any], paths: tuple[Path, ...]) -> dict[str, Any]:
    """A copy of `values` with `paths` removed (missing ones ignored), to compare what is left."""
    left = copy.deepcopy(values)
    for path in paths:
        parent: Any = left
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    return left


def assert_only_owned_changed(current: dict[str, Any], sent: dict[str, Any], owned: tuple[Path, ...]) -> None:
    """`sent` keeps `current`'s corefile (or its absence) and differs from it only at `owned` paths."""
    assert ("corefile" in sent) == ("corefile" in current)
    if "corefile" in current:
        assert type(sent["corefile"]) is type(current["corefile"])
        assert sent["corefile"] == current["corefile"]
    assert json.dumps(without(sent, owned), sort_keys=True) == json.dumps(
        without(current, owned), sort_keys=True
    )
    assert set(changed_paths(current, sent)) <= set(owned)


class TestOnlyOwnedKeys:
    """The document UpdateAddon receives is the current values, changed only where netguard owns them."""

    @settings(max_examples=200, deadline=None)
    @given(operator_text(), st.integers(1, 25))
    def test_raise_never_adds_or_changes_corefile(
        self, operator: tuple[str, dict[str, Any]], target: int
    ) -> None:
        """A raise, read back as EKS reads it, differs from the current values only at floor_keys."""
        text, written = operator
        current = parse_configuration_values(text)
        assert current == written  # the operator's corefile as they wrote it, JSON or YAML
        sent = json.loads(update_text(current, with_floor(current, target), FLOOR_PATHS, what="the add-on"))
        assert_only_owned_changed(current, sent, floor_keys(current))
        assert floor_of(sent) >= target

    @settings(max_examples=200, deadline=None)
    @given(operator_text(), operator_values(), st.integers(1, 25))
    def test_revert_takes_only_the_floor_from_the_original(
        self, operator_doc: tuple[str, dict[str, Any]], original: dict[str, Any], target: int
    ) -> None:
        """A revert, whatever the recorded original holds (another corefile, other keys), changes only
        the floor paths of that original, after a raise or without one."""
        operator = parse_configuration_values(operator_doc[0])
        assert operator == operator_doc[1]
        for current in (operator, with_floor(operator, target)):
            restored = with_original_floor(current, original)
            sent = json.loads(update_text(current, restored, FLOOR_PATHS, what="the add-on"))
            assert_only_owned_changed(current, sent, floor_keys(original))

    @pytest.mark.parametrize(
        ("current", "outgoing", "named"),
        [
            ({"corefile": OPERATOR_COREFILE}, {"corefile": FORGED_COREFILE}, "corefile"),
            ({"replicaCount": 2}, {"replicaCount": 4, "corefile": FORGED_COREFILE}, "corefile"),
            ({"corefile": OPERATOR_COREFILE, "replicaCount": 2}, {"replicaCount": 4}, "corefile"),
            (
                {"resources": {"limits": {"memory": "170Mi"}}},
                {"resources": {"limits": {}}},
                "resources.limits.memory",
            ),
            ({"tolerations": [{"key": "a"}]}, {"tolerations": [{"key": "b"}]}, "tolerations"),
            (
                {"autoScaling": {"enabled": False}},
                {"autoScaling": {"enabled": True, "minReplicas": 4}},
                "autoScaling.enabled",
            ),
            ({}, {"autoScaling": {"enabled": True, "minReplicas": 4}}, "autoScaling"),
            (
                {"podDisruptionBudget": {"enabled": True}},
                {"podDisruptionBudget": {"enabled": 1}},
                "podDisruptionBudget.enabled",
            ),
        ],
    )
    def test_guard_refuses_a_change_outside_the_floor(
        self, current: dict[str, Any], outgoing: dict[str, Any], named: str
    ) -> None:
        """A document that would change, add or remove a value netguard does not own is refused, naming it."""
        with pytest.raises(ActuatorError, match=f"would change {named}(,|$| )"):
            check_only_owned(current, outgoing, FLOOR_PATHS, what="the add-on")

    @pytest.mark.parametrize(
        ("current", "outgoing"),
        [
            ({"corefile": OPERATOR_COREFILE}, {"corefile": OPERATOR_COREFILE, "replicaCount": 4}),
            ({"replicaCount": 4, "x": [1]}, {"x": [1]}),
            (
                {"autoScaling": {"enabled": True, "minReplicas": 2}, "corefile": ""},
                {"autoScaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 5}, "corefile": ""},
            ),
        ],
    )
    def test_guard_lets_the_floor_through(self, current: dict[str, Any], outgoing: dict[str, Any]) -> None:
        """Floor values set, raised or removed, everything else equal: the guard lets it be sent."""
        check_only_owned(current, outgoing, FLOOR_PATHS, what="the add-on")
        assert json.loads(update_text(current, outgoing, FLOOR_PATHS, what="the add-on")) == outgoing

    def test_guard_refuses_values_json_cannot_carry(self) -> None:
        """A YAML date has no JSON form: sending it as a string would change it, so it is refused."""
        current = parse_configuration_values("podAnnotations:\n  since: 2024-01-01\nreplicaCount: 2\n")
        with pytest.raises(ActuatorError, match="no JSON form"):
            update_text(current, with_floor(current, 4), FLOOR_PATHS, what="the add-on")

    def test_guard_sees_yaml_keys_that_json_would_rename(self) -> None:
        """A YAML key `on` is the boolean true, which JSON would send as the key "true": refused."""
        current = parse_configuration_values("nodeSelector:\n  on: a\nreplicaCount: 2\n")
        with pytest.raises(ActuatorError, match="nodeSelector"):
            update_text(current, with_floor(current, 4), FLOOR_PATHS, what="the add-on")

    @pytest.mark.parametrize(
        ("path", "value"),
        [
            (("replicaCount",), 0),
            (("replicaCount",), "4"),
            (("replicaCount",), True),
            (("autoScaling", "minReplicas"), -1),
        ],
    )
    def test_floor_values_are_positive_integers(self, path: Path, value: Any) -> None:
        """A floor changed to zero, a string or a boolean (a tampered original) is refused."""
        current = {"replicaCount": 4, "autoScaling": {"enabled": True, "minReplicas": 4}}
        outgoing = copy.deepcopy(current)
        parent: Any = outgoing
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = value
        with pytest.raises(ActuatorError, match="not a positive integer"):
            check_floor_values(current, outgoing, what="the add-on")
        check_floor_values(outgoing, outgoing, what="the add-on")  # the operator's own value is theirs

    def test_revert_recreates_no_section_the_operator_removed(self) -> None:
        """An original with autoscaling, reverted after the operator dropped autoScaling: nothing added."""
        original = {"autoScaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 10}}
        current = {"replicaCount": 3, "corefile": OPERATOR_COREFILE}
        assert with_original_floor(current, original) == current


@contextmanager
def edited_between_read_and_update(eks_addons: EksAddonEndpoint, addon: Any, theirs: str) -> Iterator[None]:
    """Someone sets the add-on's values to `theirs` while netguard reads the schema: after its first
    DescribeAddon, before its UpdateAddon."""
    original: Callable[..., Any] = eks_addons.handle

    def someone_edits(method: str, raw_path: str, body: bytes) -> Any:
        if "configuration-schemas" in raw_path:
            addon.configuration_values = theirs
        return original(method, raw_path, body)

    eks_addons.handle = someone_edits  # type: ignore[method-assign]
    try:
        yield
    finally:
        eks_addons.handle = original  # type: ignore[method-assign]


class TestOnlyOwnedKeysReachEks:
    """What the EKS endpoint receives in configurationValues, raise and revert, through botocore."""

    @staticmethod
    def sent(eks_addons: EksAddonEndpoint) -> list[dict[str, Any]]:
        return [json.loads(u.body["configurationValues"]) for u in eks_addons.updates()]

    @pytest.mark.parametrize(
        "operator",
        [
            "replicaCount: 2\ncorefile: |\n"
            + "".join(f"  {line}\n" for line in OPERATOR_COREFILE.splitlines()),
            json.dumps(
                {
                    "autoScaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 3},
                    "corefile": OPERATOR_COREFILE,
                    **{k: v for k, v in OTHERS.items() if k != "corefile"},
                }
            ),
        ],
        ids=["yaml-replica-count", "json-autoscaling"],
    )
    def test_corefile_sent_back_as_the_operator_wrote_it(
        self, eks_addons: EksAddonEndpoint, operator: str
    ) -> None:
        """Raise, then revert with a recorded original carrying another corefile: both updates carry
        the operator's corefile unchanged and differ from the values read only at the floor paths."""
        eks_addons.add("prod", values=operator)
        current = parse_configuration_values(operator)
        actuator = EksAddonActuator(eks_addons.client(), "prod")
        raised = actuator.raise_floor(5, dry_run=False)
        tampered = {
            **raised.before,
            "values": {**raised.before["values"], "corefile": FORGED_COREFILE, "nodeSelector": {"x": "y"}},
        }
        actuator.restore(tampered, dry_run=False)
        first, second = self.sent(eks_addons)
        assert first["corefile"] == second["corefile"] == OPERATOR_COREFILE
        assert_only_owned_changed(current, first, floor_keys(current))
        assert_only_owned_changed(first, second, floor_keys(current))
        assert second == current  # the floor back to the original's, nothing else moved

    def test_no_corefile_is_added(self, eks_addons: EksAddonEndpoint) -> None:
        """An operator without a corefile: neither the raise nor a revert whose original has one adds it."""
        eks_addons.add("prod", values={"replicaCount": 2, "priorityClassName": "system-cluster-critical"})
        actuator = EksAddonActuator(eks_addons.client(), "prod")
        raised = actuator.raise_floor(4, dry_run=False)
        actuator.restore(
            {**raised.before, "values": {"replicaCount": 2, "corefile": FORGED_COREFILE}}, dry_run=False
        )
        assert self.sent(eks_addons) == [
            {"replicaCount": 4, "priorityClassName": "system-cluster-critical"},
            {"replicaCount": 2, "priorityClassName": "system-cluster-critical"},
        ]

    @pytest.mark.parametrize("dry_run", [False, True])
    def test_guard_stops_a_wrong_merge_before_update_addon(
        self, eks_addons: EksAddonEndpoint, monkeypatch: pytest.MonkeyPatch, dry_run: bool
    ) -> None:
        """A with_floor broken to write a corefile is refused before UpdateAddon, dry-run as well."""

        def broken(values: Any, target: int) -> dict[str, Any]:
            return {**values, "replicaCount": target, "corefile": FORGED_COREFILE}

        monkeypatch.setattr(addon_module, "with_floor", broken)
        eks_addons.add("prod", values={"replicaCount": 2, "corefile": OPERATOR_COREFILE})
        with pytest.raises(ActuatorError, match="would change corefile"):
            EksAddonActuator(eks_addons.client(), "prod").raise_floor(4, dry_run=dry_run)
        assert eks_addons.updates() == []
        assert eks_addons.values("prod")["corefile"] == OPERATOR_COREFILE

    def test_guard_stops_a_wrong_revert(
        self, eks_addons: EksAddonEndpoint, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A with_original_floor broken to copy the recorded original whole is refused too."""
        monkeypatch.setattr(addon_module, "with_original_floor", lambda _current, original: dict(original))
        eks_addons.add("prod", values={"replicaCount": 4, "corefile": OPERATOR_COREFILE})
        actuator = EksAddonActuator(eks_addons.client(), "prod")
        original = {
            "owner": FloorOwner.EKS_ADDON.value,
            "values": {"replicaCount": 2, "corefile": FORGED_COREFILE},
        }
        with pytest.raises(ActuatorError, match="would change corefile"):
            actuator.restore(original, dry_run=False)
        assert eks_addons.updates() == []

    def test_values_changed_between_read_and_update_are_not_written_over(
        self, eks_addons: EksAddonEndpoint
    ) -> None:
        """Someone changes the values after netguard's read: the re-read just before UpdateAddon sees it,
        and the step is retried rather than sending the values read first."""
        addon = eks_addons.add("prod", values={"replicaCount": 2, "corefile": OPERATOR_COREFILE})
        theirs = json.dumps({"replicaCount": 2, "corefile": OPERATOR_COREFILE + "# edited\n"})
        with (
            edited_between_read_and_update(eks_addons, addon, theirs),
            pytest.raises(ActuatorRetryable, match="changed since they were read"),
        ):
            EksAddonActuator(eks_addons.client(), "prod").raise_floor(4, dry_run=False)
        assert eks_addons.updates() == []
        assert addon.configuration_values == theirs

    def test_spread_sends_only_its_own_keys(self, eks_addons: EksAddonEndpoint) -> None:
        """The spread's UpdateAddon (the other one netguard makes) keeps corefile too, and its revert."""
        eks_addons.add("prod", values={"replicaCount": 3, "corefile": OPERATOR_COREFILE})
        owner = AddonSpreadOwner(eks_addons.client(), "prod", match_labels={"k8s-app": "kube-dns"})
        changed, _, original = owner.make_durable(dry_run=False)
        assert changed
        owner.restore(original, dry_run=False)
        first, second = self.sent(eks_addons)
        assert_only_owned_changed(
            {"replicaCount": 3, "corefile": OPERATOR_COREFILE}, first, (("topologySpreadConstraints",),)
        )
        assert second == {"replicaCount": 3, "corefile": OPERATOR_COREFILE}

    def test_spread_guard_stops_a_wrong_merge(
        self, eks_addons: EksAddonEndpoint, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A spread merge broken to touch corefile is refused before UpdateAddon."""
        from netguard.remediate.actuators import spread

        monkeypatch.setattr(
            spread, "with_spread_values", lambda values, key, labels: {**values, key: [], "corefile": ""}
        )
        eks_addons.add("prod", values={"corefile": OPERATOR_COREFILE})
        owner = AddonSpreadOwner(eks_addons.client(), "prod", match_labels={"k8s-app": "kube-dns"})
        with pytest.raises(ActuatorError, match="would change corefile"):
            owner.make_durable(dry_run=False)
        assert eks_addons.updates() == []

    def test_spread_does_not_write_over_a_change_since_its_read(self, eks_addons: EksAddonEndpoint) -> None:
        """The spread re-reads right before its UpdateAddon too: a corefile edited meanwhile is kept."""
        addon = eks_addons.add("prod", values={"corefile": OPERATOR_COREFILE})
        theirs = json.dumps({"corefile": OPERATOR_COREFILE + "# edited\n"})
        owner = AddonSpreadOwner(eks_addons.client(), "prod", match_labels={"k8s-app": "kube-dns"})
        with (
            edited_between_read_and_update(eks_addons, addon, theirs),
            pytest.raises(ActuatorRetryable, match="changed since they were read"),
        ):
            owner.make_durable(dry_run=False)
        assert eks_addons.updates() == []
        assert addon.configuration_values == theirs
