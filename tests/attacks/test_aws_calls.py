"""Each function's AWS calls, recorded, against what template.yaml grants its role.

Every handler runs against a moto server with a botocore `before-call` hook on every client it
creates (as tests/bench/_invoke.py counts them), through the paths its events take: the sample
events of every input format, duplicates, parts, resolution, remediation reports, and a delivery
that fails downstream (Lambda retries it; its idempotency record is released). A call without a
grant fails (the function would be denied in AWS); for DynamoDB, a granted action no run calls
fails too (the grant is more than the code needs). DynamoDB calls are recorded with their partition
key too and decided by the rendered policies with it as `dynamodb:LeadingKeys`: a call outside the
function's partitions fails, and so does a granted (action, key pattern) pair no call used.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from netguard.clients import aws
from netguard.enriched import event_to_json
from netguard_cli.commands.invoke import LambdaContext, load_handler_module
from netguard_cli.localstack import seed
from tests.attacks import cfn
from tests.bench import _harness
from tests.support.aws import MotoServer
from tests.support.eks_addons import EksAddonEndpoint
from tests.support.k8s import EksWorld
from tests.support.receivers import (
    CHANNEL,
    ROUTING_KEY,
    SLACK_TOKEN,
    PagerDutyReceiver,
    Reply,
    SlackReceiver,
)
from tests.unit.remediate.fakes import event as enriched_event
from tests.unit.remediate.fakes import linklocal_alert

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
REGION = "us-east-1"
_IAM_SERVICE = {"dynamodb": "dynamodb", "sns": "sns", "sqs": "sqs", "s3": "s3", "ec2": "ec2", "eks": "eks",
                "ssm": "ssm", "secretsmanager": "secretsmanager", "kms": "kms"}  # fmt: skip


PARAMETERS = {
    "ClusterName": seed.CLUSTER_NAME,
    "SlackSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbC123",
    "PagerDutySecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pd-AbC123",
}
"""The rendering: every notifier configured; `LegacyStateReads` as the run sets it."""


def _statements(function: str, legacy: str) -> list[dict[str, Any]]:
    rendered = cfn.render({**PARAMETERS, "LegacyStateReads": legacy})
    statements: list[dict[str, Any]] = rendered.identity[cfn.role_arn(function)]
    return statements


def _granted(function: str, legacy: str) -> set[str]:
    """The actions the rendered template grants the function's role."""
    return {
        a for s in _statements(function, legacy) if s["Effect"] == "Allow" for a in cfn.as_list(s["Action"])
    }


def _is_granted(action: str, granted: set[str]) -> bool:
    return any(cfn.matches(pattern, action) for pattern in granted)


