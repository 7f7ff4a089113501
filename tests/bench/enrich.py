"""Enrichment benchmark: wall time and API requests for 1, 100 and 1000 alerts through the real
processor (moto for EC2/SNS/DynamoDB, the local Kubernetes control plane), and the handler's
cold-start import time. Prints numbers only: `python -m tests.bench.enrich`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import boto3

from netguard.alerts.fingerprint import fingerprint
from netguard.alerts.models import SnsMessage
from netguard.clients import aws, eks
from netguard.config.enrich import Settings
from netguard.enrich.runtime import build_processor
from netguard_cli.localstack import cluster, processes

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


def import_time() -> None:
    """Cold start: a fresh interpreter importing the handler module (median of 3), and the top imports."""
    code = (
        "import time, importlib.util; t = time.perf_counter(); "
        f"spec = importlib.util.spec_from_file_location('app', {str(ROOT / 'functions/enrich/app.py')!r}); "
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
        "print(time.perf_counter() - t)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    runs = sorted(
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
            ).stdout
        )
        for _ in range(3)
    )
    print(f"cold-start import of functions/enrich/app.py: {runs[1] * 1000:.0f} ms (median of 3)")
    trace = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True, env=env
    ).stderr
    rows = []
    for line in trace.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[1].isdigit() and parts[2].strip() and not parts[2].startswith(" "):
            rows.append((int(parts[1]), parts[2]))
    top = sorted((r for r in rows if "." not in r[1]), reverse=True)[:6]
    print(
        "  largest top-level imports (cumulative ms): "
        + ", ".join(f"{name} {us / 1000:.0f}" for us, name in top)
    )


def alert(ip: str, i: int) -> dict[str, Any]:
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


def message(ips: list[str]) -> SnsMessage:
    body = json.dumps(
        {
            "version": "4",
            "status": "firing",
            "receiver": "sns",
            "groupLabels": {"alertname": "LinkLocalAllowanceExceeded"},
            "commonLabels": {"alertname": "LinkLocalAllowanceExceeded"},
            "commonAnnotations": {},
            "externalURL": "http://am",
            "groupKey": "{}:{}",
            "alerts": [alert(ip, i) for i, ip in enumerate(ips)],
        }
    )
    return SnsMessage(message=body, message_id=str(uuid.uuid4()), topic_arn=f"arn:aws:sns:{REGION}:1:alerts")


def storms(directory: Path) -> None:
    moto = processes.start(
        "moto",
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port := processes.free_port())],
        log_dir=directory / "logs",
    )
    url = f"http://127.0.0.1:{port}"
    running = None
    try:
        processes.wait_until(
            lambda: processes.http_ok(f"{url}/moto-api/data.json"), what="moto", managed=moto
        )
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": url,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
            }
        )
        aws.clear()
        eks.clear()
        ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=url)
        started = time.perf_counter()
        running = cluster.up(cluster.ClusterOptions(directory=directory / "k8s"), ec2=ec2)
        print(f"control plane up in {time.perf_counter() - started:.1f} s ({len(running.nodes)} nodes)")
        extra = ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1000, MaxCount=1000, InstanceType="m5.large"
        )
        ips = [n.internal_ip for n in running.nodes] + [i["PrivateIpAddress"] for i in extra["Instances"]]
        topic = boto3.client("sns").create_topic(Name="enriched-bench")["TopicArn"]
        boto3.client("dynamodb").create_table(
            TableName="bench-state",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
        )
        access = {
            "eks_name": "netguard-local",
            "region": REGION,
            "kubeconfig": str(running.kubeconfig("enrich")),
        }
        os.environ.update(
            {
                "ENRICHED_TOPIC_ARN": topic,
                "STATE_TABLE": "bench-state",
                "DEFAULT_CLUSTER": "prod",
                "CLUSTERS": json.dumps({"prod": access}),
            }
        )
        processor = build_processor(Settings.from_env())
        print(
            f"{'alerts':>6} {'run':>5} {'wall ms':>8} {'DescribeInstances':>17} "
            f"{'DescribeInstanceTypes':>21} {'k8s requests':>12} {'SNS publishes':>13} {'errors':>6}"
        )
        for count in (1, 100, 1000):
            for run in ("cold", "warm") if count == 1 else ("warm",):
                started = time.perf_counter()
                report = processor.process(message(ips[:count]))
                wall = (time.perf_counter() - started) * 1000
                kube = sum(v for k, v in report.calls.items() if k.startswith("kubernetes"))
                print(
                    f"{count:>6} {run:>5} {wall:>8.0f} {report.calls.get('ec2 DescribeInstances', 0):>17} "
                    f"{report.calls.get('ec2 DescribeInstanceTypes', 0):>21} {kube:>12} "
                    f"{report.published:>13} {report.enrichment_errors:>6}"
                )
        print(
            "(errors: alerts on instances that are not nodes of the 6-node cluster get a 'kubernetes' entry)"
        )
    finally:
        if running is not None:
            running.stop()
        processes.stop(moto)


def main() -> None:
    import_time()
    with tempfile.TemporaryDirectory(prefix="netguard-bench-enrich-") as directory:
        storms(Path(directory))


if __name__ == "__main__":
    main()
