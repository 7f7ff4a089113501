"""Enrichment and remediation as Lambda runs them, against a moto server (EC2 with 1006 instances,
SNS, SQS, DynamoDB) and the local Kubernetes control plane: peak memory, warm time for 1 and 1000
alerts, and the AWS and Kubernetes calls 1000 alerts cost. Each function runs in its own fresh
interpreter (tests/bench/_invoke.py). Prints numbers only: `python -m tests.bench.enrich`.
"""

from __future__ import annotations

import itertools
import json
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml

from netguard.alerts.fingerprint import fingerprint
from netguard.enriched import event_to_json
from netguard_cli.localstack import cluster, eksaddons, processes, seed
from tests.bench import _harness
from tests.unit.remediate.fakes import event as enriched_event
from tests.unit.remediate.fakes import linklocal_alert

REGION = "us-east-1"
CLUSTER = "prod"


@dataclass
class World:
    url: str
    running: cluster.LocalCluster
    ips: list[str]
    env: dict[str, str]
    """AWS settings for a handler process."""

    def client(self, service: str) -> Any:
        session = boto3.session.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
        )
        return session.client(service, endpoint_url=self.url)  # type: ignore[call-overload]

    def table(self, name: str) -> str:
        return _harness.create_state_table(self.client("dynamodb"), name)

    def kube_host(self, identity: str) -> str:
        document = yaml.safe_load(self.running.kubeconfig(identity).read_text())
        server = str(document["clusters"][0]["cluster"]["server"])
        return server.split("://", 1)[1].rstrip("/")


@contextmanager
def world(directory: Path) -> Iterator[World]:
    """A moto server in its own process and the local control plane seeded with its nodes, plus
    1000 more EC2 instances (alerts on instances that are not nodes of the 6-node cluster)."""
    port = processes.free_port()
    moto = processes.start(
        "moto",
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        log_dir=directory / "logs",
    )
    url = f"http://127.0.0.1:{port}"
    running = None
    try:
        processes.wait_until(
            lambda: processes.http_ok(f"{url}/moto-api/data.json"), what="moto", managed=moto
        )
        ec2 = boto3.client(
            "ec2",
            region_name=REGION,
            endpoint_url=url,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        started = time.perf_counter()
        running = cluster.up(cluster.ClusterOptions(directory=directory / "k8s"), ec2=ec2)
        print(f"control plane up in {time.perf_counter() - started:.1f} s ({len(running.nodes)} nodes)")
        extra = ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1000, MaxCount=1000, InstanceType="m5.large"
        )
        ips = [n.internal_ip for n in running.nodes] + [i["PrivateIpAddress"] for i in extra["Instances"]]
        yield World(url, running, ips, _harness.aws_env(url, REGION))
    finally:
        if running is not None:
            running.stop()
        processes.stop(moto)


def _alert(ip: str, i: int) -> dict[str, Any]:
    labels = {
        "alertname": "LinkLocalAllowanceExceeded",
        "type": "linklocal_allowance_exceeded",
        "severity": "critical",
        "instance": f"{ip}:9100",
        "device": "eth0",
        "series": str(i),
    }
    return {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": "link-local packets dropped"},
        "startsAt": "2026-11-25T20:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": fingerprint(labels),
    }


def _sns(message: str, topic: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic,
                    "Subject": "[FIRING] LinkLocalAllowanceExceeded",
                    "Message": message,
                    "Timestamp": "2026-11-25T20:37:02.000Z",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def enrich_figures(place: World) -> dict[str, Any]:
    topic = place.client("sns").create_topic(Name="enriched-bench")["TopicArn"]
    access = {
        "eks_name": "netguard-local",
        "region": REGION,
        "kubeconfig": str(place.running.kubeconfig("enrich")),
    }
    env = {
        **place.env,
        "ENRICHED_TOPIC_ARN": topic,
        "STATE_TABLE": place.table("bench-enrich"),
        "DEFAULT_CLUSTER": CLUSTER,
        "CLUSTERS": json.dumps({CLUSTER: access}),
    }

    def events(name: str, count: int) -> dict[str, Any]:
        # The 1-alert runs alternate between the cluster's nodes; the storm covers nodes and others.
        ips = place.ips[:count] if count > 1 else [place.ips[hash(name) % len(place.running.nodes)]]
        body = {
            "version": "4",
            "status": "firing",
            "receiver": "sns",
            "groupLabels": {"alertname": "LinkLocalAllowanceExceeded"},
            "commonLabels": {"alertname": "LinkLocalAllowanceExceeded"},
            "commonAnnotations": {},
            "externalURL": "http://am",
            "groupKey": "{}:{}",
            "alerts": [_alert(ip, i) for i, ip in enumerate(ips)],
        }
        return _sns(json.dumps(body), f"arn:aws:sns:{REGION}:123456789012:alerts")

    result = _harness.function_figures("enrich", events, env, {place.kube_host("enrich"): "kubernetes"})
    _harness.print_function("enrich", result)
    return result


@contextmanager
def _addon_endpoint() -> Iterator[str]:
    """The local EKS add-on API (moto has none); it holds no add-on, so CoreDNS is a plain Deployment."""
    endpoint, stop = eksaddons.serve()
    try:
        yield endpoint.url
    finally:
        stop()


def remediate_figures(place: World) -> dict[str, Any]:
    sqs = place.client("sqs")
    topic = place.client("sns").create_topic(Name="enriched-remediate-bench")["TopicArn"]
    nodes = [node.name for node in place.running.nodes]
    with _addon_endpoint() as addons:
        env = {
            **place.env,
            "AWS_ENDPOINT_URL_EKS": addons,
            "ENRICHED_TOPIC_ARN": topic,
            "STATE_TABLE": place.table("bench-remediate"),
            "FOLLOWUP_QUEUE_URL": sqs.create_queue(QueueName="followups-bench")["QueueUrl"],
            "KILL_SWITCH_PARAMETER": "/netguard/bench/kill-switch",
            "CLUSTERS": json.dumps(
                {
                    CLUSTER: {
                        "eks_name": seed.CLUSTER_NAME,
                        "region": REGION,
                        "kubeconfig": str(place.running.kubeconfig("remediate")),
                    }
                }
            ),
            # Dry run: every invoke decides (scale CoreDNS) and reports, and the cluster stays as seeded.
            "COREDNS_MODE": "dry-run",
            "NODELOCAL_MODE": "dry-run",
        }

        def events(name: str, count: int) -> dict[str, Any]:
            alerts = [
                linklocal_alert(node, started=time.time() - 900, rate=80.0)
                for node in itertools.islice(itertools.cycle(nodes), count)
            ]
            enriched = enriched_event(*alerts, event_id=f"{name}-{uuid.uuid4()}", cluster=CLUSTER)
            record = {
                "EventSource": "aws:sns",
                "Sns": {
                    "MessageId": enriched.event_id,
                    "Message": event_to_json(enriched),
                    "TopicArn": topic,
                },
            }
            return {"Records": [record]}

        result = _harness.function_figures(
            "remediate", events, env, {place.kube_host("remediate"): "kubernetes"}
        )
    _harness.print_function("remediate", result)
    return result


def main() -> dict[str, Any]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with (
        tempfile.TemporaryDirectory(prefix="netguard-bench-enrich-") as directory,
        world(Path(directory)) as place,
    ):
        return {"enrich": enrich_figures(place), "remediate": remediate_figures(place)}


if __name__ == "__main__":
    main()
