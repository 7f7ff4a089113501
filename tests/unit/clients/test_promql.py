"""Cluster scoping of PromQL text: every selector gets the matcher, nothing else changes, and no
cluster name can change the query's meaning."""

from __future__ import annotations

import pytest

from netguard.clients.prometheus import PrometheusClient
from netguard.clients.promql import promql_string, scope_query, scoped
from netguard.config.clusters import query_cluster_label, read_cluster_label
from netguard.config.env import EnvReader
from netguard.enrich.prometheus import DEFAULT_QUERY, PrometheusEnricher
from netguard.errors import ConfigError
from netguard.remediate.metrics import DROPS_QUERY, FORWARDS_QUERY

M = 'cluster="prod"'


class TestScopeQuery:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("up", f"up{{{M}}}"),
            ('up{job="a"}', f'up{{{M},job="a"}}'),
            ("up{}", f"up{{{M}}}"),
            ('{__name__="up"}', f'{{{M},__name__="up"}}'),
            ("rate(x[2m])", f"rate(x{{{M}}}[2m])"),
            ("sum by (instance) (rate(x[2m]))", f"sum by (instance) (rate(x{{{M}}}[2m]))"),
            ("sum(rate(x[2m])) without (le, pod)", f"sum(rate(x{{{M}}}[2m])) without (le, pod)"),
            ("a / on(pod) group_left(node) b", f"a{{{M}}} / on(pod) group_left(node) b{{{M}}}"),
            ("a and b or c unless d", f"a{{{M}}} and b{{{M}}} or c{{{M}}} unless d{{{M}}}"),
            ("x offset 5m > bool 2e3", f"x{{{M}}} offset 5m > bool 2e3"),
            ("ns:rec:rate1m > 0", f"ns:rec:rate1m{{{M}}} > 0"),
            ('x{a="}{"} # y{b}', f'x{{{M},a="}}{{"}} # y{{b}}'),
            ("max_over_time(x[5m:1m]) @ end()", f"max_over_time(x{{{M}}}[5m:1m]) @ end()"),
            ("topk(3, x)", f"topk(3, x{{{M}}})"),
            ("vector(1) + 1", "vector(1) + 1"),
        ],
    )
    def test_table(self, query: str, expected: str) -> None:
        assert scope_query(query, "cluster", "prod") == expected

    @pytest.mark.parametrize(
        "value", ['prod"} or vector(1) #', "a\\", "line\nbreak", "é ✓", "'single'", "`back`"]
    )
    def test_hostile_values_stay_one_string(self, value: str) -> None:
        """Quotes, backslashes and newlines are escaped: the value is one literal, the query's shape
        (one selector, one matcher added) is unchanged."""
        scoped_query = scope_query("up", "cluster", value)
        assert scoped_query == f"up{{cluster={promql_string(value)}}}"
        assert "\n" not in scoped_query
        body = scoped_query[len("up{cluster=") : -1]
        assert body.startswith('"')
        assert body.endswith('"')
        assert '"' not in body[1:-1].replace('\\"', "")

    @pytest.mark.parametrize(
        ("query", "selectors"),
        # The drop queries read amp/rules.yaml's one recorded series; the forward query has one
        # selector per CoreDNS version's counter.
        [(DROPS_QUERY, 1), (FORWARDS_QUERY, 2), (DEFAULT_QUERY, 1)],
    )
    def test_shipped_queries_get_one_matcher_per_selector(self, query: str, selectors: int) -> None:
        assert scope_query(query, "cluster", "prod").count(M) == selectors

    def test_unscoped_without_a_label(self) -> None:
        assert scoped(DROPS_QUERY, None, "prod") == DROPS_QUERY


class TestEnrichmentQuery:
    def test_placeholder_is_escaped_and_the_query_scoped(self) -> None:
        client = PrometheusClient("http://127.0.0.1:9")
        template = 'sum by (instance) (rate(x{type="{counter}",c="{cluster}"}[2m]))'
        query = PrometheusEnricher(client, query_template=template, cluster_label="k").query_for(
            "linklocal_allowance_exceeded", 'a"b'
        )
        assert query == (
            'sum by (instance) (rate(x{k="a\\"b",type="linklocal_allowance_exceeded",c="a\\"b"}[2m]))'
        )


class TestClusterLabelSetting:
    @pytest.mark.parametrize(
        ("raw", "label"), [("", "cluster"), ("k8s_cluster", "k8s_cluster"), ("none", None)]
    )
    def test_values(self, raw: str, label: str | None) -> None:
        assert query_cluster_label(read_cluster_label(EnvReader({"CLUSTER_LABEL": raw}))) == label

    @pytest.mark.parametrize("raw", ['cluster="x"', "a-b", "1st", "cluster} or vector(1)"])
    def test_not_a_label_name(self, raw: str) -> None:
        with pytest.raises(ConfigError, match="must be a Prometheus label name"):
            read_cluster_label(EnvReader({"CLUSTER_LABEL": raw}))
