"""Pure formatting: digests, Block Kit within Slack's limits, Events API payloads within PagerDuty's."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netguard.alerts.models import AllowanceKind
from netguard.config.notify import DEFAULT_SEVERITY_MAP
from netguard.enriched import ActionKind, Outcome
from netguard.notify import digest_event, digest_from_dict, digest_to_dict, merge
from netguard.notify.models import Links
from netguard.notify.pagerduty import (
    change_event,
    dedup_key,
    map_severity,
    summary_of,
    trigger_event,
)
from netguard.notify.slack.blocks import (
    alert_message,
    remediation_message,
    silence_url,
    unparseable_message,
    url_problem,
)
from tests.support import builders
from tests.support.receivers import block_kit_problems


def _matchers(text: str) -> dict[str, str]:
    """Alertmanager's matcher list `{a="x",b="y"}` read back as its parser reads it: equality
    matchers, quoted values where a backslash escapes a backslash, a quote or an `n` (newline)."""
    assert text[0] + text[-1] == "{}", text
    result: dict[str, str] = {}
    at = 1
    while at < len(text) - 1:
        equals = text.index("=", at)
        name = text[at:equals]
        assert text[equals + 1] == '"', text[equals:]
        value, at = [], equals + 2
        while text[at] != '"':
            if text[at] == "\\":
                value.append({"n": "\n", "\\": "\\", '"': '"'}[text[at + 1]])
                at += 2
            else:
                value.append(text[at])
                at += 1
        result[name] = "".join(value)
        at += 1
        if text[at] == ",":
            at += 1
    return result


class TestDigest:
    def test_counts_one_group(self) -> None:
        """Counts by kind, node and zone are exact; rows are capped."""
        digest = digest_event(builders.storm(100, nodes=10))
        assert digest.total == 100
        assert sum(digest.kinds.values()) == 100
        assert sum(digest.nodes.values()) == 100
        assert digest.node_count == 10
        assert len(digest.rows) == 20

    def test_merged_parts_count_like_the_whole(self) -> None:
        """Merging the digests of the parts gives the counts of the unsplit group."""
        whole = builders.storm(300, nodes=40)
        merged = merge(digest_event(p) for p in builders.split(whole, 4))
        one = digest_event(whole)
        assert (merged.total, merged.firing, dict(merged.kinds)) == (one.total, one.firing, dict(one.kinds))
        assert merged.parts == (1, 2, 3, 4)
        assert merged.max_drop_rate == one.max_drop_rate

    def test_round_trips_through_json(self) -> None:
        """What the state table stores reads back as the same digest."""
        digest = digest_event(builders.storm(30))
        assert digest_from_dict(json.loads(json.dumps(digest_to_dict(digest)))) == digest

    def test_stays_small_in_a_storm(self) -> None:
        """10 000 alerts still fit comfortably in one DynamoDB item (400 KB)."""
        assert len(json.dumps(digest_to_dict(digest_event(builders.storm(10_000, nodes=5000))))) < 60_000


class TestSlackBlocks:
    def test_storm_is_summarised_within_limits(self) -> None:
        """1000 alerts: within 50 blocks and 3000 characters, with counts, top nodes and 'and N more'."""
        digest = digest_event(builders.storm(1000, nodes=300))
        message = alert_message(digest, Links(graph="https://g", runbook="https://r"))
        assert block_kit_problems(message) == []
        text = json.dumps(message)
        assert "and 990 more alert(s)" in text
        assert "Top nodes" in text
        assert "more node(s)" in text
        assert "linklocal (200)" in text

    @settings(max_examples=50, deadline=None)
    @given(
        summary=st.text(min_size=0, max_size=5000),
        node=st.text(min_size=1, max_size=400),
        count=st.integers(min_value=1, max_value=60),
    )
    def test_any_text_stays_within_limits(self, summary: str, node: str, count: int) -> None:
        """Whatever the labels and annotations hold, the message respects Slack's limits."""
        alerts = [
            builders.enriched_alert(node=f"{node}{i}", annotations={"summary": summary}) for i in range(count)
        ]
        event = builders.alert_group(alerts=alerts, alertname=node)
        message = alert_message(digest_event(event), Links(silence="https://am/" + node))
        assert block_kit_problems(message) == []

    def test_colour_follows_status_and_severity(self) -> None:
        """Red for critical firing, yellow for warning, green once resolved."""
        colours = [
            alert_message(digest_event(e), Links())["attachments"][0]["color"]
            for e in (
                builders.alert_group(),
                builders.alert_group(severity="warning"),
                builders.alert_group(status="resolved"),
            )
        ]
        assert colours == ["#E01E5A", "#ECB22E", "#2EB67D"]

    def test_mrkdwn_is_escaped(self) -> None:
        """Label values cannot inject Slack links or mentions."""
        alerts = [builders.enriched_alert(node="<!channel>&<http://evil|x>")]
        message = alert_message(digest_event(builders.alert_group(alerts=alerts)), Links())
        assert "<!channel>" not in json.dumps(message)
        assert "&lt;!channel&gt;&amp;" in json.dumps(message)

    def test_silence_link(self) -> None:
        """The silence link opens Alertmanager's new-silence page with the group's matchers."""
        url = silence_url("http://am:9093/", {"alertname": "X", "cluster": "c1"})
        assert url == "http://am:9093/#/silences/new?filter=%7Balertname%3D%22X%22%2Ccluster%3D%22c1%22%7D"
        assert silence_url("", {"a": "b"}) == ""

    def test_silence_matchers_are_escaped_as_alertmanager_writes_them(self) -> None:
        """A quote, backslash or newline in a value stays inside its matcher (Alertmanager's
        `labels.Matcher.String` escaping); a value cannot add matchers."""
        labels = {"alertname": 'X",cluster="prod', "instance": "a\\b\nc", "job": "}"}
        url = silence_url("http://am:9093", labels)
        query = urllib.parse.unquote(url.split("?filter=", 1)[1])
        assert query == '{alertname="X\\",cluster=\\"prod",instance="a\\\\b\\nc",job="}"}'
        assert _matchers(query) == labels

    def test_silence_leaves_out_names_that_are_no_label_names(self) -> None:
        url = silence_url("http://am:9093", {"alertname": "X", 'a",b="c': "v"})
        assert _matchers(urllib.parse.unquote(url.split("?filter=", 1)[1])) == {"alertname": "X"}
        assert silence_url("http://am:9093", {"not a name": "v"}) == ""

    @pytest.mark.parametrize(
        ("url", "takes"),
        [
            ("https://runbooks.example.com/a?b=c#d", True),
            ("http://10.0.0.1:9090/graph?g0.expr=up", True),
            ("javascript:alert(1)", False),
            ("ftp://files.example.com/x", False),
            ("/relative/path", False),
            ("https://", False),
            ("https://host/with space", False),
            ("https://host/\nnewline", False),
            ("http://host:notaport/", False),
            ("https://host/" + "x" * 3000, False),
        ],
    )
    def test_which_urls_slack_takes(self, url: str, takes: bool) -> None:
        assert (url_problem(url) == "") is takes

    def test_link_buttons_only_for_http_urls_within_limits(self) -> None:
        """A runbook or source that is no http(s) URL, or too long, is no button (Slack would refuse
        the whole message); the others stay."""
        links = Links(
            graph="https://grafana.example.com/d/x",
            runbook="javascript:alert(1)",
            silence="https://am/" + "x" * 3000,
            source="prometheus.local/graph",
        )
        message = alert_message(digest_event(builders.alert_group()), links)
        assert block_kit_problems(message) == []
        [actions] = [b for b in message["attachments"][0]["blocks"] if b["type"] == "actions"]
        assert [(e["text"]["text"], e["url"]) for e in actions["elements"]] == [
            ("Graph", "https://grafana.example.com/d/x")
        ]
        bare = alert_message(digest_event(builders.alert_group()), Links(runbook="mailto:x@example.com"))
        assert not [b for b in bare["attachments"][0]["blocks"] if b["type"] == "actions"]

    def test_a_row_graph_link_that_slack_would_refuse_is_plain_text(self) -> None:
        alerts = [builders.enriched_alert()]
        alerts = [replace(alerts[0], graph_url="javascript:alert(1)")]
        message = alert_message(digest_event(builders.alert_group(alerts=alerts)), Links())
        assert "javascript" not in json.dumps(message)

    def test_ambiguous_alerts_are_marked(self) -> None:
        """An alert the intake could not read for sure says so, on its row and in a note."""
        item = builders.enriched_alert()
        doubtful = replace(item, alert=replace(item.alert, ambiguity="2 readings of its labels reproduce it"))
        digest = digest_event(builders.alert_group(alerts=[doubtful, builders.enriched_alert(node="n2")]))
        assert digest.ambiguous == 1
        text = json.dumps(alert_message(digest, Links()))
        assert ":warning: 1 alert(s) could not be read for sure" in text
        assert "2 readings of its labels reproduce it" in text
        assert "never remediated" in text
        assert text.count(":warning: ambiguous") == 1
        plain = json.dumps(alert_message(digest_event(builders.alert_group()), Links()))
        assert "could not be read for sure" not in plain
        assert ":warning: ambiguous" not in plain

    @pytest.mark.parametrize(
        ("outcome", "mode", "headline"),
        [
            (Outcome.SKIPPED, "", "*verifying*"),
            (Outcome.DRY_RUN, "dry-run", "*dry-run: would raise CoreDNS replicas* (dry-run)"),
            (Outcome.REFUSED, "enforce", "*refused raise CoreDNS replicas; escalated to on-call*"),
            (Outcome.FAILED, "enforce", "*raise CoreDNS replicas failed*"),
        ],
    )
    def test_remediation_reply_speaks_words_not_data(
        self, outcome: Outcome, mode: str, headline: str
    ) -> None:
        """A reply says what happened in words: no raw mappings, no "mode unknown" (issue 21)."""
        report = builders.remediation(outcome=outcome).remediation
        assert report is not None
        report = replace(report, mode=mode, before={"coredns_pods_by_node": {"ip-10-0-1-23": 2}})
        text = remediation_message(report)["text"]
        assert headline in text
        assert "mode unknown" not in text
        assert "coredns_pods_by_node" not in text
        assert "{" not in text

    def test_remediation_and_unparseable_messages(self) -> None:
        """Both are plain messages within limits that say what happened and why."""
        report = builders.remediation().remediation
        assert report is not None
        message = remediation_message(report)
        text = message["blocks"][0]["text"]["text"]
        assert "raise CoreDNS replicas applied" in text
        assert "CoreDNS 2 → 3 replicas, on 1 → 3 nodes" in text
        plain = unparseable_message(builders.unparseable(reason="x" * 5000))
        assert block_kit_problems(message) == []
        assert block_kit_problems(plain) == []


