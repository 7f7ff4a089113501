"""Parts of the local stack against real components: the bridge's filtered subscriptions on a moto
server, and amp/'s rules scaled for the demo under promtool."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import yaml

from netguard_cli.localstack.bridge import create_bindings, event_sources, poll_once
from netguard_cli.localstack.prometheus import RuleScale, check_rules, load_rule_files, scale_rules
from tests.support.aws import MotoServer

if TYPE_CHECKING:
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

CHECKOUT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def _attributes(
    event_type: str, severity: str, allowances: list[str]
) -> dict[str, MessageAttributeValueTypeDef]:
    attributes: dict[str, MessageAttributeValueTypeDef] = {
        "event_type": {"DataType": "String", "StringValue": event_type},
        "severity": {"DataType": "String", "StringValue": severity},
    }
    if allowances:
        attributes["allowance"] = {"DataType": "String.Array", "StringValue": json.dumps(allowances)}
    return attributes


def test_bridge_applies_the_template_filter_policies(aws_env: MotoServer, tmp_path: Path) -> None:
    """Through moto, each function receives exactly what its template FilterPolicy lets through,
    as a Lambda SNS event that still carries the message attributes."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topics = {name: sns.create_topic(Name=name)["TopicArn"] for name in ("AlertsTopic", "EnrichedTopic")}
    queues = {"FollowUpQueue": sqs.create_queue(QueueName="FollowUpQueue")["QueueUrl"]}
    sources = event_sources((CHECKOUT / "template.yaml").read_text(), {"PageCriticalOnly": True})
    plan = create_bindings(
        sources,
        sns=sns,
        sqs=sqs,
        topic_arns=topics,
        queue_urls=queues,
        journal=tmp_path / "j.jsonl",
        region="us-east-1",
        available=lambda function: None,
    )
    published = {
        "warning-linklocal": _attributes("alert_group", "warning", ["linklocal"]),
        "critical-pps": _attributes("alert_group", "critical", ["pps"]),
        "remediation": _attributes("remediation", "critical", []),
    }
    for name, attributes in published.items():
        sns.publish(TopicArn=topics["EnrichedTopic"], Message=name, MessageAttributes=attributes)
    sns.publish(TopicArn=topics["AlertsTopic"], Message="from alertmanager", Subject="[FIRING:1] X")
    sqs.send_message(QueueUrl=queues["FollowUpQueue"], MessageBody='{"verify": 1}')

    received: dict[str, list[str]] = {}

    def record(function: str, event: dict[str, Any]) -> None:
        for item in event["Records"]:
            message = item["Sns"]["Message"] if "Sns" in item else "follow-up"
            received.setdefault(function, []).append(message)
            if "Sns" in item and item["Sns"]["TopicArn"] == topics["EnrichedTopic"]:
                assert item["Sns"]["MessageAttributes"]["event_type"]["Type"] == "String"

    for spec in plan.workers.values():
        while poll_once(spec, sqs, record, wait_seconds=0):
            pass
    assert sorted(received["enrich"]) == ["from alertmanager"]
    assert sorted(received["notify_slack"]) == sorted(published)
    assert sorted(received["notify_pagerduty"]) == ["critical-pps", "remediation"]
    assert sorted(received["remediate"]) == ["follow-up", "warning-linklocal"]


def test_bridge_skips_missing_functions(aws_env: MotoServer, tmp_path: Path) -> None:
    """A function that cannot run gets no queue and is reported with the reason."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topics = {name: sns.create_topic(Name=name)["TopicArn"] for name in ("AlertsTopic", "EnrichedTopic")}
    sources = event_sources((CHECKOUT / "template.yaml").read_text(), {"PageCriticalOnly": True})
    plan = create_bindings(
        sources,
        sns=sns,
        sqs=sqs,
        topic_arns=topics,
        queue_urls={},
        journal=tmp_path / "j.jsonl",
        region="us-east-1",
        available=lambda f: "not built yet" if f == "remediate" else None,
    )
    assert "remediate" not in plan.workers
    assert plan.skipped["remediate"] == "not built yet"
    assert set(plan.workers) == {"enrich", "notify_slack", "notify_pagerduty"}


def test_shipped_rules_scaled_pass_promtool(tmp_path: Path) -> None:
    """Every rule file in amp/, scaled x1/30 for the demo, is valid for Debian's promtool."""
    files = load_rule_files(CHECKOUT / "amp")
    assert files, "amp/ holds no rule file"
    paths = []
    for name, rules in files.items():
        path = tmp_path / name
        path.write_text(yaml.safe_dump(scale_rules(rules, RuleScale(factor=1 / 30))))
        paths.append(path)
    assert "SUCCESS" in check_rules(paths)
