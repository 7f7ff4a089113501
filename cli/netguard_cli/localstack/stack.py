"""The whole netguard loop on one machine: what `netguard demo` and the end-to-end test run.

`LocalStack` starts, in order: a moto server (SNS, SQS, DynamoDB, S3, SSM, Secrets Manager, EC2),
the Kubernetes control plane (seeded like EKS, nodes backed by moto EC2 instances), the fake ENA
exporter, Prometheus with amp/'s rules, Alertmanager with amp/'s definition publishing to SNS,
Slack and PagerDuty receivers, and one bridge worker per function. It records everything that
happens as `StackEvent`s for the narrative and for assertions, and `close()` stops it all.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml

from netguard.clients.kubernetes import Kube
from netguard.config.remediate import SHIPPED_REMEDIATION_LABEL
from netguard_cli.localstack import bridge, cluster, eksaddons, prometheus, seed
from netguard_cli.localstack.alerting import BUILTIN_RULES, local_alertmanager_config
from netguard_cli.localstack.alertmanager import RunningAlertmanager, amp_definition_files, start_alertmanager
from netguard_cli.localstack.dnsload import (
    DnsTraffic,
    LoadModel,
    drops_per_node,
    forwarded_per_pod,
    linklocal_pps,
    observe_traffic,
)
from netguard_cli.localstack.exporter import Dialect, EthtoolExporter, SimulatedNode
from netguard_cli.localstack.models import ClusterNode
from netguard_cli.localstack.owners import ReplicaOwnerLoop
from netguard_cli.localstack.processes import Managed, StartupError, free_port, start, stop
from netguard_cli.localstack.receivers import PagerDutyReceiver, Received, SlackReceiver

logger = logging.getLogger(__name__)

CHECKOUT = Path(__file__).resolve().parents[3]
REGION = "us-east-1"
LINKLOCAL = "linklocal_allowance_exceeded"
COREDNS_SELECTOR = "k8s-app=kube-dns"
_MOTO_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}
"""moto accepts any credentials; these keep boto3 from looking for real ones."""


@dataclass(frozen=True)
class StackSettings:
    """What the local stack runs and how fast; every default is what `netguard demo` uses."""

    workdir: Path
    """Logs, configs, the cluster's PKI and data; one directory per run."""
    checkout: Path = CHECKOUT
    """The repository: amp/, template.yaml, functions/, events/, deploy/."""
    cluster_name: str = "netguard-local"
    node_count: int = 6
    time_scale: float = 1 / 30
    """Multiplies every duration in amp/'s rules (`for: 5m` -> 10 s) and Alertmanager's intervals."""
    dns_load_pps: float = 3000.0
    """Packets per second CoreDNS forwards to the VPC resolver, spread evenly over its Ready pods
    (the default scenario's load; a named scenario brings its own)."""
    linklocal_limit_pps: float = 1024.0
    """What one network interface may send to link-local services; above it, packets drop."""
    pagerduty_scope: str = "critical"
    """`critical` or `all` (template parameter PagerDutyScope): which enriched events page."""
    coredns_max_replicas: int = 6
    coredns_step: int = 2
    persistence_seconds: int = 10
    cooldown_seconds: int = 30
    verify_seconds: int = 15
    with_cluster: bool = True
    exporter: Dialect = Dialect.NODE_EXPORTER
    """Whose metric names the fake exporter serves: node_exporter's ethtool collector, or the Showmax
    exporter's `node_net_ethtool`; amp/rules.yaml normalizes either."""
    die_with_parent: bool = False
    extra_env: Mapping[str, str] = field(default_factory=dict)
    """Added to every function's environment (overrides)."""


@dataclass(frozen=True)
class StackEvent:
    at: float
    """Seconds since the stack started."""
    source: str
    """Who saw it: stack, exporter, prometheus, sns, lambda, enriched, slack, pagerduty, kubernetes."""
    kind: str
    text: str
    data: Mapping[str, Any] = field(default_factory=dict)


Listener = Callable[[StackEvent], None]


@dataclass(frozen=True)
class CorednsState:
    replicas: int
    ready: int
    nodes: tuple[str, ...]
    """Nodes of the Ready CoreDNS pods, one entry per pod (so duplicates show shared interfaces)."""


