"""deploy/collection/: the node_exporter DaemonSet and chart values (what they collect, where they run,
what they may use) and the ADOT collector configuration, checked for structure: no ADOT binary is
packaged for these machines, so the configuration is checked against what the collector reads (its
sections, the pipeline's references, the authenticator) and against amp/scrape.yaml's jobs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from netguard_cli.localstack.exporter import ALLOWANCE_COUNTERS, CONNTRACK_AVAILABLE

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "deploy" / "collection"
SIX = {*ALLOWANCE_COUNTERS, CONNTRACK_AVAILABLE}
ENA_OTHER_STATS = ("queue_0_tx_cnt", "rx_bytes", "tx_timeout", "linklocal_allowance_exceeded_total", "bw_in")


def documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((COLLECTION / name).read_text()) if d]


def daemonset() -> dict[str, Any]:
    (found,) = [d for d in documents("node-exporter.yaml") if d["kind"] == "DaemonSet"]
    return found


def include_regex(args: list[str]) -> re.Pattern[str]:
    (value,) = [a.split("=", 1)[1] for a in args if a.startswith("--collector.ethtool.metrics-include=")]
    return re.compile(value)


class TestNodeExporterDaemonSet:
    def test_ethtool_only_six_statistics_every_device(self) -> None:
        """The ethtool collector is on, limited to the six allowance statistics, with no device filter."""
        (container,) = daemonset()["spec"]["template"]["spec"]["containers"]
        args = container["args"]
        assert "--collector.ethtool" in args
        assert "--collector.disable-defaults" in args
        assert not any("device-include" in a or "device-exclude" in a for a in args)
        pattern = include_regex(args)
        assert {s for s in SIX if pattern.search(s)} == SIX
        assert not any(pattern.search(s) for s in ENA_OTHER_STATS)

    def test_pinned_version_at_least_1_10(self) -> None:
        """A pinned tag, never latest, and at least v1.10.0 (sanitised-name fix)."""
        (container,) = daemonset()["spec"]["template"]["spec"]["containers"]
        tag = container["image"].rsplit(":", 1)[1]
        major, minor, _ = (int(p) for p in tag.removeprefix("v").split("."))
        assert (major, minor) >= (1, 10)
        values = yaml.safe_load((COLLECTION / "values-prometheus-node-exporter.yaml").read_text())
        assert values["image"]["tag"] == tag

    def test_every_node_host_network_limits(self) -> None:
        """Host network on port 9100, every taint tolerated, requests and limits, no privileges."""
        spec = daemonset()["spec"]["template"]["spec"]
        assert spec["hostNetwork"] is True
        assert {"operator": "Exists"} in spec["tolerations"]
        (container,) = spec["containers"]
        assert [(p["containerPort"], p["hostPort"]) for p in container["ports"]] == [(9100, 9100)]
        assert set(container["resources"]) == {"requests", "limits"}
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True

    def test_scrape_config_selects_it(self) -> None:
        """The pod label and port are what amp/scrape.yaml's exporter job keeps."""
        labels = daemonset()["spec"]["template"]["metadata"]["labels"]
        scrape = yaml.safe_load((ROOT / "amp" / "scrape.yaml").read_text())
        job = next(j for j in scrape["scrape_configs"] if j["job_name"] == "ena-exporters")
        by_source = {
            r["source_labels"][0]: r["regex"] for r in job["relabel_configs"] if r.get("action") == "keep"
        }
        app = labels["app.kubernetes.io/name"]
        assert re.fullmatch(by_source["__meta_kubernetes_pod_label_app_kubernetes_io_name"], app)
        assert re.fullmatch(by_source["__meta_kubernetes_pod_container_port_number"], "9100")


class TestChartValues:
    def test_same_collection_as_the_manifest(self) -> None:
        """The chart runs the same collector and filter, everywhere, with requests and limits."""
        values = yaml.safe_load((COLLECTION / "values-prometheus-node-exporter.yaml").read_text())
        assert "--collector.ethtool" in values["extraArgs"]
        assert include_regex(values["extraArgs"]).pattern == include_regex(daemonset_args()).pattern
        assert values["hostNetwork"] is True
        assert values["service"]["port"] == 9100
        assert {"operator": "Exists"} in values["tolerations"]
        assert set(values["resources"]) == {"requests", "limits"}
        assert "--version 4.56.1" in (COLLECTION / "values-prometheus-node-exporter.yaml").read_text()


def daemonset_args() -> list[str]:
    (container,) = daemonset()["spec"]["template"]["spec"]["containers"]
    return list(container["args"])


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((COLLECTION / "adot-collector.yaml").read_text())
    return data


class TestAdotCollector:
    def test_scrapes_what_the_managed_collector_does(self, config: dict[str, Any]) -> None:
        """The prometheus receiver's configuration is amp/scrape.yaml's, the cluster from the environment."""
        text = (ROOT / "amp" / "scrape.yaml").read_text().replace("${ClusterName}", "${env:CLUSTER_NAME}")
        assert config["receivers"]["prometheus"]["config"] == yaml.safe_load(text)

    def test_pipeline_references_exist(self, config: dict[str, Any]) -> None:
        """Every component a pipeline or the service names is configured, and each configured one is used."""
        service = config["service"]
        used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set()}
        for pipeline_name, pipeline in service["pipelines"].items():
            assert pipeline_name.split("/")[0] == "metrics"
            for kind, seen in used.items():
                for name in pipeline.get(kind, []):
                    assert name in config[kind], f"{pipeline_name}: {kind} {name}"
                    seen.add(name)
        for kind, names in used.items():
            assert names == set(config[kind]), kind
        assert set(service["extensions"]) == set(config["extensions"])

    def test_remote_write_signed_for_amp(self, config: dict[str, Any]) -> None:
        """prometheusremotewrite to AMP, signed by sigv4auth for service aps."""
        (exporter,) = config["exporters"].values()
        assert exporter["endpoint"] == "${env:AMP_REMOTE_WRITE_URL}"
        authenticator = exporter["auth"]["authenticator"]
        assert config["extensions"][authenticator]["service"] == "aps"
        assert "prometheusremotewrite" in config["exporters"]

    def test_dollar_signs_are_only_environment(self) -> None:
        """The collector expands ${env:...} and `$VAR`; a relabelling `$1` would need `$$1`."""
        text = re.sub(r"\$\{env:[A-Z_]+\}", "", (COLLECTION / "adot-collector.yaml").read_text())
        assert "$" not in re.sub(r"#.*", "", text)

    def test_rbac_lets_it_discover_pods(self) -> None:
        roles = [d for d in documents("collector-rbac.yaml") if d["kind"] == "ClusterRole"]
        (rule,) = roles[0]["rules"]
        assert rule["resources"] == ["pods"]
        assert set(rule["verbs"]) == {"get", "list", "watch"}
