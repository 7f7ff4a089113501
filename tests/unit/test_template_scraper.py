"""template.yaml's optional AMP managed scraper: its conditions rendered both ways, the parameters'
patterns, the Rule that refuses a scraper without a workspace, and the configuration it carries
(amp/scrape.yaml with the cluster's name). cfn-lint checks the template with the scraper on and off."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from netguard_cli.localstack.prometheus import load_scrape_config
from tests.attacks import cfn

ROOT = Path(__file__).resolve().parents[2]
SUBNETS = "subnet-0a1b2c3d,subnet-0e4f5a6b"
WORKSPACE = "arn:aws:aps:us-east-1:123456789012:workspace/ws-0123abcd-4567-89ef"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn.load_template()


def evaluate(expr: Any, template: Mapping[str, Any], values: Mapping[str, str]) -> Any:
    """A CloudFormation condition or rule expression over parameter values (defaults for the rest)."""
    if isinstance(expr, str):
        return expr
    ((kind, arg),) = expr.items()
    if kind == "Ref":
        return values.get(arg, str(template["Parameters"][arg].get("Default", "")))
    if kind in {"Condition", "Fn::Condition"}:
        return evaluate(template["Conditions"][arg], template, values)
    if kind == "Fn::Equals":
        left, right = (evaluate(a, template, values) for a in arg)
        return left == right
    if kind == "Fn::Not":
        return not evaluate(arg[0], template, values)
    if kind == "Fn::And":
        return all(evaluate(a, template, values) for a in arg)
    if kind == "Fn::Or":
        return any(evaluate(a, template, values) for a in arg)
    raise AssertionError(f"not evaluated here: {kind}")


CASES = [
    ({}, False, True),
    ({"CreateAmpWorkspace": "true"}, False, True),
    ({"ScraperSubnetIds": SUBNETS, "CreateAmpWorkspace": "true"}, True, True),
    ({"ScraperSubnetIds": SUBNETS, "ScraperWorkspaceArn": WORKSPACE}, True, True),
    ({"ScraperSubnetIds": SUBNETS}, False, False),  # refused by the Rule, never deployed half-done
]


@pytest.mark.parametrize(("values", "scraper", "accepted"), CASES)
def test_condition_both_ways(
    template: dict[str, Any], values: dict[str, str], scraper: bool, accepted: bool
) -> None:
    """The scraper exists exactly when subnets and a workspace are given; subnets without a workspace
    fail the stack's Rule instead of silently creating nothing."""
    resource = template["Resources"]["AmpScraper"]
    assert evaluate(template["Conditions"][resource["Condition"]], template, values) is scraper
    rule = template["Rules"]["ScraperNeedsAWorkspace"]
    applies = evaluate(rule["RuleCondition"], template, values)
    holds = all(evaluate(a["Assert"], template, values) for a in rule["Assertions"])
    assert (not applies or holds) is accepted
    assert template["Outputs"]["AmpScraperArn"]["Condition"] == resource["Condition"]


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("ScraperSubnetIds", "", True),
        ("ScraperSubnetIds", SUBNETS, True),
        ("ScraperSubnetIds", "subnet-0a1b2c3d", False),  # one subnet: one AZ at most
        ("ScraperSubnetIds", "subnet-0a1b, subnet-0c2d", False),
        ("ScraperSecurityGroupIds", "sg-0123abcd", True),
        ("ScraperSecurityGroupIds", "sg-0123abcd,nope", False),
        ("ScraperWorkspaceArn", WORKSPACE, True),
        ("ScraperWorkspaceArn", "ws-0123", False),
    ],
)
def test_parameter_patterns(template: dict[str, Any], name: str, value: str, ok: bool) -> None:
    """What CloudFormation accepts for each scraper parameter (AllowedPattern is a full match)."""
    pattern = template["Parameters"][name]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is ok


def test_scraper_carries_amp_scrape_yaml(template: dict[str, Any]) -> None:
    """The configuration blob is amp/scrape.yaml with the ClusterName parameter substituted, and the
    scraper reads the cluster of that name."""
    properties = template["Resources"]["AmpScraper"]["Properties"]
    blob = properties["ScrapeConfiguration"]["ConfigurationBlob"]["Fn::Base64"]["Fn::Sub"]
    assert set(re.findall(r"\$\{[^}]*\}", blob)) == {"${ClusterName}"}
    rendered = base64.b64encode(blob.replace("${ClusterName}", "prod").encode())
    assert yaml.safe_load(base64.b64decode(rendered)) == load_scrape_config(ROOT / "amp", cluster="prod")
    assert properties["Source"]["EksConfiguration"]["ClusterArn"]["Fn::Sub"].endswith(
        ":cluster/${ClusterName}"
    )


@pytest.mark.parametrize("scraper", [False, True], ids=["scraper-off", "scraper-on"])
def test_cfn_lint_with_scraper_on_and_off(tmp_path: Path, scraper: bool) -> None:
    """cfn-lint passes with the scraper's parameters defaulted off and on."""
    binary = shutil.which("cfn-lint", path=str(ROOT / ".venv" / "bin")) or shutil.which("cfn-lint")
    assert binary, "cfn-lint not installed (make venv)"
    text = (ROOT / "template.yaml").read_text()
    if scraper:
        for name, value in {
            "ScraperSubnetIds": SUBNETS,
            "ScraperSecurityGroupIds": "sg-0123abcd",
            "CreateAmpWorkspace": "true",
        }.items():
            text, count = re.subn(
                rf"(\n  {name}:\n    Type: String\n    Default: )\"[^\"]*\"", rf'\g<1>"{value}"', text
            )
            assert count == 1, name
    path = tmp_path / "template.yaml"
    path.write_text(text)
    result = subprocess.run([binary, str(path)], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
