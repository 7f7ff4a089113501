"""The enrichment Lambda end to end: SNS event in, enriched events out on a topic captured by an SQS
queue, against moto (EC2, SNS, SQS, DynamoDB, S3) and the real local control plane."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from netguard.alerts.fingerprint import fingerprint
from netguard.dns import observe_cluster_dns
from netguard.enrich.process import IDEMPOTENCY_PK
from netguard.enrich.publish import SNS_MAX_BYTES
from netguard.enriched import EnrichedEvent, EventType, event_from_json
from netguard.state.idempotency import stored_key
from netguard.state.owned import Owner, physical_pk
from netguard_cli.commands.invoke import invoke
from netguard_cli.localstack.processes import free_port
from tests.support.aws import MotoServer
from tests.support.k8s import EksWorld, K8sCluster
from tests.support.logs import powertools_lines

pytestmark = [pytest.mark.integration, pytest.mark.k8s]

LINKLOCAL = {
    "alertname": "LinkLocalAllowanceExceeded",
    "type": "linklocal_allowance_exceeded",
    "severity": "critical",
}


def webhook_alert(
    labels: dict[str, str], *, annotation: str = "link-local packets dropped"
) -> dict[str, Any]:
    full = {**LINKLOCAL, **labels}
    return {
        "status": "firing",
        "labels": full,
        "annotations": {"summary": annotation},
        "startsAt": "2026-11-25T20:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph?g0.expr=x",
        "fingerprint": fingerprint(full),
    }


def sns_event(
    message: str, *, message_id: str | None = None, subject: str = "[FIRING] netguard"
) -> dict[str, Any]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:alerts:sub",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id or str(uuid.uuid4()),
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts",
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": "2026-11-25T20:00:05.000Z",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def group_message(alerts: list[dict[str, Any]]) -> str:
    return json.dumps(
        {
            "version": "4",
            "groupKey": '{}:{alertname="LinkLocalAllowanceExceeded"}',
            "status": "firing",
            "receiver": "sns",
            "groupLabels": {"alertname": "LinkLocalAllowanceExceeded"},
            "commonLabels": {"alertname": "LinkLocalAllowanceExceeded"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager",
            "alerts": alerts,
        }
    )


@dataclass
class Captured:
    event: EnrichedEvent
    attributes: dict[str, str]
    size: int
    """Bytes SNS counted: the message body plus attribute names, types and values."""


@dataclass
class Stack:
    world: EksWorld
    queue_url: str
    table: str
    bucket: str
    kubeconfig: Path

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = invoke("enrich", event)
        return result

    def drain(self) -> list[Captured]:
        sqs = boto3.client("sqs")
        captured: list[Captured] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return sorted(captured, key=lambda c: c.event.event_id)
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
                size = len(envelope["Message"].encode()) + sum(
                    len(k) + len(v["Type"]) + len(v["Value"].encode())
                    for k, v in envelope.get("MessageAttributes", {}).items()
                )
                captured.append(Captured(event_from_json(envelope["Message"]), attributes, size))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def stack(eks_env: EksWorld, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """Topic + capturing queue, state table and raw bucket (unique names: this moto is shared),
    and the function's environment for two cluster names served by the local control plane."""
    suffix = uuid.uuid4().hex[:10]
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name=f"enriched-{suffix}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"captured-{suffix}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    table = f"state-{suffix}"
    boto3.client("dynamodb").create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    )
    bucket = f"raw-{suffix}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    kubeconfig = eks_env.cluster.kubeconfig("enrich")
    access = {"eks_name": eks_env.cluster_name, "region": eks_env.region, "kubeconfig": str(kubeconfig)}
    monkeypatch.setenv("ENRICHED_TOPIC_ARN", topic)
    monkeypatch.setenv("STATE_TABLE", table)
    monkeypatch.setenv("RAW_BUCKET", bucket)
    monkeypatch.setenv("DEFAULT_CLUSTER", "prod")
    monkeypatch.setenv("CLUSTERS", json.dumps({"prod": access, "staging": access}))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    return Stack(eks_env, queue_url, table, bucket, kubeconfig)


