"""amp/scrape.yaml: what the AMP managed collector accepts, `promtool check config` on everything but
the discovery, and the local Prometheus' rendition (same jobs and relabelling, file-based targets
carrying what EKS pod discovery would).

Debian's Prometheus 2.42 is built without Kubernetes discovery, so promtool rejects
`kubernetes_sd_configs` as an unknown field; the check swaps only the discovery for files (exactly what
the local stack runs) and the discovery block is checked here for what the collector supports.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from netguard_cli.localstack.exporter import Dialect, EthtoolExporter, SimulatedNode
from netguard_cli.localstack.prometheus import (
    COREDNS_JOB,
    EXPORTER_JOB,
    check_config,
    discovered_targets,
    file_sd_jobs,
    load_scrape_config,
    local_scrape_jobs,
    parse_duration,
    render_config,
)

AMP = Path(__file__).resolve().parents[2] / "amp"
NODES = (
    SimulatedNode("ip-10-0-1-5.ec2.internal", "10.0.1.5"),
    SimulatedNode("ip-10-0-2-6.ec2.internal", "10.0.2.6"),
)


@pytest.fixture(scope="module")
def scrape() -> dict[str, Any]:
    return load_scrape_config(AMP, cluster="prod")


def jobs_by_name(scrape: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in scrape["scrape_configs"]}


class TestManagedCollector:
    def test_only_kubernetes_pod_discovery(self, scrape: dict[str, Any]) -> None:
        """The managed collector supports only kubernetes_sd_configs; every job discovers pods."""
        for job in scrape["scrape_configs"]:
            assert set(job) <= {
                "job_name",
                "kubernetes_sd_configs",
                "relabel_configs",
                "metric_relabel_configs",
            }
            assert [sd["role"] for sd in job["kubernetes_sd_configs"]] == ["pod"], job["job_name"]

    def test_interval_at_least_30s(self, scrape: dict[str, Any]) -> None:
        """The collector's minimum interval; the rules' 2m windows hold four samples at it."""
        assert parse_duration(scrape["global"]["scrape_interval"]) >= 30
        assert parse_duration(scrape["global"]["scrape_timeout"]) <= parse_duration(
            scrape["global"]["scrape_interval"]
        )

    def test_one_substitution(self) -> None:
        """template.yaml's Fn::Sub fills ${ClusterName}; no other ${...} (relabelling uses $1 only)."""
        text = (AMP / "scrape.yaml").read_text()
        assert set(re.findall(r"\$\{[^}]*\}", text)) == {"${ClusterName}"}

    def test_jobs_netguard_reads(self, scrape: dict[str, Any]) -> None:
        """The exporters (both dialects' pods and ports), CoreDNS and kube-state-metrics."""
        jobs = jobs_by_name(scrape)
        assert set(jobs) == {EXPORTER_JOB, COREDNS_JOB, "kube-state-metrics"}
        for name in (EXPORTER_JOB, COREDNS_JOB):
            targets = {r.get("target_label") for r in jobs[name]["relabel_configs"]}
            assert {"node", "cluster", "pod", "namespace"} <= targets, name
        # kube-state-metrics' own node/namespace/pod labels must not become exported_*.
        targets = {r.get("target_label") for r in jobs["kube-state-metrics"]["relabel_configs"]}
        assert targets - {None} == {"cluster"}


class TestLocalRendition:
    def test_promtool_accepts_it(self, scrape: dict[str, Any], tmp_path: Path) -> None:
        """The whole configuration, discovery swapped for files, passes `promtool check config`."""
        jobs = file_sd_jobs(scrape, targets_dir=tmp_path, proxy_url="http://127.0.0.1:9")
        for job in jobs:
            (tmp_path / f"{job['job_name']}.json").write_text("[]")
        config = render_config(scrape_configs=jobs, alertmanager_url="http://127.0.0.1:9", rule_files=[])
        path = tmp_path / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        assert "SUCCESS" in check_config(path)

    def test_same_relabelling_other_discovery(self, scrape: dict[str, Any], tmp_path: Path) -> None:
        """Only the discovery changes (and the proxy the simulated addresses need)."""
        for amp_job, local in zip(
            scrape["scrape_configs"],
            file_sd_jobs(scrape, targets_dir=tmp_path, proxy_url="http://127.0.0.1:9"),
            strict=True,
        ):
            assert {k: v for k, v in local.items() if k not in {"file_sd_configs", "proxy_url"}} == {
                k: v for k, v in amp_job.items() if k != "kubernetes_sd_configs"
            }
            assert "kubernetes_sd_configs" not in local

    @pytest.mark.parametrize("dialect", list(Dialect))
    def test_targets_carry_pod_discovery_labels(self, dialect: Dialect) -> None:
        """One exporter pod per node at the node's address and the dialect's port, in the labels
        the relabelling reads; one target per CoreDNS pod."""
        exporter = EthtoolExporter(NODES, dialect=dialect)
        exporter.set_forwarding({"coredns-a": 1.0})
        found = discovered_targets(exporter)
        exporters = found[EXPORTER_JOB]
        assert [g["targets"] for g in exporters] == [[n.instance(dialect)] for n in NODES]
        for group, node in zip(exporters, NODES, strict=True):
            labels = group["labels"]
            assert labels["__meta_kubernetes_pod_node_name"] == node.name
            assert labels["__meta_kubernetes_pod_container_port_number"] == str(dialect.port)
            assert labels["__meta_kubernetes_pod_phase"] == "Running"
        (coredns,) = found[COREDNS_JOB]
        assert coredns["labels"]["__meta_kubernetes_pod_name"] == "coredns-a"
        assert coredns["labels"]["__meta_kubernetes_pod_label_k8s_app"] == "kube-dns"

    def test_targets_files_follow_coredns_pods(self, tmp_path: Path) -> None:
        """The targets files exist for every job (kube-state-metrics' empty) and follow pod changes."""
        exporter = EthtoolExporter(NODES)
        jobs = local_scrape_jobs(exporter, amp_dir=AMP, cluster="prod", targets_dir=tmp_path)

        def pods() -> list[str]:
            groups = json.loads((tmp_path / f"{COREDNS_JOB}.json").read_text())
            return [g["labels"]["__meta_kubernetes_pod_name"] for g in groups]

        assert json.loads((tmp_path / "kube-state-metrics.json").read_text()) == []
        assert len(jobs) == 3
        assert pods() == []
        exporter.set_forwarding({"coredns-a": 1.0, "coredns-b": 2.0})
        assert pods() == ["coredns-a", "coredns-b"]
        exporter.set_forwarding({"coredns-b": 2.0})
        assert pods() == ["coredns-b"]
