"""template.yaml's remediation parameters accept exactly what the function's configuration accepts, and
every asynchronously invoked function bounds how late an event may still be handled."""

from __future__ import annotations

import re
from typing import Any

import pytest

from netguard.config.remediate import BOUNDS, HEADROOM_BOUNDS
from netguard.config.remediate import Settings as RemediateSettings
from netguard.errors import ConfigError
from tests.attacks import cfn
from tests.unit.test_template import _functions


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn.load_template()


def _remediate_refs(template: dict[str, Any]) -> dict[str, str]:
    """Environment variable -> the template parameter it is set from (RemediateFunction)."""
    variables = _functions(template)["RemediateFunction"]["Environment"]["Variables"]
    return {
        name: value["Ref"] for name, value in variables.items() if isinstance(value, dict) and "Ref" in value
    }


def test_number_parameters_have_the_configurations_bounds(template: dict[str, Any]) -> None:
    """Every bounded setting the template passes carries MinValue/MaxValue equal to the configuration's
    (a CoreDnsStep of 6-10 once passed CloudFormation and failed every cold start)."""
    refs = _remediate_refs(template)
    checked = 0
    for variable, (low, high) in BOUNDS.items():
        if variable not in refs:
            continue
        parameter = template["Parameters"][refs[variable]]
        assert parameter["Type"] == "Number", variable
        assert (parameter.get("MinValue"), parameter.get("MaxValue")) == (low, high), variable
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("value", ["0.1", "0.15", "0.8", "1", "1.0", "0.05", "0", "1.5", "2", "0.8x", ".5"])
def test_headroom_pattern_matches_the_configuration(template: dict[str, Any], value: str) -> None:
    """LinklocalHeadroom's AllowedPattern admits a value exactly when the configuration does."""
    pattern = template["Parameters"][_remediate_refs(template)["LINKLOCAL_HEADROOM"]]["AllowedPattern"]
    admitted = re.fullmatch(pattern, value) is not None
    try:
        number = float(value)
        configured = HEADROOM_BOUNDS[0] <= number <= HEADROOM_BOUNDS[1]
    except ValueError:
        configured = False
    assert admitted == configured


@pytest.mark.parametrize("side", [0, 1])
def test_the_bounds_are_the_ones_enforced(side: int) -> None:
    """BOUNDS is what `Settings.from_env` enforces: one past either end fails, the end itself passes."""
    base = {
        "ENRICHED_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:e",
        "STATE_TABLE": "t",
        "FOLLOWUP_QUEUE_URL": "https://sqs/q",
        "KILL_SWITCH_PARAMETER": "/k",
        "DEFAULT_CLUSTER": "prod",
    }
    for variable, bounds in BOUNDS.items():
        edge = bounds[side]
        RemediateSettings.from_env({**base, variable: str(edge)})
        with pytest.raises(ConfigError, match=variable):
            RemediateSettings.from_env({**base, variable: str(edge + (1 if side else -1))})


@pytest.mark.parametrize(
    ("function", "limit"),
    [("NotifySlackFunction", 3600), ("NotifyPagerDutyFunction", 3600), ("RemediateFunction", 900)],
)
def test_late_events_expire(template: dict[str, Any], function: str, limit: int) -> None:
    """Not Lambda's 6 h default: a firing retried hours late must not page, post or act."""
    config = _functions(template)[function]["EventInvokeConfig"]
    assert config["MaximumEventAgeInSeconds"] == limit