@dataclass
class Recorder:
    """Runs a handler in this process, recording every AWS call its clients make."""

    monkeypatch: pytest.MonkeyPatch
    legacy: str = "true"
    """`LegacyStateReads` / `LEGACY_STATE_READS`: both ways, so turning the old scheme's reads off
    leaves no call that its (then absent) grant would have allowed."""
    calls: set[str] = field(default_factory=set)
    keyed: set[tuple[str, str]] = field(default_factory=set)
    """DynamoDB calls with the partition key each addressed: (action, pk)."""
    active: bool = False
    """Only the handler's calls count, not the test's own set-up."""

    def install(self) -> None:
        original = boto3.session.Session.client
        calls, recorder = self.calls, self

        def client(session: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
            made = original(session, *args, **kwargs)

            def before_call(model: Any, **_: Any) -> None:
                if not recorder.active:
                    return
                service = model.service_model.service_name
                calls.add(f"{_IAM_SERVICE[service]}:{model.name}")

            def before_parameters(params: dict[str, Any], model: Any, **_: Any) -> None:
                if recorder.active and model.service_model.service_name == "dynamodb":
                    recorder.keyed.add((f"dynamodb:{model.name}", _partition_key(params)))

            made.meta.events.register("before-call", before_call)
            made.meta.events.register("before-parameter-build", before_parameters)
            return made

        self.monkeypatch.setattr(boto3.session.Session, "client", client)

    def run(self, function: str, env: dict[str, str], *events: dict[str, Any]) -> list[str]:
        """Invoke the handler once per event (a fresh cold start); what each raised, if it did."""
        for name, value in {**env, "LEGACY_STATE_READS": self.legacy}.items():
            self.monkeypatch.setenv(name, value)
        aws.clear()
        module = load_handler_module(function)
        outcomes = []
        self.active = True
        for event in events:
            context = LambdaContext(function_name=f"netguard-{function}", timeout_seconds=60)
            try:
                module.lambda_handler(event, context)
            except Exception as exc:  # noqa: BLE001 -- Lambda would retry; the table records it
                outcomes.append(type(exc).__name__)
            else:
                outcomes.append("ok")
        self.active = False
        aws.clear()
        return outcomes


@pytest.fixture(params=["true", "false"], ids=["legacy-reads", "no-legacy-reads"])
def recorder(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Recorder:
    made = Recorder(monkeypatch, legacy=request.param)
    made.install()
    return made


def _partition_key(params: dict[str, Any]) -> str:
    """The partition key a DynamoDB request addresses: what IAM sees as `dynamodb:LeadingKeys`."""
    if "Key" in params:
        return str(params["Key"]["pk"]["S"])
    if "Item" in params:
        return str(params["Item"]["pk"]["S"])
    # A Query: netguard's condition is always `pk = :pk [AND begins_with(sk, :prefix)]`.
    condition = str(params["KeyConditionExpression"])
    name = condition.split("=", 1)[1].split(maxsplit=1)[0]
    return str(params["ExpressionAttributeValues"][name]["S"])


def _check(function: str, recorder: Recorder) -> None:
    called = recorder.calls
    granted = _granted(function, recorder.legacy)
    assert called, "no AWS call recorded: the hook saw nothing"
    ungranted = sorted(c for c in called if not _is_granted(c, granted))
    dynamodb_unused = sorted(g for g in granted if g.startswith("dynamodb:") and g not in called)
    assert (ungranted, dynamodb_unused) == ([], []), f"{function}: calls {sorted(called)}"
    _check_partitions(function, recorder.keyed, recorder.legacy)


def _check_partitions(function: str, keyed: set[tuple[str, str]], legacy: str) -> None:
    """Every DynamoDB call allowed with its partition key; every granted key pattern used."""
    rendered = cfn.render({**PARAMETERS, "LegacyStateReads": legacy})
    table = cfn.attribute("StateTable", "Arn", rendered.resources)
    role = cfn.role_arn(function)
    denied = []
    for action, pk in sorted(keyed):
        request = cfn.Request(role, action, table, {"dynamodb:LeadingKeys": pk})
        if cfn.decide(rendered, request)[0] != "allowed":
            denied.append((action, pk))
    unused = []
    for statement in _statements(function, legacy):
        keys = (statement.get("Condition") or {}).get("ForAllValues:StringLike", {})
        for action in cfn.as_list(statement["Action"]):
            for pattern in cfn.as_list(keys.get("dynamodb:LeadingKeys", [])):
                if not any(a == action and cfn.matches(pattern, pk) for a, pk in keyed):
                    unused.append((action, pattern))
    assert (denied, unused) == ([], []), (
        f"{function}: denied calls, then unused grants; calls {sorted(keyed)}"
    )


def _file_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def _client(url: str, service: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name=REGION)
    return session.client(service, endpoint_url=url)  # type: ignore[call-overload]


@pytest.fixture
def moto_env(aws_env: MotoServer) -> dict[str, str]:
    """The handler's environment: moto, the state table and the enriched topic."""
    _harness.create_state_table(_client(aws_env.url, "dynamodb"), "netguard-state")
    topic = _client(aws_env.url, "sns").create_topic(Name="enriched")["TopicArn"]
    return {
        "AWS_ENDPOINT_URL": aws_env.url,
        "POWERTOOLS_METRICS_NAMESPACE": "Netguard",
        "STATE_TABLE": "netguard-state",
        "ENRICHED_TOPIC_ARN": topic,
    }


def test_enrich_calls_only_what_it_is_granted(
    recorder: Recorder, moto_env: dict[str, str], aws_env: MotoServer
) -> None:
    _client(aws_env.url, "s3").create_bucket(Bucket="raw-messages")
    env = {
        **moto_env,
        "RAW_BUCKET": "raw-messages",
        "DEFAULT_CLUSTER": "prod",
        # No reachable cluster: the Kubernetes look-ups fail fast and become enrichment errors.
        "CLUSTERS": json.dumps({"prod": {"kubeconfig": str(ROOT / "no-such-kubeconfig")}}),
    }
    events = [e for e in (_file_event(p.name) for p in sorted(EVENTS.glob("sns-*.json"))) if "Records" in e]
    outcomes = recorder.run("enrich", env, *events, events[0])  # the first again: a duplicate
    assert outcomes.count("ok") == len(outcomes)
    # The enriched topic gone: the publish fails, Lambda would retry, the idempotency record is released.
    failing = {**env, "ENRICHED_TOPIC_ARN": env["ENRICHED_TOPIC_ARN"] + "-gone"}
    fresh = json.loads(json.dumps(events[1]).replace(events[1]["Records"][0]["Sns"]["MessageId"], "fresh-id"))
    assert recorder.run("enrich", failing, fresh) != ["ok"]
    _check("EnrichFunction", recorder)


def _fresh_group(event: dict[str, Any]) -> dict[str, Any]:
    """The same enriched event for a group never seen (a first post or trigger, not a duplicate)."""
    sns = event["Records"][0]["Sns"]
    message = json.loads(sns["Message"])
    message["event_id"] = f"fresh-{uuid.uuid4()}"
    message["group_id"] = f"{message['group_id']}-fresh"
    sns["Message"] = json.dumps(message)
    sns["MessageId"] = f"sns-{message['event_id']}"
    return event


NOTIFIER_EVENTS = [
    "enriched-firing.json",
    "enriched-firing.json",
    "enriched-part-1-of-2.json",
    "enriched-part-2-of-2.json",
    "enriched-remediation.json",
    "enriched-resolved.json",
    "enriched-unparseable.json",
]


@pytest.mark.parametrize(
    "notifier",
    [("notify_slack", "NotifySlackFunction", "chat.postMessage"),
     ("notify_pagerduty", "NotifyPagerDutyFunction", "enqueue")],
    ids=["notify_slack", "notify_pagerduty"],
)  # fmt: skip
def test_notifier_calls_only_what_it_is_granted(
    recorder: Recorder, moto_env: dict[str, str], aws_env: MotoServer, notifier: tuple[str, str, str]
) -> None:
    function, logical_id, route = notifier
    secrets = _client(aws_env.url, "secretsmanager")
    bot = secrets.create_secret(Name="slack", SecretString=json.dumps({"token": SLACK_TOKEN}))
    pd = secrets.create_secret(Name="pd", SecretString=json.dumps({"routing_key": ROUTING_KEY}))
    slack, pagerduty = SlackReceiver(), PagerDutyReceiver()
    try:
        env = {
            **moto_env,
            "SLACK_SECRET_ARN": bot["ARN"],
            "SLACK_MODE": "bot",
            "SLACK_CHANNEL": CHANNEL,
            "SLACK_API_URL": slack.api_url,
            "PAGERDUTY_SECRET_ARN": pd["ARN"],
            "PAGERDUTY_EVENTS_URL": pagerduty.url,
        }
        outcomes = recorder.run(function, env, *(_file_event(n) for n in NOTIFIER_EVENTS))
        assert outcomes.count("ok") == len(outcomes)
        # The receiver down for every retry: the delivery fails (Lambda retries it later).
        receiver = slack if function == "notify_slack" else pagerduty
        receiver.script(route, *[Reply.server_error()] * 20)
        assert recorder.run(function, env, _fresh_group(_file_event("enriched-firing.json"))) != ["ok"]
    finally:
        slack.stop()
        pagerduty.stop()
    _check(logical_id, recorder)


def test_remediate_calls_only_what_it_is_granted(
    recorder: Recorder, eks_env: EksWorld, eks_addons: EksAddonEndpoint
) -> None:
    """Decisions on the local cluster (dry run: it stays as seeded), twice for one incident."""
    url = eks_env.moto_url
    suffix = uuid.uuid4().hex[:8]
    topic = _client(url, "sns").create_topic(Name=f"enriched-{suffix}")["TopicArn"]
    queue = _client(url, "sqs").create_queue(QueueName=f"followups-{suffix}")["QueueUrl"]
    table = _harness.create_state_table(_client(url, "dynamodb"), f"state-{suffix}")
    cluster = "prod"
    access = {"eks_name": seed.CLUSTER_NAME, "region": REGION,
              "kubeconfig": str(eks_env.cluster.kubeconfig("remediate"))}  # fmt: skip
    env = {
        "AWS_ENDPOINT_URL_EKS": eks_addons.url,
        "POWERTOOLS_METRICS_NAMESPACE": "Netguard",
        "ENRICHED_TOPIC_ARN": topic,
        "STATE_TABLE": table,
        "FOLLOWUP_QUEUE_URL": queue,
        "KILL_SWITCH_PARAMETER": f"/netguard/{suffix}/kill-switch",
        "CLUSTERS": json.dumps({cluster: access}),
        "COREDNS_MODE": "dry-run",
        "NODELOCAL_MODE": "dry-run",
    }
    nodes = [node.name for node in eks_env.nodes]

    def event() -> dict[str, Any]:
        alerts = [linklocal_alert(node, started=time.time() - 900, rate=80.0) for node in nodes[:2]]
        enriched = enriched_event(*alerts, event_id=str(uuid.uuid4()), cluster=cluster)
        sns = {"MessageId": enriched.event_id, "Message": event_to_json(enriched), "TopicArn": topic}
        return {"Records": [{"EventSource": "aws:sns", "Sns": sns}]}

    outcomes = recorder.run("remediate", env, event(), event())
    assert outcomes.count("ok") == len(outcomes), outcomes
    _check("RemediateFunction", recorder)
