"""The remediation Lambda end to end: real control plane (as the `remediate` identity) and moto.

Each test calls `functions/remediate/app.py`'s handler with SNS records carrying enriched events
(and SQS records carrying follow-ups), against a DynamoDB table, an SNS topic, SQS queues and an
SSM kill switch in the EKS world's moto server. Every decision is captured from the enriched topic
through an SQS subscription. The EKS API for add-ons is the local endpoint of
tests/support/eks_addons.py (moto has none); it holds no add-on, so CoreDNS is a plain Deployment.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

from netguard.clients import aws
from netguard.clients import eks as eks_clients
from netguard.clients.eks import ClusterAccess
from netguard.config.remediate import Settings
from netguard.enriched import (
    ActionKind,
    EnrichedEvent,
    Outcome,
    RemediationReport,
    event_from_json,
    event_to_json,
)
from netguard_cli.commands.invoke import LambdaContext, load_handler_module
from netguard_cli.localstack import cluster, seed
from netguard_cli.localstack.processes import wait_until
from tests.support.eks_addons import EksAddonEndpoint
from tests.support.k8s import EksWorld
from tests.support.placement import create_coredns_hpa, place_all_on, placement
from tests.unit.remediate.fakes import event, linklocal_alert

pytestmark = [pytest.mark.integration, pytest.mark.k8s]

KS = "kube-system"
DEPLOYMENT = f"/apis/apps/v1/namespaces/{KS}/deployments/coredns"
SCALE = f"{DEPLOYMENT}/scale"
CLUSTER = "prod"


@dataclass
class Rig:
    world: EksWorld
    monkeypatch: pytest.MonkeyPatch
    app: ModuleType
    table: str
    topic_arn: str
    capture_url: str
    followup_url: str
    parameter: str
    seen: list[RemediationReport] = field(default_factory=list)

    @property
    def admin(self) -> Any:
        return self.world.cluster.admin

    def configure(self, **env: str) -> None:
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        self.app.reset()

    def replicas(self) -> int:
        return int(self.admin.get(SCALE)["spec"]["replicas"])

    def coredns_nodes(self) -> set[str]:
        return {p["spec"]["nodeName"] for p in cluster.ready_pods(self.admin, KS, "k8s-app=kube-dns")}

    def alert_event(
        self,
        *nodes: str,
        event_id: str | None = None,
        status: str = "firing",
        rate: float | None = 500.0,
        started: float | None = None,
    ) -> EnrichedEvent:
        start = time.time() - 900 if started is None else started
        alerts = [linklocal_alert(n, status=status, started=start, rate=rate) for n in nodes]
        return event(*alerts, event_id=event_id or str(uuid.uuid4()), status=status, cluster=CLUSTER)

    def deliver(self, enriched: EnrichedEvent) -> Any:
        record = {
            "EventSource": "aws:sns",
            "Sns": {
                "MessageId": enriched.event_id,
                "Message": event_to_json(enriched),
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:enriched",
            },
        }
        return self.app.lambda_handler(
            {"Records": [record]}, LambdaContext(function_name="netguard-remediate")
        )

    def receive_follow_ups(self, *, wait: int = 0) -> list[dict[str, Any]]:
        sqs = aws.client("sqs")
        response = sqs.receive_message(
            QueueUrl=self.followup_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=self.followup_url, ReceiptHandle=message["ReceiptHandle"])
        return messages

    def deliver_follow_ups(self, messages: list[dict[str, Any]]) -> Any:
        records = [
            {"eventSource": "aws:sqs", "messageId": m["MessageId"], "body": m["Body"]} for m in messages
        ]
        return self.app.lambda_handler(
            {"Records": records}, LambdaContext(function_name="netguard-remediate")
        )

    def delayed(self) -> int:
        attributes = aws.client("sqs").get_queue_attributes(
            QueueUrl=self.followup_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"])

    def reports(self) -> list[RemediationReport]:
        """Every remediation event published so far (drains the capture queue into `seen`)."""
        sqs = aws.client("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=self.capture_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return list(self.seen)
            for message in messages:
                published = event_from_json(message["Body"])
                assert published.remediation is not None
                self.seen.append(published.remediation)
                sqs.delete_message(QueueUrl=self.capture_url, ReceiptHandle=message["ReceiptHandle"])

    def nodes_without_coredns(self) -> list[str]:
        return sorted({n.name for n in self.world.nodes} - self.coredns_nodes())


@pytest.fixture
def rig(eks_env: EksWorld, eks_addons: EksAddonEndpoint, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    suffix = uuid.uuid4().hex[:8]
    ddb, sns, sqs = (aws.client(s) for s in ("dynamodb", "sns", "sqs"))
    table = f"netguard-state-{suffix}"
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    topic_arn = sns.create_topic(Name=f"enriched-{suffix}")["TopicArn"]
    capture_url = sqs.create_queue(QueueName=f"capture-{suffix}")["QueueUrl"]
    capture_arn = sqs.get_queue_attributes(QueueUrl=capture_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=capture_arn, Attributes={"RawMessageDelivery": "true"}
    )
    followup_url = sqs.create_queue(QueueName=f"followups-{suffix}")["QueueUrl"]
    parameter = f"/netguard/{suffix}/kill-switch"
    monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", eks_addons.url)  # DescribeAddon: not an add-on here
    for name, value in {
        "ENRICHED_TOPIC_ARN": topic_arn,
        "STATE_TABLE": table,
        "FOLLOWUP_QUEUE_URL": followup_url,
        "KILL_SWITCH_PARAMETER": parameter,
        "CLUSTERS": json.dumps(
            {
                CLUSTER: {
                    "eks_name": seed.CLUSTER_NAME,
                    "region": eks_env.region,
                    "kubeconfig": str(eks_env.cluster.kubeconfig("remediate")),
                }
            }
        ),
        "COREDNS_MODE": "enforce",
        "NODELOCAL_MODE": "dry-run",
        "LOCK_WAIT_SECONDS": "60",
        "POWERTOOLS_METRICS_NAMESPACE": "Netguard",
    }.items():
        monkeypatch.setenv(name, value)
    aws.clear()
    app = load_handler_module("remediate")
    app.reset()
    yield Rig(eks_env, monkeypatch, app, table, topic_arn, capture_url, followup_url, parameter)
    app.reset()
    eks_env.cluster.reset_dns()


def wait_for_ready_spread(rig: Rig, replicas: int, before: set[str]) -> set[str]:
    wait_until(
        lambda: len(cluster.ready_pods(rig.admin, KS, "k8s-app=kube-dns")) == replicas,
        what=f"{replicas} Ready CoreDNS pods",
        timeout=60,
    )
    return rig.coredns_nodes() - before


class TestPlainDeployment:
    def test_persistent_drops_raise_coredns_onto_new_nodes(self, rig: Rig) -> None:
        """Drops on the CoreDNS nodes: replicas 2 -> 4, the new pods Ready on nodes that had none."""
        rig.world.cluster.place_coredns(rig.world.nodes[0].name, rig.world.nodes[1].name)
        before = rig.coredns_nodes()
        assert rig.replicas() == 2
        assert len(before) == 2, f"baseline CoreDNS should run on 2 nodes, got {sorted(before)}"
        started = time.monotonic()
        rig.deliver(rig.alert_event(*sorted(before)))
        kube = eks_clients.kube_client(
            ClusterAccess(seed.CLUSTER_NAME, rig.world.region, str(rig.world.cluster.kubeconfig("remediate")))
        )
        print(  # a measurement, not an assertion
            f"\n[measure] one decision, observe to published report (scale 2->4):"
            f" {(time.monotonic() - started) * 1000:.0f} ms, {sum(kube.calls.values())} Kubernetes requests"
        )
        assert rig.replicas() == 4
        new_nodes = wait_for_ready_spread(rig, 4, before)
        assert new_nodes, (
            f"new replicas should land on nodes without CoreDNS; before {before}, now {rig.coredns_nodes()}"
        )
        (report,) = rig.reports()
        assert (report.action, report.outcome, report.mode) == (
            ActionKind.SCALE_COREDNS,
            Outcome.APPLIED,
            "enforce",
        )
        assert (report.before["replicas"], report.after["replicas"]) == (2, 4)
        assert "raise CoreDNS from 2 to 4" in report.reasons[1]
        audit = aws.client("dynamodb").query(
            TableName=rig.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :a)",
            ExpressionAttributeValues={":pk": {"S": f"remediate#cluster#{CLUSTER}"}, ":a": {"S": "audit#"}},
        )
        assert [json.loads(i["data"]["S"])["decision_id"] for i in audit["Items"]] == [report.decision_id]

    def test_repeated_alerts_inside_cooldown_change_nothing(self, rig: Rig) -> None:
        nodes = sorted(rig.coredns_nodes())
        rig.deliver(rig.alert_event(*nodes))
        rig.deliver(rig.alert_event(*nodes))
        rig.deliver(rig.alert_event(*nodes))
        assert rig.replicas() == 4
        outcomes = [(r.action, r.outcome) for r in rig.reports()]
        # The repeats carry the alert's old drop rate, so what they would do differs; none acts.
        assert outcomes[0] == (ActionKind.SCALE_COREDNS, Outcome.APPLIED)
        assert [outcome for _, outcome in outcomes[1:]] == [Outcome.SKIPPED] * 2
        assert all("cooldown" in r.reasons[0] for r in rig.seen[1:])

    def test_maximum_holds(self, rig: Rig) -> None:
        """With a maximum of 3, the second alert does not scale; NodeLocal DNSCache is only a dry run."""
        rig.configure(COREDNS_MAX_REPLICAS="3", COOLDOWN_SECONDS="0")
        nodes = sorted(rig.coredns_nodes())
        for _ in range(3):
            rig.deliver(rig.alert_event(*nodes, rate=40.0))  # 3 replicas absorb it: ~709 pkt/s each
        assert rig.replicas() == 3
        reports = rig.reports()
        assert [r.outcome for r in reports] == [Outcome.APPLIED, Outcome.DRY_RUN, Outcome.DRY_RUN]
        assert reports[1].action is ActionKind.ENABLE_NODELOCAL
        assert "maximum of 3" in reports[1].reasons[1]
        daemonsets = rig.admin.list(f"/apis/apps/v1/namespaces/{KS}/daemonsets")
        assert "node-local-dns" not in {d["metadata"]["name"] for d in daemonsets}

    def test_drops_on_nodes_without_coredns_change_nothing(self, rig: Rig) -> None:
        node = rig.nodes_without_coredns()[0]
        rig.deliver(rig.alert_event(node))
        assert rig.replicas() == 2
        (report,) = rig.reports()
        assert report.action is ActionKind.NONE
        assert report.reasons[0].startswith("no DNS scaling")


class TestReplicaOwners:
    """Through the handler, the raise goes to whoever owns the replica count (the actuators' choice)."""

    def test_hpa_min_replicas_raised(self, rig: Rig) -> None:
        create_coredns_hpa(rig.admin)
        rig.deliver(rig.alert_event(*sorted(rig.coredns_nodes())))
        hpa = rig.admin.get(f"/apis/autoscaling/v2/namespaces/{KS}/horizontalpodautoscalers/coredns")
        assert hpa["spec"]["minReplicas"] == 4
        (report,) = rig.reports()
        assert (report.outcome, report.before["owner"]) == (Outcome.APPLIED, "hpa")

    def test_eks_addon_values_updated_and_reverted(
        self, rig: Rig, eks_addons: EksAddonEndpoint, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """replicaCount 2 -> 4 via UpdateAddon, other values kept; `revert` puts 2 back."""
        others = {"tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}]}
        eks_addons.add(seed.CLUSTER_NAME, values={"replicaCount": 2, **others})
        eks_addons.on_update = lambda _addon, values: rig.admin.patch(
            SCALE, {"spec": {"replicas": values["replicaCount"]}}, field_manager="eks"
        )
        rig.deliver(rig.alert_event(*sorted(rig.coredns_nodes())))
        assert eks_addons.values(seed.CLUSTER_NAME) == {"replicaCount": 4, **others}
        assert rig.replicas() == 4
        TestOperatorCommands().run(capsys, "revert", "--cluster", CLUSTER)
        assert eks_addons.values(seed.CLUSTER_NAME) == {"replicaCount": 2, **others}
        assert [r.action for r in rig.reports()] == [ActionKind.SCALE_COREDNS, ActionKind.REVERT_COREDNS]


class TestConcurrency:
    @pytest.mark.parametrize("same_event", [True, False], ids=["duplicates", "distinct-events"])
    def test_twenty_concurrent_deliveries_make_one_change(self, rig: Rig, same_event: bool) -> None:
        nodes = sorted(rig.coredns_nodes())
        generation = rig.admin.get(DEPLOYMENT)["metadata"]["generation"]
        # Distinct deliveries of one alert (repeat notifications, redeliveries) carry its one startsAt.
        start = time.time() - 900
        shared = rig.alert_event(*nodes, started=start)
        events = [shared if same_event else rig.alert_event(*nodes, started=start) for _ in range(20)]
        started = time.monotonic()
        with ThreadPoolExecutor(20) as pool:
            list(pool.map(rig.deliver, events))
        print(
            f"\n[measure] 20 concurrent deliveries ({'same' if same_event else 'distinct'} event):"
            f" {time.monotonic() - started:.2f} s"
        )
        assert rig.replicas() == 4
        reports = rig.reports()
        assert sum(r.outcome is Outcome.APPLIED for r in reports) == 1
        assert len(reports) == (1 if same_event else 20)
        assert rig.admin.get(DEPLOYMENT)["metadata"]["generation"] == generation + 1  # one write to the spec


class TestSwitches:
    def test_kill_switch_changes_nothing(self, rig: Rig) -> None:
        aws.client("ssm").put_parameter(Name=rig.parameter, Value="on", Type="String")
        rig.deliver(rig.alert_event(*sorted(rig.coredns_nodes())))
        assert rig.replicas() == 2
        (report,) = rig.reports()
        assert report.outcome is Outcome.SKIPPED
        assert "pauses remediation for all clusters" in report.reasons[0]
        aws.client("ssm").put_parameter(Name=rig.parameter, Value="off", Type="String", Overwrite=True)
        rig.deliver(rig.alert_event(*sorted(rig.coredns_nodes())))  # no redeploy, no cold start
        assert rig.replicas() == 4

    def test_mode_off_changes_nothing(self, rig: Rig) -> None:
        rig.configure(COREDNS_MODE="off")
        rig.deliver(rig.alert_event(*sorted(rig.coredns_nodes())))
        assert rig.replicas() == 2
        (report,) = rig.reports()
        assert (report.outcome, report.mode) == (Outcome.SKIPPED, "off")

    def test_dry_run_changes_nothing_and_says_what_would_have_been(self, rig: Rig) -> None:
        rig.configure(COREDNS_MODE="dry-run")
        rig.deliver(rig.alert_event(*sorted(rig.coredns_nodes())))
        assert rig.replicas() == 2
        (report,) = rig.reports()
        assert (report.outcome, report.mode) == (Outcome.DRY_RUN, "dry-run")
        assert "would scale Deployment kube-system/coredns from 2 to 4" in report.reasons[0]
        assert report.after["replicas"] == 4


class TestFollowUp:
    def test_follow_up_is_delayed_then_escalates(self, rig: Rig) -> None:
        """After a raise, a delayed SQS message comes back; drops not reduced -> NodeLocal (dry run)."""
        rig.configure(VERIFY_SECONDS="3", COOLDOWN_SECONDS="3")
        rig.deliver(rig.alert_event(*sorted(rig.coredns_nodes())))
        assert rig.receive_follow_ups() == []  # not visible yet: it is delayed
        assert rig.delayed() == 1
        messages = rig.receive_follow_ups(wait=6)
        assert len(messages) == 1
        assert rig.deliver_follow_ups(messages) == {"batchItemFailures": []}
        first, second = rig.reports()
        assert first.action is ActionKind.SCALE_COREDNS
        assert (second.action, second.outcome) == (ActionKind.ENABLE_NODELOCAL, Outcome.DRY_RUN)
        assert "did not reduce the drops" in second.reasons[1]
        assert second.group_id == first.group_id

    def test_follow_up_closes_when_resolved(self, rig: Rig) -> None:
        rig.configure(VERIFY_SECONDS="2")
        nodes = sorted(rig.coredns_nodes())
        rig.deliver(rig.alert_event(*nodes))
        rig.deliver(rig.alert_event(*nodes, status="resolved"))
        messages = rig.receive_follow_ups(wait=5)
        rig.deliver_follow_ups(messages)
        reports = rig.reports()
        assert [r.outcome for r in reports] == [Outcome.APPLIED, Outcome.SKIPPED, Outcome.SKIPPED]
        assert reports[-1].follow_up == "verified: drops stopped; closed"
        assert rig.receive_follow_ups(wait=0) == []
        assert rig.delayed() == 0
        assert rig.replicas() == 4  # revert of the CoreDNS floor is off by default

    def test_follow_up_holds_during_cooldown_then_scales_again(self, rig: Rig) -> None:
        """Drops persist (rates unknown) but the cooldown runs: hold until it ends, then one more step."""
        rig.configure(VERIFY_SECONDS="2", COOLDOWN_SECONDS="5")
        rig.deliver(rig.alert_event(*sorted(rig.coredns_nodes()), rate=None))
        rig.deliver_follow_ups(rig.receive_follow_ups(wait=5))
        hold = rig.reports()[-1]
        assert hold.outcome is Outcome.SKIPPED
        assert hold.follow_up.startswith("hold: next check in")
        assert "cooldown" in hold.reasons[0]
        assert rig.replicas() == 4
        rig.deliver_follow_ups(rig.receive_follow_ups(wait=8))
        again = rig.reports()[-1]
        assert (again.action, again.outcome) == (ActionKind.SCALE_COREDNS, Outcome.APPLIED)
        assert rig.replicas() == 6

    def test_ipvs_refuses_nodelocal_with_reason(self, rig: Rig) -> None:
        rig.configure(VERIFY_SECONDS="2", COREDNS_MAX_REPLICAS="4")
        seed.set_kube_proxy_mode(rig.admin, "ipvs")
        rig.deliver(rig.alert_event(*sorted(rig.coredns_nodes())))
        rig.deliver_follow_ups(rig.receive_follow_ups(wait=5))
        final = rig.reports()[-1]
        assert (final.action, final.outcome) == (ActionKind.ESCALATE, Outcome.REFUSED)
        assert "kube-proxy runs in ipvs" in final.reasons[0]
        assert final.follow_up == "escalated to on-call; no further automatic steps"
        assert rig.replicas() == 4
        assert rig.receive_follow_ups(wait=0) == []
        assert rig.delayed() == 0


class TestOperatorCommands:
    def run(self, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
        from netguard_cli.main import main

        capsys.readouterr()  # drop what the handler printed (EMF metrics)
        assert main(["remediation", *argv]) == 0
        out = capsys.readouterr().out
        return [json.loads(chunk) for chunk in _json_chunks(out)]

    def test_pause_resume_revert_status(self, rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
        """The CLI uses the Lambda's path: pause stops it without redeploy, revert undoes, all audited."""
        nodes = sorted(rig.coredns_nodes())
        (paused,) = self.run(capsys, "pause", "--cluster", CLUSTER)
        assert paused["kill_switch"] == {"all": False, "clusters": [CLUSTER]}
        rig.deliver(rig.alert_event(*nodes))
        assert rig.replicas() == 2
        self.run(capsys, "resume", "--cluster", CLUSTER)
        rig.deliver(rig.alert_event(*nodes))
        assert rig.replicas() == 4
        (dry,) = self.run(capsys, "revert", "--cluster", CLUSTER, "--dry-run")
        assert (dry["outcome"], rig.replicas()) == ("dry_run", 4)
        (reverted,) = self.run(capsys, "revert", "--cluster", CLUSTER)
        assert (reverted["action"], reverted["outcome"]) == ("revert_coredns", "applied")
        assert rig.replicas() == 2
        (status,) = self.run(capsys, "status", "--cluster", CLUSTER)
        assert status["kill_switch"]["engaged"] is False
        assert status["history"]["original_coredns"] is None
        assert status["cluster_dns"]["coredns_replicas"] == 2
        sources = [r["action"] for r in status["recent_decisions"]]
        assert sources[:2] == ["revert_coredns", "revert_coredns"]
        published = [(r.action, r.outcome) for r in rig.reports()]
        assert (ActionKind.REVERT_COREDNS, Outcome.APPLIED) in published
        assert published[0] == (ActionKind.NONE, Outcome.APPLIED)  # the pause itself is reported

    def test_disable_nodelocal_removes_only_what_netguard_applied(
        self, rig: Rig, capsys: pytest.CaptureFixture[str]
    ) -> None:
        rig.configure(NODELOCAL_MODE="enforce", COREDNS_MAX_REPLICAS="2")
        rig.deliver(rig.alert_event(*sorted(rig.coredns_nodes())))
        daemonset = f"/apis/apps/v1/namespaces/{KS}/daemonsets/node-local-dns"
        assert rig.admin.get(daemonset)["metadata"]["name"] == "node-local-dns"
        (removed,) = self.run(capsys, "disable-nodelocal", "--cluster", CLUSTER)
        assert (removed["action"], removed["outcome"]) == ("disable_nodelocal_dnscache", "applied")
        names = {d["metadata"]["name"] for d in rig.admin.list(f"/apis/apps/v1/namespaces/{KS}/daemonsets")}
        assert "node-local-dns" not in names


def _json_chunks(text: str) -> list[str]:
    """Split concatenated pretty-printed JSON documents."""
    decoder = json.JSONDecoder()
    chunks, index = [], 0
    text = text.strip()
    while index < len(text):
        _, end = decoder.raw_decode(text, index)
        chunks.append(text[index:end])
        index = end
        while index < len(text) and text[index].isspace():
            index += 1
    return chunks


class TestColocated:
    """Issue 9: both replicas on the hot node (placed there on purpose), the case EKS's preferred
    anti-affinity leaves common."""

    def test_scale_and_spread_relieve_the_hot_node(self, rig: Rig) -> None:
        """3000 pkt/s on a node with 2 of 2 replicas: raise to 4 and spread, one replica per node;
        the reasons carry the arithmetic and the calls per decision are counted."""
        hot = rig.world.nodes[0].name
        place_all_on(rig.world.cluster, hot, 2)
        kube = eks_clients.kube_client(Settings.from_env().cluster(CLUSTER).access)  # the handler's, cached
        before = dict(kube.calls)
        rig.deliver(rig.alert_event(hot, rate=1976.0))
        calls = {k: v - before.get(k, 0) for k, v in kube.calls.items() if v != before.get(k, 0)}
        (report,) = rig.reports()
        assert (report.action, report.outcome) == (ActionKind.SPREAD_COREDNS, Outcome.APPLIED)
        assert f"node {hot}: 2 of 2 replicas, ~3000 pkt/s → after: 1 of 4, ~750 pkt/s" in report.reasons
        template = rig.admin.get(DEPLOYMENT)["spec"]["template"]["spec"]
        assert template["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
        wait_until(
            lambda: (
                sum(placement(rig.admin).values()) == 4
                and max(placement(rig.admin).values()) == 1
                and cluster.deployment_settled(rig.admin, KS, "coredns", 4)
            ),
            what="4 CoreDNS replicas Ready, one per node",
            timeout=90,
        )
        assert placement(rig.admin).get(hot, 0) <= 1  # the rollout may move both off it
        print(f"\nKubernetes API calls for the scale+spread decision: {sum(calls.values())} {calls}")
        assert sum(calls.values()) <= 20


class TestTrust:
    """Remediation acts for the operator's rules only, by the alerts' own times (issue: an unrelated
    alert moved CoreDNS; a firing delivered after its resolve acted again)."""

    def test_unrelated_alert_with_drops_on_the_coredns_node_changes_nothing(self, rig: Rig) -> None:
        """`HighErrorRate` whose route label names the counter, `for: 1s`, started 30 minutes ago."""
        node = sorted(rig.coredns_nodes())[0]
        unrelated = linklocal_alert(
            node,
            alertname="HighErrorRate",
            started=time.time() - 1800,
            labels={"route": "linklocal_allowance_exceeded", "netguard_remediate": None},
            annotations={"for": "1s"},
        )
        rig.deliver(event(unrelated, event_id=str(uuid.uuid4()), cluster=CLUSTER, alertname="HighErrorRate"))
        assert rig.replicas() == 2
        assert rig.reports() == []

    def test_firing_again_after_resolve_changes_nothing(self, rig: Rig) -> None:
        """firing -> resolved -> the same firing (same startsAt) again: one change, nothing published
        for the late delivery."""
        rig.configure(COOLDOWN_SECONDS="0")
        nodes = sorted(rig.coredns_nodes())
        start = time.time() - 900

        def delivery(status: str) -> EnrichedEvent:
            alerts = [
                linklocal_alert(
                    n, status=status, started=start, ended=time.time() if status == "resolved" else None
                )
                for n in nodes
            ]
            return event(*alerts, event_id=str(uuid.uuid4()), status=status, cluster=CLUSTER)

        rig.deliver(delivery("firing"))
        assert rig.replicas() == 4
        rig.deliver(delivery("resolved"))
        published = len(rig.reports())
        rig.deliver(delivery("firing"))
        assert rig.replicas() == 4
        assert len(rig.reports()) == published

    def test_kill_switch_value_that_means_something_else_pauses(self, rig: Rig) -> None:
        """`{"clusters": "prod"}` (a string, not a list) once paused clusters p, r, o, d: now all."""
        aws.client("ssm").put_parameter(
            Name=rig.parameter, Value='{"clusters": "prod"}', Type="String", Overwrite=True
        )
        rig.deliver(rig.alert_event(*sorted(rig.coredns_nodes())))
        assert rig.replicas() == 2
        (report,) = rig.reports()
        assert report.outcome is Outcome.SKIPPED
        assert '"clusters" must be a list' in report.reasons[0]

    def test_revert_leaves_a_floor_someone_changed(
        self, rig: Rig, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """netguard raised the HPA's minReplicas 2 -> 4; a person set 6 since: revert leaves 6."""
        create_coredns_hpa(rig.admin)
        rig.deliver(rig.alert_event(*sorted(rig.coredns_nodes())))
        hpa = f"/apis/autoscaling/v2/namespaces/{KS}/horizontalpodautoscalers/coredns"
        assert rig.admin.get(hpa)["spec"]["minReplicas"] == 4
        rig.admin.patch(hpa, {"spec": {"minReplicas": 6}}, field_manager="a-person")
        (reverted,) = TestOperatorCommands().run(capsys, "revert", "--cluster", CLUSTER)
        assert reverted["outcome"] == "skipped"
        assert "changed since by someone else" in reverted["reasons"][0]
        assert rig.admin.get(hpa)["spec"]["minReplicas"] == 6
