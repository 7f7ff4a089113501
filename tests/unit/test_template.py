"""template.yaml agrees with the code: handlers exist, settings validate, filters match attributes.

`sam validate --lint` and cfn-lint (run by `make validate`) check CloudFormation itself; these tests
check what they cannot: that each function, configured exactly as the template configures it,
starts, and that every filter policy names attributes the enriched events really carry.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from netguard.alerts.models import AllowanceKind
from netguard.config.enrich import Settings as EnrichSettings
from netguard.config.notify import PagerDutySettings, SlackSettings
from netguard.config.remediate import Settings as RemediateSettings
from netguard.enriched import ActionKind, EventType, Outcome
from tests.attacks import cfn

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn.load_template()


def _functions(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def _resolve(value: Any, parameters: Mapping[str, Any]) -> str:
    """A plausible deployed value for an environment variable: parameter defaults, fake ARNs."""
    if isinstance(value, str | int | float):
        return str(value)
    ((kind, arg),) = value.items()
    if kind == "Ref":
        if arg == "ClusterName":  # required, no default: what `sam deploy --guided` asks for
            return "prod"
        if arg in parameters:
            default = str(parameters[arg].get("Default", ""))
            if not default and arg.endswith("SecretArn"):  # the notifiers exist only when one is given
                return f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{arg}"
            return default
        if arg.endswith("Topic"):
            return f"arn:aws:sns:us-east-1:123456789012:{arg}"
        if arg.endswith("Queue"):
            return f"https://sqs.us-east-1.amazonaws.com/123456789012/{arg}"
        return f"{arg}-physical-id"
    raise AssertionError(f"unexpected intrinsic in an environment variable: {value}")


SETTINGS: dict[str, Callable[[Mapping[str, str]], object]] = {
    "EnrichFunction": EnrichSettings.from_env,
    "NotifySlackFunction": SlackSettings.from_env,
    "NotifyPagerDutyFunction": PagerDutySettings.from_env,
    "RemediateFunction": RemediateSettings.from_env,
}


class TestTemplate:
    def test_amp_texts_are_in_sync(self) -> None:
        """The AMP definition and rules in template.yaml are exactly amp/'s files."""
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "sync-template.py"), "--check"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr

    def test_every_function_has_its_handler(self, template: dict[str, Any]) -> None:
        functions = _functions(template)
        assert set(functions) == set(SETTINGS)
        for name, props in functions.items():
            module, handler = props["Handler"].split(".")
            source = ROOT / props["CodeUri"] / f"{module}.py"
            tree = ast.parse(source.read_text())
            defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
            assert handler in defined, f"{name}: {source} defines no {handler}"

    @pytest.mark.parametrize("function", sorted(SETTINGS))
    def test_function_settings_validate_as_deployed(self, template: dict[str, Any], function: str) -> None:
        """Each function's settings, built from the template's environment, pass validation."""
        parameters = template["Parameters"]
        environment = {
            **template["Globals"]["Function"]["Environment"]["Variables"],
            **_functions(template)[function].get("Environment", {}).get("Variables", {}),
        }
        values = {k: _resolve(v, parameters) for k, v in environment.items()}
        # What Lambda itself sets, and a cluster name as `sam deploy --guided` would ask for.
        values.update(
            {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "SLACK_CHANNEL": "C0123456789"}
        )
        SETTINGS[function](values)

    def test_filter_policies_name_real_attributes(self, template: dict[str, Any]) -> None:
        """Every filter policy matches attribute names and values enriched events can carry."""
        known: dict[str, set[str] | None] = {
            "event_type": {e.value for e in EventType},
            "allowance": {a.value for a in AllowanceKind},
            "remediable": {"true", "false"},
            "status": {"firing", "resolved", "unknown"},
            "action": {a.value for a in ActionKind},
            "outcome": {o.value for o in Outcome},
            "severity": None,
            "cluster": None,
            "alertname": None,
        }
        policies = []
        for props in _functions(template).values():
            for event in props.get("Events", {}).values():
                policy = event["Properties"].get("FilterPolicy")
                if policy is None:
                    continue
                if "Fn::If" in policy:
                    policies.extend(policy["Fn::If"][1:])
                else:
                    policies.append(policy)
        assert policies
        for policy in policies:
            for attribute, allowed in policy.items():
                assert attribute in known, f"filter on unknown attribute {attribute!r}"
                values = known[attribute]
                if values is not None:
                    assert set(allowed) <= values, f"{attribute}: {set(allowed) - values} never sent"


