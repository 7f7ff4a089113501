"""template.yaml agrees with the code: handlers exist, settings validate, filters match attributes.

`sam validate --lint` and cfn-lint (run by `make validate`) check CloudFormation itself; these tests
check what they cannot: that each function, configured exactly as the template configures it,
starts, and that every filter policy names attributes the enriched events really carry.
"""

from __future__ import annotations

import ast
import subprocess
import sys
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

ROOT = Path(__file__).resolve().parents[2]


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags kept as {"Fn::Name": value}."""


def _tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506 -- SafeLoader subclass


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