def test_alerts_addressed_every_way_and_two_clusters(stack: Stack) -> None:
    """IP:port, node name, instance id, an unknown IP, and a second cluster in one group."""
    world = stack.world
    nodes = {n.name: n for n in world.nodes}
    dns_nodes = observe_cluster_dns(world.cluster.admin).distinct_nodes()
    dns_node = nodes[dns_nodes[0]]
    # Nodes without any CoreDNS replica: the second replica's node would be remediable too.
    others = [n for n in world.nodes if n.name not in dns_nodes]
    alerts = [
        webhook_alert({"instance": f"{dns_node.internal_ip}:9100"}),
        webhook_alert({"node": others[0].name}),
        webhook_alert({"instance_id": others[1].instance_id}),
        webhook_alert({"instance": "10.0.250.250:9100"}),
        webhook_alert({"instance": f"{others[2].internal_ip}:9100", "cluster": "staging"}),
    ]
    result = stack.invoke(sns_event(group_message(alerts)))
    assert result["published"] == 2
    prod, staging = sorted(stack.drain(), key=lambda c: c.event.cluster)
    assert (prod.event.cluster, staging.event.cluster) == ("prod", "staging")
    assert prod.attributes["cluster"] == "prod"
    assert staging.attributes["cluster"] == "staging"
    assert prod.attributes["event_type"] == "alert_group"
    assert prod.attributes["alertname"] == "LinkLocalAllowanceExceeded"
    assert prod.attributes["severity"] == "critical"
    assert prod.attributes["remediable"] == "true"
    assert prod.event.status == "firing"

    by_ip, by_name, by_id, unknown = prod.event.alerts
    assert by_ip.instance is not None
    assert by_ip.instance.instance_id == dns_node.instance_id
    assert by_ip.instance.instance_type == dns_node.instance_type
    assert by_ip.instance.network_performance != ""
    assert by_ip.node is not None
    assert by_ip.node.name == dns_node.name
    assert by_ip.dns is not None
    assert len(by_ip.dns.coredns_pods_on_node) >= 1
    assert by_ip.dns.kube_proxy_mode == "iptables"
    assert by_ip.diagnosis is not None
    assert by_ip.diagnosis.remediable
    assert by_name.instance is not None
    assert by_name.instance.instance_id == others[0].instance_id
    assert by_name.diagnosis is not None
    assert not by_name.diagnosis.remediable
    assert by_id.node is not None
    assert by_id.node.name == others[1].name
    assert unknown.instance is None
    assert unknown.node is None
    assert {(e.source, e.fingerprint) for e in prod.event.enrichment_errors} == {
        ("ec2", unknown.alert.fingerprint),
        ("kubernetes", unknown.alert.fingerprint),
    }
    (other_cluster,) = staging.event.alerts
    assert other_cluster.cluster == "staging"
    assert other_cluster.node is not None
    assert other_cluster.node.name == others[2].name
    assert staging.event.enrichment_errors == ()
    assert staging.event.group_id != prod.event.group_id


def _total(value: float | list[float]) -> float:
    return sum(value) if isinstance(value, list) else value