# --- IAM: no write action on every resource -----------------------------------------------------
READ_VERBS = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "Search", "Lookup", "Receive")
"""An action whose name starts with one of these only reads. Everything else counts as a write
(Put/Create/Update/Delete/Publish/Send/Invoke/..., and KMS's Decrypt/GenerateDataKey: they use a key)."""

WILDCARD_WRITES_ALLOWED: dict[str, str] = {
    "cloudwatch:PutMetricData": "CloudWatch offers no resource-level permission (a namespace condition only)",
    "xray:PutTraceSegments": "X-Ray offers no resource-level permission for trace writes",
    "xray:PutTelemetryRecords": "X-Ray offers no resource-level permission for telemetry writes",
}
"""The only write actions that may use `Resource: "*"`, because AWS offers nothing narrower for them."""


def _is_write(action: str) -> bool:
    _, _, name = action.partition(":")
    return not name.startswith(READ_VERBS)


def _statements(value: Any) -> list[dict[str, Any]]:
    """Every IAM statement inside a Policies list, a PolicyDocument, or an Fn::If branch."""
    found: list[dict[str, Any]] = []
    if isinstance(value, list):
        for item in value:
            found.extend(_statements(item))
    elif isinstance(value, dict):
        if "Effect" in value and "Action" in value:
            found.append(value)
        elif "Fn::If" in value:
            found.extend(_statements(value["Fn::If"][1:]))
        else:
            for key in ("Statement", "PolicyDocument", "Policies"):
                if key in value:
                    found.extend(_statements(value[key]))
    return found