class LocalStack:
    """Start with `with LocalStack(settings) as stack:`; everything stops on exit, even on errors."""

    def __init__(self, settings: StackSettings, listener: Listener | None = None) -> None:
        self.settings = settings
        self._listener = listener
        self._started = time.monotonic()
        self._exit = contextlib.ExitStack()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self.events: list[StackEvent] = []
        self.skipped: dict[str, str] = {}
        """Component or function -> why it is not running."""
        self.timings: dict[str, float] = {}
        self.env: dict[str, str] = {}
        self.moto_url = ""
        self.topics: dict[str, str] = {}
        self.queues: dict[str, str] = {}
        self.secrets: dict[str, str] = {}
        self.nodes: tuple[SimulatedNode, ...] = ()
        self.kubeconfigs: dict[str, Path] = {}
        self.kube: Kube | None = None
        self.exporter: EthtoolExporter | None = None
        self.prometheus: prometheus.RunningPrometheus | None = None
        self.alertmanager: RunningAlertmanager | None = None
        self.slack: SlackReceiver | None = None
        self.pagerduty: PagerDutyReceiver | None = None
        self.workers: dict[str, Managed] = {}
        self.rule_for: dict[str, str] = {}
        """Alert name -> its scaled `for:` (what the remediation's persistence gate is told)."""
        self.load = DnsLoad(self)
        self.addons: eksaddons.EksAddonEndpoint | None = None
        self.owner: ReplicaOwnerLoop | None = None
        """The emulated owner of CoreDNS's replica count, when a scenario installed one."""
        self._worker_specs: dict[str, Path] = {}
        self._last_purge = -61.0
        self.cluster_nodes: tuple[ClusterNode, ...] = ()
        self.kube_baseline: dict[tuple[str, str], frozenset[str]] = {}
        """kube-system as seeded (names per collection), what a scenario resets to."""
        self._coredns_fallback: tuple[str, ...] = ()
        self._last_alert_states: dict[str, str] = {}
        self._last_coredns: CorednsState | None = None
        self._journal: Path | None = None
        self._journal_offset = 0

    # --- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop everything started, newest first; safe to call twice."""
        self._stop.set()
        self._exit.close()

    def start(self) -> None:
        self.settings.workdir.mkdir(parents=True, exist_ok=True)
        self._phase("moto", self._start_moto)
        self._phase("aws-resources", self._create_aws_resources)
        self._phase("eks-addons", self._start_eks_addons)
        self._phase("cluster", self._start_cluster)
        self._phase("exporter", self._start_exporter)
        self._phase("alertmanager", self._start_alertmanager)
        self._phase("prometheus", self._start_prometheus)
        self._phase("receivers", self._start_receivers)
        self._phase("bridge", self._start_bridge)
        self._phase("watch", self._start_watch)
        self.emit("stack", "ready", f"local stack ready in {self.elapsed():.1f}s")

    def _phase(self, name: str, step: Callable[[], None]) -> None:
        started = time.monotonic()
        step()
        self.timings[name] = round(time.monotonic() - started, 2)

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    # --- events --------------------------------------------------------------------------------

    def emit(self, source: str, kind: str, text: str, data: Mapping[str, Any] | None = None) -> StackEvent:
        lines = text.strip().splitlines() or [""]
        text = lines[0] + (" …" if len(lines) > 1 else "")  # one line per event, whatever a report holds
        event = StackEvent(round(self.elapsed(), 2), source, kind, text, dict(data or {}))
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()
        if self._listener is not None:
            try:
                self._listener(event)
            except Exception:  # a narrative printer must not break the stack
                logger.exception("stack listener failed")
        return event

    def find(self, predicate: Callable[[StackEvent], bool]) -> list[StackEvent]:
        with self._cond:
            return [e for e in self.events if predicate(e)]

    def wait_for(self, predicate: Callable[[], Any], *, deadline: float, interval: float = 0.5) -> Any:
        """Until `predicate()` is truthy (returned) or the monotonic `deadline` passes (None)."""
        while True:
            try:
                value = predicate()
            except Exception as exc:  # noqa: BLE001 -- a failing probe means "not yet"
                logger.debug("probe failed: %s", exc)
                value = None
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stop.is_set():
                return None
            with self._cond:
                self._cond.wait(min(interval, remaining))

    # --- moto and AWS resources ----------------------------------------------------------------

    def _start_moto(self) -> None:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 -- a dev dependency, needed only here

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        self._exit.callback(server.stop)
        self.moto_url = f"http://127.0.0.1:{port}"
        # moto keeps its backends per process, not per server: a second stack in the same process (the
        # e2e modules, one after another) would find the first one's table, topics and queues. Every
        # stack starts from an empty AWS.
        reset = urllib.request.Request(f"{self.moto_url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(reset, timeout=10):  # noqa: S310 -- the loopback server just started
            pass
        self.env = {
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
        self.emit("stack", "started", f"moto server (AWS APIs) on {self.moto_url}")

    def aws(self, service: str) -> Any:
        """A boto3 client for the local moto server (not cached: the stack's own threads use them)."""
        session = boto3.session.Session(**_MOTO_CREDENTIALS, region_name=REGION)  # type: ignore[arg-type]
        return session.client(service, endpoint_url=self.moto_url)  # type: ignore[call-overload]

    def _create_aws_resources(self) -> None:
        sns, sqs = self.aws("sns"), self.aws("sqs")
        for name in ("AlertsTopic", "EnrichedTopic"):
            self.topics[name] = sns.create_topic(Name=name)["TopicArn"]
        self.queues["FollowUpQueue"] = sqs.create_queue(
            QueueName="FollowUpQueue", Attributes={"VisibilityTimeout": "30"}
        )["QueueUrl"]
        self.queues["FailureQueue"] = sqs.create_queue(QueueName="FailureQueue")["QueueUrl"]
        for tap, topic in (("tap-alerts", "AlertsTopic"), ("tap-enriched", "EnrichedTopic")):
            url = sqs.create_queue(QueueName=tap)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            sns.subscribe(TopicArn=self.topics[topic], Protocol="sqs", Endpoint=arn)
            self.queues[tap] = url
        self.aws("dynamodb").create_table(
            TableName="netguard-state",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
        )
        self.aws("s3").create_bucket(Bucket="netguard-raw-messages")
        self.aws("ssm").put_parameter(
            Name="/netguard/local/remediation/kill-switch", Value="off", Type="String"
        )
        secrets = self.aws("secretsmanager")
        # Demo credentials only: the receivers accept anything, and nothing prints them.
        self.secrets["slack"] = secrets.create_secret(
            Name="netguard/slack", SecretString=json.dumps({"token": "xoxb-local-demo-token"})
        )["ARN"]
        self.secrets["pagerduty"] = secrets.create_secret(
            Name="netguard/pagerduty",
            SecretString=json.dumps({"routing_key": "R0LOCALDEMO0000000000000000000"}),
        )["ARN"]
        self.emit(
            "stack", "started", "AWS resources in moto: topics, queues, table, bucket, kill switch, secrets"
        )

    def _start_eks_addons(self) -> None:
        """The EKS add-on API (moto has none): empty, so CoreDNS is self-managed until a scenario
        registers the coredns add-on."""
        self.addons, stop_addons = eksaddons.serve()
        self._exit.callback(stop_addons)
        self._exit.callback(self.set_owner, None)
        self.emit("stack", "started", f"EKS add-on endpoint on {self.addons.url} (no add-on registered)")

    def reset_state(self) -> None:
        """Forget remediation history between scenarios: every item of the state table, every
        pending follow-up check."""
        dynamodb, sqs = self.aws("dynamodb"), self.aws("sqs")
        pages = dynamodb.get_paginator("scan").paginate(
            TableName="netguard-state", ProjectionExpression="pk, sk"
        )
        for page in pages:
            for item in page.get("Items") or []:
                dynamodb.delete_item(TableName="netguard-state", Key={"pk": item["pk"], "sk": item["sk"]})
        # SQS allows one purge per queue every 60 s (moto too); delayed messages cannot be received
        # early, so waiting out the rest of that minute is the only way to drop them.
        time.sleep(max(0.0, self._last_purge + 61.0 - time.monotonic()))
        sqs.purge_queue(QueueUrl=self.queues["FollowUpQueue"])
        self._last_purge = time.monotonic()

    def set_owner(self, loop: ReplicaOwnerLoop | None) -> None:
        """Replace the emulated replica owner (None: the Deployment owns its replicas)."""
        if self.owner is not None:
            self.owner.stop()
        self.owner = loop.start() if loop is not None else None

    def audit_log(self) -> Path:
        return cluster.audit_log(self.settings.workdir / "cluster")

    # --- Kubernetes ----------------------------------------------------------------------------

    def _start_cluster(self) -> None:
        ec2 = self.aws("ec2")
        if self.settings.with_cluster:
            options = cluster.ClusterOptions(
                directory=self.settings.workdir / "cluster",
                node_count=self.settings.node_count,
                die_with_parent=self.settings.die_with_parent,
            )
            try:
                running = cluster.up(options, ec2=ec2)
            except Exception as exc:  # noqa: BLE001 -- the demo goes on without Kubernetes, and says so
                self.skipped["kubernetes"] = f"the control plane did not start: {exc}"[:600]
            else:
                self._exit.callback(running.stop)
                self.kubeconfigs = dict(running.endpoints.kubeconfigs)
                self.kube = running.client("admin")
                self.cluster_nodes = running.nodes
                self.kube_baseline = seed.kube_system_names(self.kube)
                self.nodes = tuple(SimulatedNode(n.name, n.internal_ip) for n in running.nodes)
                state = self.coredns()
                self.emit(
                    "kubernetes",
                    "started",
                    f"Kubernetes control plane on {running.endpoints.server} with {len(self.nodes)} "
                    f"kwok nodes; coredns {state.ready}/{state.replicas} Ready on "
                    f"{', '.join(sorted(set(state.nodes)))}",
                    {"timings": running.timings},
                )
                return
        else:
            self.skipped["kubernetes"] = "disabled (with_cluster=False)"
        # Without a cluster: the same nodes, backed by EC2 instances, so enrichment still finds them.
        plans = seed.plan_nodes(self.settings.node_count)
        created = seed.create_ec2_instances(ec2, plans, self.settings.cluster_name)
        self.nodes = tuple(SimulatedNode(n.name, n.internal_ip) for n in created)
        self._coredns_fallback = tuple(n.name for n in self.nodes[:2])
        self.emit(
            "stack",
            "skipped",
            f"no Kubernetes: {self.skipped['kubernetes']}; "
            f"{len(self.nodes)} EC2 instances only, CoreDNS assumed on {', '.join(self._coredns_fallback)}",
        )

    def coredns(self) -> CorednsState:
        """CoreDNS as the cluster reports it (or as assumed without a cluster)."""
        if self.kube is None:
            return CorednsState(
                len(self._coredns_fallback), len(self._coredns_fallback), self._coredns_fallback
            )
        deployment = self.kube.call(self.kube.apps.read_namespaced_deployment, "coredns", "kube-system")
        pods = self.kube.list_all(
            self.kube.core.list_namespaced_pod, "kube-system", label_selector=COREDNS_SELECTOR
        )
        ready = [
            p
            for p in pods
            if not p["metadata"].get("deletionTimestamp")
            and p.get("spec", {}).get("nodeName")
            and any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in p.get("status", {}).get("conditions", [])
            )
        ]
        return CorednsState(
            replicas=int(deployment.get("spec", {}).get("replicas") or 0),
            ready=len(ready),
            nodes=tuple(sorted(p["spec"]["nodeName"] for p in ready)),
        )

    # --- metrics and alerting ------------------------------------------------------------------

    def _start_exporter(self) -> None:
        self.exporter = EthtoolExporter(self.nodes, dialect=self.settings.exporter).start()
        self._exit.callback(self.exporter.stop)
        self.emit(
            "exporter",
            "started",
            f"fake ENA exporter ({self.exporter.dialect.value} names) on {self.exporter.url} "
            f"({len(self.nodes)} node targets at IP:{self.exporter.dialect.port}, /metrics/<node>)",
        )

    def _start_alertmanager(self) -> None:
        definition = self.settings.checkout / "amp" / "alertmanager.yaml"
        templates: dict[str, str] = {}
        if definition.is_file():
            config, templates = amp_definition_files(definition.read_text())
            source = "amp/alertmanager.yaml"
        else:
            config, source = {}, "a built-in route (amp/alertmanager.yaml not found)"
        template_file = self.settings.checkout / "amp" / "netguard.tmpl"
        if template_file.is_file() and not templates:
            templates = {"netguard.tmpl": template_file.read_text()}
        config = local_alertmanager_config(
            config,
            sns_url=self.moto_url,
            topic_arn=self.topics["AlertsTopic"],
            scale=self.settings.time_scale,
            use_netguard_template=any("netguard.json" in t for t in templates.values()),
        )
        self.alertmanager = start_alertmanager(
            config,
            workdir=self.settings.workdir / "alertmanager",
            templates=templates,
            die_with_parent=self.settings.die_with_parent,
        )
        self._exit.callback(self.alertmanager.stop)
        self.emit(
            "alertmanager",
            "started",
            f"Alertmanager {self.alertmanager.url} from {source}, SNS receiver -> moto AlertsTopic",
        )

    def _start_prometheus(self) -> None:
        if self.exporter is None or self.alertmanager is None:
            raise StartupError("prometheus needs the exporter and Alertmanager first")
        workdir = self.settings.workdir / "prometheus"
        workdir.mkdir(parents=True, exist_ok=True)
        scale = prometheus.RuleScale(factor=self.settings.time_scale)
        rule_paths = []
        rule_sources = prometheus.load_rule_files(self.settings.checkout / "amp")
        if not rule_sources:
            rule_sources = {"builtin-rules.yaml": BUILTIN_RULES}
            self.skipped["amp rules"] = "no rule file in amp/: using a built-in linklocal rule"
        for name, rules in rule_sources.items():
            scaled = prometheus.scale_rules(rules, scale)
            # The shipped remediation rules with their scaled `for:` (the label is the shipped one).
            self.rule_for.update(prometheus.alert_for_durations(scaled, label=SHIPPED_REMEDIATION_LABEL))
            path = workdir / f"scaled-{name}"
            path.write_text(_yaml_dump(scaled))
            rule_paths.append(path)
        checked = prometheus.check_rules(rule_paths)
        # amp/scrape.yaml's jobs and relabelling, on targets files carrying the labels EKS discovery
        # would give the exporter and CoreDNS pods; the exporter answers as their HTTP proxy.
        jobs = prometheus.local_scrape_jobs(
            self.exporter,
            amp_dir=self.settings.checkout / "amp",
            cluster=self.settings.cluster_name,
            targets_dir=workdir / "targets",
        )
        config = prometheus.render_config(
            scrape_configs=jobs,
            alertmanager_url=self.alertmanager.url,
            rule_files=rule_paths,
        )
        self.prometheus = prometheus.start_prometheus(
            config, workdir=workdir, die_with_parent=self.settings.die_with_parent
        )
        self._exit.callback(self.prometheus.stop)
        rules_count = sum(
            len(g.get("rules") or []) for r in rule_sources.values() for g in r.get("groups") or []
        )
        self.emit(
            "prometheus",
            "started",
            f"Prometheus {self.prometheus.url}: {rules_count} rules from "
            f"{', '.join(sorted(rule_sources))} scaled x{self.settings.time_scale:.3g} "
            f"(promtool: {checked.splitlines()[-1] if checked else 'ok'})",
        )

    # --- notifications and functions -----------------------------------------------------------

    def _start_receivers(self) -> None:
        def listener(item: Received) -> None:
            self.emit(item.service, item.kind, item.summary, {"body": item.body})

        self.slack = SlackReceiver(listener)
        self.slack.start()
        self._exit.callback(self.slack.stop)
        self.pagerduty = PagerDutyReceiver(listener)
        self.pagerduty.start()
        self._exit.callback(self.pagerduty.stop)
        self.emit(
            "stack", "started", f"Slack receiver {self.slack.url}, PagerDuty receiver {self.pagerduty.url}"
        )

    def function_available(self, function: str) -> str | None:
        """None when functions/<function>/app.py exists and imports; else why not."""
        app = self.settings.checkout / "functions" / function / "app.py"
        if not app.is_file():
            return f"functions/{function}/app.py does not exist yet"
        if function == "remediate" and self.kube is None:
            return "no Kubernetes control plane to remediate"
        return None

    def function_env(self, function: str) -> dict[str, str]:
        """The environment template.yaml gives `function`, pointed at the local stack."""
        if self.prometheus is None or self.slack is None or self.pagerduty is None:
            raise StartupError("functions need Prometheus and the receivers first")
        identity = "remediate" if function == "remediate" else "enrich"
        kubeconfig = str(self.kubeconfigs[identity]) if identity in self.kubeconfigs else ""
        clusters = {
            self.settings.cluster_name: {
                "eks_name": self.settings.cluster_name,
                "region": REGION,
                **({"kubeconfig": kubeconfig} if kubeconfig else {}),
            }
        }
        env = {
            **self.env,
            "AWS_LAMBDA_FUNCTION_NAME": f"netguard-{function}",
            "POWERTOOLS_SERVICE_NAME": f"netguard-{function.replace('_', '-')}",
            "POWERTOOLS_METRICS_NAMESPACE": "Netguard",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "STATE_TABLE": "netguard-state",
            "ENRICHED_TOPIC_ARN": self.topics["EnrichedTopic"],
            "DEFAULT_CLUSTER": self.settings.cluster_name,
            "CLUSTERS": json.dumps(clusters),
            "CLUSTER_LABEL": "cluster",
            "PROMETHEUS_URL": self.prometheus.url,
        }
        if kubeconfig:
            env["KUBECONFIG"] = kubeconfig
        if function == "enrich":
            env.update(
                RAW_BUCKET="netguard-raw-messages",
                GRAPH_URL_TEMPLATE=f"{self.prometheus.url}/graph?g0.expr=netguard%3Aena_allowance_exceeded"
                "%3Arate2m%7Bnode%3D%22{node}%22%7D",
            )
        elif function == "notify_slack":
            env.update(
                SLACK_SECRET_ARN=self.secrets["slack"],
                SLACK_MODE="bot",
                SLACK_CHANNEL="C0NETGUARD",
                ALERTMANAGER_URL=self.alertmanager.url if self.alertmanager else "",
                SLACK_API_URL=f"{self.slack.url}/api",
                CLUSTER=self.settings.cluster_name,
            )
        elif function == "notify_pagerduty":
            env.update(
                PAGERDUTY_SECRET_ARN=self.secrets["pagerduty"],
                PAGERDUTY_DEDUP="group",
                PAGERDUTY_EVENTS_URL=self.pagerduty.url,
                CLUSTER=self.settings.cluster_name,
            )
        elif function == "remediate":
            env.update(
                FOLLOWUP_QUEUE_URL=self.queues["FollowUpQueue"],
                KILL_SWITCH_PARAMETER="/netguard/local/remediation/kill-switch",
                COREDNS_MODE="enforce",
                NODELOCAL_MODE="dry-run",
                COREDNS_MAX_REPLICAS=str(self.settings.coredns_max_replicas),
                COREDNS_STEP=str(self.settings.coredns_step),
                PERSISTENCE_SECONDS=str(self.settings.persistence_seconds),
                COOLDOWN_SECONDS=str(self.settings.cooldown_seconds),
                VERIFY_SECONDS=str(self.settings.verify_seconds),
                REMEDIATION_RULES=json.dumps(self.rule_for),
                **({"AWS_ENDPOINT_URL_EKS": self.addons.url} if self.addons else {}),
            )
        env.update(self.settings.extra_env)
        return env

    def _start_bridge(self) -> None:
        template = self.settings.checkout / "template.yaml"
        sources = bridge.event_sources(
            template.read_text(), {"PageCriticalOnly": self.settings.pagerduty_scope == "critical"}
        )
        journal = self.settings.workdir / "invocations.jsonl"
        journal.touch()
        plan = bridge.create_bindings(
            sources,
            sns=self.aws("sns"),
            sqs=self.aws("sqs"),
            topic_arns=self.topics,
            queue_urls=self.queues,
            journal=journal,
            region=REGION,
            available=self.function_available,
        )
        self.skipped.update({f"function {k}": v for k, v in plan.skipped.items()})
        self._journal = journal
        for function, spec in plan.workers.items():
            spec_path = self.settings.workdir / "bridge" / f"{function}.json"
            spec_path.parent.mkdir(parents=True, exist_ok=True)
            spec_path.write_text(bridge.spec_to_json(spec))
            self._worker_specs[function] = spec_path
            managed = self._start_worker(function, {})
            sources_text = ", ".join(b.source.split("/", 1)[1] for b in spec.bindings)
            self.emit("lambda", "started", f"{function}: worker pid {managed.pid} ({sources_text})")
        for name, reason in plan.skipped.items():
            self.emit("stack", "skipped", f"{name}: {reason}")

    def _start_worker(self, function: str, overrides: Mapping[str, str]) -> Managed:
        managed = start(
            f"lambda-{function}",
            [sys.executable, "-m", "netguard_cli.localstack.bridge", str(self._worker_specs[function])],
            log_dir=self.settings.workdir / "logs",
            env={**self.function_env(function), **overrides},
            die_with_parent=self.settings.die_with_parent,
        )
        self._exit.callback(stop, managed)  # stopping a stopped worker is a no-op
        self.workers[function] = managed
        return managed

    def restart_worker(self, function: str, overrides: Mapping[str, str]) -> None:
        """Run `function`'s worker again with its environment plus `overrides` (a scenario's modes);
        a no-op when it is not running."""
        if function not in self.workers:
            return
        stop(self.workers[function])
        managed = self._start_worker(function, overrides)
        shown = ", ".join(f"{k}={v}" for k, v in sorted(overrides.items()))
        self.emit(
            "lambda", "started", f"{function}: worker restarted, pid {managed.pid} ({shown or 'defaults'})"
        )

    # --- watching ------------------------------------------------------------------------------

    def _start_watch(self) -> None:
        thread = threading.Thread(target=self._watch, name="stack-watch", daemon=True)
        thread.start()
        self._exit.callback(thread.join, 10)
        self._exit.callback(self._stop.set)

    def _watch(self) -> None:
        sqs = self.aws("sqs")
        last_slow = 0.0
        while not self._stop.is_set():
            fast: tuple[Callable[[], None], ...] = (lambda: self._drain_taps(sqs), self._read_journal)
            for step in fast:
                try:
                    step()
                except Exception as exc:  # noqa: BLE001 -- watching must outlive a hiccup
                    logger.debug("watch step failed: %s", exc)
            if time.monotonic() - last_slow >= 1.0:
                last_slow = time.monotonic()
                for step in (self._watch_prometheus, self._watch_coredns, self.load.update):
                    try:
                        step()
                    except Exception as exc:  # noqa: BLE001
                        logger.debug("watch step failed: %s", exc)
            self._stop.wait(0.3)

    def _drain_taps(self, sqs: Any) -> None:
        for tap in ("tap-alerts", "tap-enriched"):
            response = sqs.receive_message(
                QueueUrl=self.queues[tap], MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            for message in response.get("Messages") or []:
                sqs.delete_message(QueueUrl=self.queues[tap], ReceiptHandle=message["ReceiptHandle"])
                envelope = json.loads(message["Body"])
                if tap == "tap-alerts":
                    self._on_alert_published(envelope)
                else:
                    self._on_enriched(envelope)

    def _on_alert_published(self, envelope: Mapping[str, Any]) -> None:
        subject = str(envelope.get("Subject") or "")
        status = "resolved" if "RESOLVED" in subject.upper() else "firing"
        self.emit(
            "sns",
            f"alert-{status}",
            f"Alertmanager published to AlertsTopic: {subject or '(no subject)'} "
            f"({len(str(envelope.get('Message', '')))} bytes)",
            {"envelope": dict(envelope)},
        )

    def _on_enriched(self, envelope: Mapping[str, Any]) -> None:
        attributes = {k: v.get("Value") for k, v in (envelope.get("MessageAttributes") or {}).items()}
        try:
            event = json.loads(str(envelope.get("Message", "")))
        except ValueError:
            event = {}
        event_type = str(event.get("event_type") or attributes.get("event_type") or "unknown")
        status = str(event.get("status", ""))
        if event_type == "remediation":
            report = event.get("remediation") or {}
            reasons = report.get("reasons") or [""]
            text = (
                f"remediation report: {report.get('action')} -> {report.get('outcome')} "
                f"({report.get('mode')}): {reasons[0]}"
            )
        elif event_type == "alert_group":
            alerts = event.get("alerts") or []
            nodes = sorted({(a.get("node") or {}).get("name", "") for a in alerts} - {""})
            diagnosis = next(
                ((a.get("diagnosis") or {}).get("summary") for a in alerts if a.get("diagnosis")), ""
            )
            text = (
                f"enriched {status} {event.get('alertname', '')}: {len(alerts)} alert(s) on "
                f"{', '.join(nodes) or 'unknown nodes'}; {len(event.get('enrichment_errors') or [])} "
                f"enrichment error(s)" + (f"; diagnosis: {diagnosis}" if diagnosis else "")
            )
        else:
            text = (
                f"enriched event of type {event_type}: {(event.get('unparseable') or {}).get('reason', '')}"
            )
        self.emit(
            "enriched",
            f"{event_type}-{status}" if status else event_type,
            text,
            {"event": event, "attributes": attributes},
        )

    def _read_journal(self) -> None:
        journal = self._journal
        if journal is None:
            return
        with journal.open("rb") as handle:
            handle.seek(self._journal_offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._journal_offset += len(complete)
        for line in complete.decode().splitlines():
            entry = json.loads(line)
            if entry.get("event") == "worker-started":
                continue
            if entry.get("ok"):
                text = (
                    f"{entry['function']} handled {entry['source']} in {entry['ms']} ms"
                    f" -> {entry.get('result', '')}"
                )
            else:
                text = (
                    f"{entry['function']} FAILED on {entry['source']} (attempt {entry.get('attempt')}"
                    f"{', gave up' if entry.get('gave_up') else ', will retry'}): {entry.get('error')}"
                )
            self.emit("lambda", "ok" if entry.get("ok") else "error", text, entry)

    def _watch_prometheus(self) -> None:
        if self.prometheus is None:
            return
        states: dict[str, str] = {}
        for alert in self.prometheus.alerts():
            labels = alert.get("labels", {})
            key = f"{labels.get('alertname')} on {labels.get('node') or labels.get('instance', '?')}"
            states[key] = str(alert.get("state"))
        for key in sorted(set(states) | set(self._last_alert_states)):
            old, new = self._last_alert_states.get(key, "inactive"), states.get(key, "inactive")
            if old != new:
                self.emit("prometheus", f"alert-{new}", f"{key}: {old} -> {new}", {"alert": key})
        self._last_alert_states = states

    def _watch_coredns(self) -> None:
        if self.kube is None:
            return
        state = self.coredns()
        if state != self._last_coredns:
            shared = len(state.nodes) - len(set(state.nodes))
            self.emit(
                "kubernetes",
                "coredns",
                f"coredns replicas={state.replicas} ready={state.ready} on {len(set(state.nodes))} distinct "
                f"node(s)" + (f" ({shared} sharing a node)" if shared else ""),
                {"replicas": state.replicas, "ready": state.ready, "nodes": list(state.nodes)},
            )
            self._last_coredns = state

    # --- state for the scenario and the tests --------------------------------------------------

    def alert_states(self) -> Mapping[str, str]:
        return dict(self._last_alert_states)


class DnsLoad:
    """The scenario's cause: pods send `LoadModel.queries_pps` through cluster DNS to the VPC resolver;
    `dnsload.linklocal_pps` turns the placement the cluster reports right now (CoreDNS pods, Ready
    NodeLocal DNSCache pods, annotated bypass pods) into packets/s per node, and a node above the
    link-local limit drops the excess. Whatever remediation changes in placement changes the drops."""

    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self.enabled = False
        self.model = LoadModel(stack.settings.dns_load_pps, stack.settings.linklocal_limit_pps)
        self._last: dict[str, float] = {}

    def start(self, model: LoadModel | None = None) -> None:
        if model is not None:
            self.model = model
        self.enabled = True
        self.update()

    def stop(self) -> None:
        self.enabled = False
        self.update()

    def traffic(self) -> DnsTraffic:
        if self._stack.kube is None:
            return DnsTraffic(coredns=self._stack.coredns().nodes)
        return observe_traffic(self._stack.kube, [n.name for n in self._stack.nodes])

    def sent(self, traffic: DnsTraffic | None = None) -> dict[str, float]:
        """Packets/s per node to the VPC resolver the model predicts right now (for `traffic`, when
        the caller has just read it)."""
        if not self.enabled:
            return {}
        return linklocal_pps(self.traffic() if traffic is None else traffic, self.model)

    def per_node(self) -> dict[str, float]:
        """Drops per second per node the model predicts right now."""
        return drops_per_node(self.sent(), self.model.limit_pps)

    def update(self) -> None:
        exporter = self._stack.exporter
        if exporter is None:
            return
        traffic = self.traffic()
        sent = self.sent(traffic)
        exporter.set_forwarding(
            forwarded_per_pod(traffic, self.model)
            if self.enabled
            else dict.fromkeys(traffic.coredns_pods, 0.0)
        )
        drops = drops_per_node(sent, self.model.limit_pps)
        if drops == self._last:
            return
        for node in exporter.nodes:
            exporter.set_rate(node, LINKLOCAL, drops.get(node, 0.0))
        if drops:
            text = "linklocal_allowance_exceeded growing on " + ", ".join(
                f"{node} ({rate:.0f}/s of {sent[node]:.0f} pkt/s)" for node, rate in sorted(drops.items())
            )
        else:
            text = "no linklocal drops on any node" + ("" if self.enabled else " (DNS load off)")
        self._stack.emit("exporter", "drops", text, {"drops": drops, "sent": sent})
        self._last = drops


def _yaml_dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