def emf_metrics(output: str) -> list[dict[str, float]]:
    """The metric values of every EMF document the handler printed."""
    documents = [
        json.loads(line) for line in output.splitlines() if line.startswith("{") and '"_aws"' in line
    ]
    return [
        {m["Name"]: _total(d[m["Name"]]) for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
        for d in documents
        if d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Netguard"
    ]


def test_duplicate_delivery_publishes_once(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    event = sns_event(
        group_message([webhook_alert({"instance": f"{stack.world.nodes[0].internal_ip}:9100"})]),
        message_id="dup-" + uuid.uuid4().hex,
    )
    first = stack.invoke(event)
    second = stack.invoke(event)
    first_metrics, second_metrics = emf_metrics(capsys.readouterr().out)
    assert first_metrics == {
        "AlertsParsed": 1,
        "AlertsEnriched": 1,
        "UnparseableMessages": 0,
        "EnrichmentErrors": 0,
        "EventsPublished": 1,
    }
    assert second_metrics["EventsPublished"] == 0
    assert (first["published"], first["duplicates"]) == (1, 0)
    assert (second["published"], second["duplicates"]) == (0, 1)
    assert len(stack.drain()) == 1
    item = boto3.client("dynamodb").get_item(
        TableName=stack.table,
        Key={
            "pk": {"S": physical_pk(Owner.ENRICH, IDEMPOTENCY_PK)},
            "sk": {"S": stored_key(IDEMPOTENCY_PK, event["Records"][0]["Sns"]["MessageId"])},
        },
    )
    assert json.loads(item["Item"]["data"]["S"])["status"] == "COMPLETED"
    assert int(item["Item"]["expires_at"]["N"]) > 0


def test_large_group_is_split_into_parts_under_the_limit(stack: Stack) -> None:
    """1200 alerts with 1.5 KB annotations: numbered parts, each under 256 KB, nothing dropped."""
    nodes = stack.world.nodes
    alerts = [
        webhook_alert(
            {"instance": f"{nodes[i % len(nodes)].internal_ip}:9100", "series": str(i)}, annotation="d" * 1500
        )
        for i in range(1200)
    ]
    result = stack.invoke(sns_event(group_message(alerts)))
    captured = stack.drain()
    assert result["published"] == len(captured) > 1
    assert all(c.size < SNS_MAX_BYTES for c in captured)
    parts = sorted(c.event.part_index for c in captured)
    assert parts == list(range(1, len(captured) + 1))
    assert {c.event.part_count for c in captured} == {len(captured)}
    published = {a.alert.fingerprint for c in captured for a in c.event.alerts}
    assert published == {a["fingerprint"] for a in alerts}
    assert all(a.instance is not None for c in captured for a in c.event.alerts)


def test_kubernetes_outage_still_publishes(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = yaml.safe_load(stack.kubeconfig.read_text())
    for entry in config["clusters"]:
        entry["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(yaml.safe_dump(config))
    monkeypatch.setenv(
        "CLUSTERS", json.dumps({"prod": {"eks_name": "x", "region": "us-east-1", "kubeconfig": str(dead)}})
    )
    node = stack.world.nodes[0]
    stack.invoke(sns_event(group_message([webhook_alert({"instance": f"{node.internal_ip}:9100"})])))
    (captured,) = stack.drain()
    assert [e.source for e in captured.event.enrichment_errors] == ["kubernetes"]
    (alert,) = captured.event.alerts
    assert alert.instance is not None
    assert alert.instance.instance_id == node.instance_id
    assert alert.node is None
    assert alert.dns is None
    assert alert.diagnosis is not None


def test_ec2_outage_still_publishes(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", f"http://127.0.0.1:{free_port()}")
    node = stack.world.nodes[0]
    stack.invoke(sns_event(group_message([webhook_alert({"instance": f"{node.internal_ip}:9100"})])))
    (captured,) = stack.drain()
    assert [e.source for e in captured.event.enrichment_errors] == ["ec2"]
    (alert,) = captured.event.alerts
    assert alert.instance is None
    assert alert.node is not None
    assert alert.node.name == node.name


def test_unparseable_message_is_published_and_kept(stack: Stack) -> None:
    raw = "this is not an alert <html>" * 10
    event = sns_event(raw, subject="hello")
    with powertools_lines("netguard-enrich") as lines:
        result = stack.invoke(event)
    assert result["published"] == 1
    # One warning line with the specific reason and where the raw message was kept.
    (warning,) = [line for line in lines if line.get("level") == "WARNING"]
    assert warning["message"].startswith("message could not be parsed: ")
    assert warning["raw_location"].startswith(f"s3://{stack.bucket}/")
    (captured,) = stack.drain()
    assert captured.event.event_type is EventType.UNPARSEABLE
    assert captured.attributes["event_type"] == "unparseable"
    info = captured.event.unparseable
    assert info is not None
    assert info.raw_location.startswith(f"s3://{stack.bucket}/")
    key = info.raw_location.removeprefix(f"s3://{stack.bucket}/")
    kept = json.loads(boto3.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read())
    assert kept["message"] == raw
    assert kept["message_id"] == event["Records"][0]["Sns"]["MessageId"]


class TestStorm:
    """1000 alerts: at most ceil(1000/200) DescribeInstances and a constant number of Kubernetes requests."""

    def test_api_calls(self, aws_env: MotoServer, k8s_cluster: K8sCluster) -> None:
        from netguard.alerts import parse_message
        from netguard.alerts.models import SnsMessage
        from netguard.enrich.ec2 import Ec2Enricher
        from netguard.enrich.kubernetes import KubernetesEnricher
        from netguard.enrich.pipeline import Pipeline

        ec2 = boto3.client("ec2")
        instances = ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1000, MaxCount=1000, InstanceType="m5.large"
        )["Instances"]
        counts: dict[str, int] = {}

        def hook(model: Any, **_: Any) -> None:
            counts[model.name] = counts.get(model.name, 0) + 1

        ec2.meta.events.register("before-call.ec2.*", hook)
        kube = k8s_cluster.client("enrich")
        pipeline = Pipeline(
            ec2_for_region=lambda region: Ec2Enricher(ec2),
            kube_for_cluster=lambda name: KubernetesEnricher(kube),
            cluster_regions={"prod": "us-east-1"},
            default_region="us-east-1",
            default_cluster="prod",
        )

        def run(n: int) -> tuple[dict[str, int], int, Any]:
            counts.clear()
            before = sum(kube.calls.values())
            message = SnsMessage(
                message=group_message(
                    [webhook_alert({"instance": f"{i['PrivateIpAddress']}:9100"}) for i in instances[:n]]
                )
            )
            groups = parse_message(message)
            assert isinstance(groups, list), groups
            (group,) = groups
            result = pipeline.enrich(group)
            return dict(counts), sum(kube.calls.values()) - before, result

        small_ec2, small_kube, _ = run(10)
        storm_ec2, storm_kube, result = run(1000)
        assert storm_ec2["DescribeInstances"] <= math.ceil(1000 / 200)
        assert storm_ec2["DescribeInstanceTypes"] <= 1
        assert storm_kube == small_kube
        assert sum(1 for a in result.alerts if a.instance is not None) == 1000
        assert small_ec2["DescribeInstances"] == 1