def _identity_statements(template: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Statements of the policies attached to identities (function roles, IAM roles and policies).

    Resource policies (a KMS key policy's `Resource: "*"` means "this key") are not identity policies.
    """
    found: dict[str, list[dict[str, Any]]] = {}
    for name, resource in template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::Serverless::Function":
            found[name] = _statements(props.get("Policies", []))
        elif kind in {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            found[name] = _statements(props.get("Policies", []))
            found[name] += _statements(props.get("PolicyDocument", {}))
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class TestIam:
    def test_statements_are_found(self, template: dict[str, Any]) -> None:
        """The walker sees every function's inline statements (else the next test proves nothing)."""
        statements = _identity_statements(template)
        assert set(statements) >= set(SETTINGS)
        actions = {a for s in statements.values() for st in s for a in _as_list(st["Action"])}
        assert {"eks:UpdateAddon", "s3:PutObject", "secretsmanager:GetSecretValue"} <= actions

    def test_no_write_action_on_every_resource(self, template: dict[str, Any]) -> None:
        """Every write action names its resource, except those AWS offers no resource-level permission for."""
        offenders = [
            f"{owner}: {action}"
            for owner, statements in _identity_statements(template).items()
            for statement in statements
            if statement["Effect"] == "Allow" and "*" in _as_list(statement["Resource"])
            for action in _as_list(statement["Action"])
            if _is_write(action) and action not in WILDCARD_WRITES_ALLOWED
        ]
        assert offenders == []

    def test_the_classifier_catches_writes(self) -> None:
        """A sanity check of the rule itself: writes are writes, reads are reads."""
        writes = ["eks:UpdateAddon", "sns:Publish", "sqs:SendMessage", "s3:PutObject", "kms:Decrypt", "iam:*"]
        reads = ["ec2:DescribeInstances", "eks:DescribeAddonConfiguration", "dynamodb:Query"]
        reads.append("ssm:GetParameter")
        assert [a for a in writes if not _is_write(a)] == []
        assert [a for a in reads if _is_write(a)] == []

    def test_update_addon_only_on_coredns_of_configured_clusters(self, template: dict[str, Any]) -> None:
        """eks:UpdateAddon and DescribeAddon reach the coredns add-on of the configured clusters only."""
        statements = _identity_statements(template)["RemediateFunction"]
        (addon,) = [s for s in statements if "eks:UpdateAddon" in _as_list(s["Action"])]
        assert set(_as_list(addon["Action"])) == {"eks:UpdateAddon", "eks:DescribeAddon"}
        for names, expected in (("", ["prod"]), ("prod,stage", ["prod", "stage"])):
            rendered = cfn.render({"ClusterName": "prod", "EksClusterNames": names}, template)
            (granted,) = [
                s
                for s in rendered.identity[cfn.role_arn("RemediateFunction")]
                if "eks:UpdateAddon" in _as_list(s["Action"])
            ]
            assert granted["Resource"] == [f"arn:*:eks:*:*:addon/{n}/coredns/*" for n in expected]
            assert granted["Condition"] == {"StringEquals": {"aws:ResourceAccount": cfn.ACCOUNT}}

    def test_no_s3_write_policy_template(self, template: dict[str, Any]) -> None:
        """S3WritePolicy grants PutObjectAcl and PutLifecycleConfiguration; enrich only puts objects."""
        policies = _functions(template)["EnrichFunction"]["Policies"]
        assert not any(isinstance(p, dict) and "S3WritePolicy" in p for p in policies)


class TestQueuesAndKeys:
    def test_every_queue_uses_the_stack_key(self, template: dict[str, Any]) -> None:
        resources = template["Resources"]
        queues = {n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
        assert queues
        for name, props in queues.items():
            assert props.get("KmsMasterKeyId") == {"Ref": "TopicKey"}, name
            assert "SqsManagedSseEnabled" not in props, name

    def test_follow_up_poller_is_capped_below_reserved_concurrency(self, template: dict[str, Any]) -> None:
        """The poller leaves SNS-driven invocations room, and a storm cannot burn the receive count."""
        remediate = _functions(template)["RemediateFunction"]
        reserved = remediate["ReservedConcurrentExecutions"]
        follow_up = remediate["Events"]["FollowUp"]["Properties"]
        assert 2 <= follow_up["ScalingConfig"]["MaximumConcurrency"] < reserved
        queue = template["Resources"]["FollowUpQueue"]["Properties"]
        hours = queue["RedrivePolicy"]["maxReceiveCount"] * queue["VisibilityTimeout"] / 3600
        assert hours >= 4, "a follow-up must survive Alertmanager's 4 h repeat_interval of saturation"

    def test_every_function_may_use_the_key_of_its_queues(self, template: dict[str, Any]) -> None:
        """Queues are encrypted with TopicKey: a function that writes to one (its failure destination,
        the follow-up queue) or reads one (an SQS event source) needs kms:GenerateDataKey* and Decrypt."""
        statements = _identity_statements(template)
        for name, props in _functions(template).items():
            uses_queue = "OnFailure" in props.get("EventInvokeConfig", {}).get(
                "DestinationConfig", {}
            ) or any(e["Type"] == "SQS" for e in props.get("Events", {}).values())
            if not uses_queue:
                continue
            granted = {
                action
                for statement in statements[name]
                if statement.get("Resource") == {"Fn::GetAtt": ["TopicKey", "Arn"]}
                for action in _as_list(statement["Action"])
            }
            assert {"kms:GenerateDataKey*", "kms:Decrypt"} <= granted, name

    @pytest.mark.parametrize(
        ("parameters", "workspace"),
        [
            ({"CreateAmpWorkspace": "true"}, cfn.OWN_WORKSPACE),
            ({"AmpWorkspaceSourceArn": cfn.workspace_arn("ws-ext")}, cfn.workspace_arn("ws-ext")),
        ],
    )
    def test_amp_may_publish_only_from_the_configured_workspace(
        self, template: dict[str, Any], parameters: dict[str, str], workspace: str
    ) -> None:
        """The key policy and AlertsTopic's policy name exactly one workspace ARN (no wildcard)."""
        rendered = cfn.render({"ClusterName": "prod", **parameters}, template)
        amp = [
            statement
            for _, statements in rendered.resource_policies
            for statement in statements
            if statement.get("Principal") == {"Service": "aps.amazonaws.com"}
        ]
        assert len(amp) == 2  # the key policy's and the topic policy's
        for statement in amp:
            assert statement["Condition"] == {
                "StringEquals": {"aws:SourceAccount": cfn.ACCOUNT},
                "ArnEquals": {"aws:SourceArn": workspace},
            }

    def test_no_workspace_configured_no_amp_grant(self, template: dict[str, Any]) -> None:
        rendered = cfn.render({"ClusterName": "prod"}, template)
        principals = [s.get("Principal") for _, statements in rendered.resource_policies for s in statements]
        assert {"Service": "aps.amazonaws.com"} not in principals

    def test_own_workspace_names_the_topic_without_a_reference(self, template: dict[str, Any]) -> None:
        """The workspace's definition names AlertsTopic by the ARN its TopicName gives (the policies
        reference the workspace, so a reference back would be a cycle), and nothing depends on a policy."""
        rendered = cfn.render({"ClusterName": "prod", "CreateAmpWorkspace": "true"}, template)
        workspace = template["Resources"]["AmpWorkspace"]
        (_, variables) = workspace["Properties"]["AlertManagerDefinition"]["Fn::Sub"]
        topic_arn = cfn.Resolver(template, {"ClusterName": "prod"}).value(variables["AlertsTopicArn"])
        assert topic_arn == rendered.arn("AlertsTopic")
        assert "DependsOn" not in workspace


class TestParameters:
    @pytest.mark.parametrize("name", ["SlackSecretArn", "PagerDutySecretArn"])
    def test_secret_arns_are_checked(self, template: dict[str, Any], name: str) -> None:
        pattern = re.compile(template["Parameters"][name]["AllowedPattern"])
        good = ["", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:netguard/slack-AbC123"]
        bad = ["netguard/slack", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:*", "arn:aws:s3:::x"]
        assert [v for v in good if not pattern.fullmatch(v)] == []
        assert [v for v in bad if pattern.fullmatch(v)] == []

    def test_samconfig_gives_every_required_parameter(self, template: dict[str, Any]) -> None:
        """A non-guided `sam deploy` needs a value for every parameter without a default."""
        config = tomllib.loads((ROOT / "samconfig.toml").read_text())
        overrides = config["default"]["deploy"]["parameters"]["parameter_overrides"]
        given = {item.split("=", 1)[0] for item in overrides}
        required = {n for n, p in template["Parameters"].items() if "Default" not in p}
        assert required <= given
        assert given <= set(template["Parameters"])

    def test_eks_cluster_names_match_clusters_config(self) -> None:
        """EksClusterNames (IAM's list) names exactly the clusters ClustersConfig does, in samconfig.toml."""
        config = tomllib.loads((ROOT / "samconfig.toml").read_text())
        for env in (v for v in config.values() if isinstance(v, dict)):
            overrides = dict(
                item.split("=", 1)
                for item in env.get("deploy", {}).get("parameters", {}).get("parameter_overrides", [])
            )
            if not overrides:
                continue
            assert eks_names_agree(overrides), overrides

    @pytest.mark.parametrize(
        ("overrides", "agree"),
        [
            ({"ClusterName": "prod"}, True),
            ({"ClusterName": "prod", "EksClusterNames": "prod"}, True),
            (
                {
                    "ClusterName": "a",
                    "ClustersConfig": '{"a": {"eks_name": "prod-a"}, "b": {"eks_name": "b"}}',
                    "EksClusterNames": "prod-a,b",
                },
                True,
            ),
            (
                {
                    "ClusterName": "a",
                    "ClustersConfig": '{"a": {"eks_name": "prod-a"}, "b": {"eks_name": "b"}}',
                },
                False,
            ),
            ({"ClusterName": "a", "ClustersConfig": '{"a": {}}', "EksClusterNames": "a,other"}, False),
        ],
    )
    def test_the_agreement_check_itself(self, overrides: dict[str, str], agree: bool) -> None:
        assert eks_names_agree(overrides) is agree

    def test_admission_ceiling_is_the_highest_max_replicas(self, template: dict[str, Any]) -> None:
        """deploy/rbac's admission policy lets CoreDNS go as high as CoreDnsMaxReplicas may be set."""
        policy = yaml.safe_load_all((ROOT / "deploy" / "rbac" / "nodelocaldns-admission.yaml").read_text())
        (vap,) = [d for d in policy if d["kind"] == "ValidatingAdmissionPolicy"]
        variables = {v["name"]: v["expression"] for v in vap["spec"]["variables"]}
        assert int(variables["ceiling"]) == template["Parameters"]["CoreDnsMaxReplicas"]["MaxValue"]
        assert int(variables["floor"]) <= template["Parameters"]["CoreDnsMaxReplicas"]["MinValue"]


def eks_names_agree(overrides: dict[str, str]) -> bool:
    """Whether EksClusterNames (empty: ClusterName) is the set of EKS names ClustersConfig gives (an entry
    without eks_name is named by its key; empty ClustersConfig: ClusterName alone)."""
    clusters = json.loads(overrides.get("ClustersConfig") or "{}")
    wanted = {str(v.get("eks_name") or k) for k, v in clusters.items()} or {overrides["ClusterName"]}
    listed = {n for n in (overrides.get("EksClusterNames") or "").split(",") if n} or {
        overrides["ClusterName"]
    }
    return listed == wanted
