"""amp/: netguard's template and the alert manager definition that deploys it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

AMP = Path(__file__).resolve().parents[3] / "amp"
# Functions every Alertmanager version netguard supports has (toJson arrived in 0.30).
OLD_FUNCTIONS = {"toUpper", "toLower", "title", "join", "safeHtml", "reReplaceAll", "match", "stringSlice"}
GO_BUILTINS = {"if", "else", "end", "range", "define", "template", "with", "len", "eq", "gt", "printf"}


def test_definition_embeds_the_template_verbatim() -> None:
    """template_files.netguard in alertmanager.yaml is amp/netguard.tmpl, byte for byte."""
    definition = yaml.safe_load((AMP / "alertmanager.yaml").read_text())
    assert set(definition) == {"template_files", "alertmanager_config"}
    assert definition["template_files"]["netguard"] == (AMP / "netguard.tmpl").read_text()


def test_config_routes_to_one_sns_receiver_using_the_template() -> None:
    """AMP accepts only SNS receivers with sigv4.region and no api_url."""
    config = yaml.safe_load(yaml.safe_load((AMP / "alertmanager.yaml").read_text())["alertmanager_config"])
    assert config["templates"] == ["netguard"]
    (receiver,) = config["receivers"]
    (sns,) = receiver["sns_configs"]
    assert "api_url" not in sns
    assert "http_config" not in sns
    assert sns["sigv4"] == {"region": "${AWS::Region}"}
    assert sns["topic_arn"] == "${AlertsTopicArn}"
    assert sns["message"] == '{{ template "netguard.json" . }}'
    assert config["route"]["receiver"] == receiver["name"]


def test_template_uses_only_old_functions() -> None:
    """No toJson or any function newer Alertmanager versions added."""
    text = re.sub(r"\{\{/\*.*?\*/\}\}", "", (AMP / "netguard.tmpl").read_text(), flags=re.S)
    assert "toJson" not in text
    words = set()
    for action in re.findall(r"\{\{-?\s*(.*?)\s*-?\}\}", text, re.S):
        if action.startswith("/*"):
            continue
        for word in re.findall(r"(?:^|[\s|(])([a-zA-Z]+)\b", re.sub(r'`[^`]*`|"[^"]*"', "", action)):
            words.add(word)
    assert words <= OLD_FUNCTIONS | GO_BUILTINS


def test_definition_has_no_other_substitutions() -> None:
    """Only ${AlertsTopicArn} and ${AWS::Region} are left for Fn::Sub."""
    text = (AMP / "alertmanager.yaml").read_text()
    assert set(re.findall(r"\$\{[^}]*\}", text)) == {"${AlertsTopicArn}", "${AWS::Region}"}