class TestPagerDutyPayloads:
    @pytest.mark.parametrize(
        ("label", "expected"),
        [
            ("critical", "critical"),
            ("CRITICAL", "critical"),
            ("high", "error"),
            ("warning", "warning"),
            ("info", "info"),
            ("bogus", "error"),
            ("", "error"),
        ],
    )
    def test_severity(self, label: str, expected: str) -> None:
        """Explicit mapping, case-insensitive; unknown labels get the default."""
        assert map_severity(label, DEFAULT_SEVERITY_MAP, "error") == expected

    @settings(max_examples=100)
    @given(group_id=st.text(max_size=600), fingerprint=st.text(max_size=40))
    def test_dedup_key_is_bounded_stable_and_never_empty(self, group_id: str, fingerprint: str) -> None:
        """1..255 characters, the same for the same input."""
        key = dedup_key(group_id, fingerprint)
        assert 1 <= len(key) <= 255
        assert key == dedup_key(group_id, fingerprint)

    def test_long_keys_stay_distinct(self) -> None:
        """Hashing long keys keeps different groups apart."""
        assert dedup_key("g" * 300) != dedup_key("g" * 301)

    def test_summary_and_source_limits(self) -> None:
        """Summary at most 1024 characters even with a huge annotation."""
        alerts = [builders.enriched_alert(annotations={"summary": "s" * 5000})]
        digest = digest_event(builders.alert_group(alerts=alerts))
        assert len(summary_of(digest, "node")) <= 1024
        event = trigger_event(digest, key="k", severity="error", source="n" * 400, links=Links())
        assert len(event["payload"]["source"]) <= 255
        assert len(event["payload"]["summary"]) <= 1024

    def test_source_falls_back_to_instance(self) -> None:
        """Without a node, the instance id is the source."""
        item = builders.enriched_alert()
        item = replace(item, node=None, alert=replace(item.alert, labels={"alertname": "X"}))
        from netguard.notify.digest import source_of

        assert source_of(item) == "i-0abc1234def567890"

    def test_change_event(self) -> None:
        """A change event carries the decision and its reasons."""
        report = builders.remediation(action=ActionKind.ENABLE_NODELOCAL).remediation
        assert report is not None
        event = change_event(report, links=Links(slack_thread="https://slack/x"))
        assert event["payload"]["summary"].startswith(
            "netguard enable_nodelocal_dnscache on prod-eks: applied"
        )
        assert event["links"] == [{"href": "https://slack/x", "text": "Slack thread"}]

    def test_kinds_become_the_class(self) -> None:
        """The allowance kinds of the group are the event class."""
        alerts = [builders.enriched_alert(kind=AllowanceKind.PPS)]
        digest = digest_event(builders.alert_group(alerts=alerts))
        assert (
            trigger_event(digest, key="k", severity="info", source="s", links=Links())["payload"]["class"]
            == "pps"
        )
