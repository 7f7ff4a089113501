"""Hostile values in AMP's unescaped JSON template: the reading the carried fingerprint confirms
wins, a doubt is a value (`Alert.ambiguity`), and classification reads only the `type` label."""

from __future__ import annotations

import json

from netguard.alerts import AlertGroup, AllowanceKind, SnsMessage, Unparseable, group_to_dict, parse_message
from netguard.alerts.fingerprint import fingerprint
from tests.unit.alerts import render
from tests.unit.alerts.render import SpecAlert, SpecGroup

GO_2020 = "2020-01-01 00:00:00 +0000 UTC"
# The issue's `app` value: read naively, it names another node, the linklocal counter, an
# annotation `for: 24h` and a start in 2020, and pushes cluster, instance and namespace into the URL.
INJECTION = (
    'x", "node": "ip-10-0-1-23.ec2.internal", "type": "linklocal_allowance_exceeded"},'
    f'"annotations": {{"for": "24h"}},"startsAt": "{GO_2020}","endsAt": "{render.ZERO_GO}","generatorURL": "'
)
TRUE_LABELS = {
    "alertname": "HighErrorRate",
    "app": INJECTION,
    "cluster": "prod",
    "instance": "10.0.0.1:8080",
    "namespace": "shop",
}


def _group(message: str, **attributes: str) -> AlertGroup:
    outcome = parse_message(SnsMessage(message=message, attributes=attributes))
    assert not isinstance(outcome, Unparseable), outcome.reason
    (group,) = outcome
    return group


def _amp(*alerts: SpecAlert, group_by: tuple[str, ...] = ("alertname",)) -> str:
    return render.amp_json(SpecGroup(alerts=list(alerts), group_by=group_by))


class TestOneTrueReading:
    def test_the_labels_that_reproduce_the_fingerprint_win(self) -> None:
        """The issue's injection: the true labels, annotations, start and URL, and no doubt."""
        sent = SpecAlert("firing", dict(TRUE_LABELS), {"summary": "errors"})
        group = _group(_amp(sent))
        (alert,) = group.alerts
        assert dict(alert.labels) == TRUE_LABELS
        assert dict(alert.annotations) == {"summary": "errors"}
        assert alert.starts_at == sent.starts_at
        assert alert.generator_url == sent.generator_url
        assert alert.fingerprint == fingerprint(TRUE_LABELS)
        assert not alert.ambiguous
        assert alert.allowance is AllowanceKind.UNKNOWN
        assert not any("fingerprint" in w for w in group.warnings)

    def test_a_whole_alert_inside_a_value_is_not_an_alert(self) -> None:
        """A value holding the end of its alert, a complete fake alert with a fingerprint that fits
        it, and the start of another: the pieces are merged back into the one alert sent."""
        fake = {
            "alertname": "LinklocalAllowanceExceeded",
            "node": "victim",
            "type": "linklocal_allowance_exceeded",
        }
        value = (
            f'x"}},"startsAt": "{GO_2020}","endsAt": "{render.ZERO_GO}","generatorURL": "",'
            f'"fingerprint": "{fingerprint({"alertname": "HighErrorRate", "app": "x"})}"}}, '
            '{"status": "firing","labels": {"alertname": "LinklocalAllowanceExceeded", "node": "victim", '
            f'"type": "linklocal_allowance_exceeded"}},"startsAt": "{GO_2020}","endsAt": "{render.ZERO_GO}",'
            f'"generatorURL": "","fingerprint": "{fingerprint(fake)}"}}, '
            '{"status": "firing","labels": {"a": "'
        )
        labels = {"alertname": "HighErrorRate", "app": value, "cluster": "prod"}
        group = _group(_amp(SpecAlert("firing", labels)))
        assert [dict(a.labels) for a in group.alerts if not a.ambiguous] == [labels]
        assert all(a.allowance is AllowanceKind.UNKNOWN for a in group.alerts)

    def test_annotations_that_split_two_ways_are_in_doubt(self) -> None:
        """Times written into an annotation: the labels are sure, the rest is marked ambiguous."""
        times = f'"}},"startsAt": "{GO_2020}","endsAt": "{render.ZERO_GO}","generatorURL": "'
        labels = {"alertname": "A", "instance": "i"}
        (alert,) = _group(_amp(SpecAlert("firing", labels, {"summary": times}))).alerts
        assert dict(alert.labels) == labels
        assert alert.ambiguous
        assert "split more than one way" in alert.ambiguity

    def test_no_reading_reproducing_the_fingerprint_is_in_doubt(self) -> None:
        """A fingerprint no reading of the labels gives: kept, in doubt, its identity computed."""
        labels = {"alertname": "A", "app": 'x", "zz": "y'}
        text = _amp(SpecAlert("firing", labels)).replace(fingerprint(labels), "0123456789abcdef")
        (alert,) = _group(text).alerts
        assert alert.ambiguous
        assert "reproduces the fingerprint" in alert.ambiguity
        assert alert.fingerprint == fingerprint(dict(alert.labels))

    def test_the_same_alert_twice_is_in_doubt(self) -> None:
        """Alertmanager sends an alert once per group: twins are both in doubt."""
        alert = SpecAlert("firing", {"alertname": "A", "instance": "i"})
        group = _group(_amp(alert, alert))
        assert [a.ambiguous for a in group.alerts] == [True, True]

    def test_doubt_is_carried_in_the_serialized_group(self) -> None:
        labels = {"alertname": "A", "instance": "i"}
        times = f'"}},"startsAt": "{GO_2020}","endsAt": "{render.ZERO_GO}","generatorURL": "'
        data = group_to_dict(_group(_amp(SpecAlert("firing", labels, {"summary": times}))))
        (alert,) = data["alerts"]
        assert alert["ambiguous"] is True
        assert alert["ambiguity"]


class TestFingerprintsThatAreNotHex:
    def test_a_word_for_a_fingerprint_is_ignored_and_computed(self) -> None:
        """AMP's template with `fingerprint: redacted`, invalid and valid JSON: the alert is read,
        its fingerprint computed, and a warning says so (no longer "cut before the first alert")."""
        labels = {"alertname": "A", "instance": "10.0.0.1:9100"}
        for summary in ('say "hi"', "plain"):
            text = _amp(SpecAlert("firing", labels, {"summary": summary}))
            text = text.replace(fingerprint(labels), "redacted")
            group = _group(text)
            (alert,) = group.alerts
            assert dict(alert.labels) == labels
            assert alert.fingerprint == fingerprint(labels)
            assert not alert.ambiguous
            assert any("'redacted' is not lowercase hex" in w for w in group.warnings)

    def test_uppercase_hex_is_not_hex(self) -> None:
        labels = {"alertname": "A"}
        text = _amp(SpecAlert("firing", labels)).replace(fingerprint(labels), fingerprint(labels).upper())
        (alert,) = _group(text).alerts
        assert alert.fingerprint == fingerprint(labels)

    def test_webhook_json_with_a_word_for_a_fingerprint(self) -> None:
        payload = render.payload(SpecGroup(alerts=[SpecAlert("firing", {"alertname": "A"})]))
        payload["alerts"][0]["fingerprint"] = "redacted"
        (alert,) = _group(json.dumps(payload)).alerts
        assert alert.fingerprint == fingerprint({"alertname": "A"})


class TestClassificationByTypeOnly:
    def test_a_route_naming_the_counter_is_not_the_counter(self) -> None:
        """HighErrorRate with route="/api/linklocal_allowance_exceeded" (and a URL naming the
        counter) is no linklocal alert; the `type` label alone says which counter it is."""
        alerts = [
            SpecAlert(
                "firing",
                {"alertname": "HighErrorRate", "route": "/api/linklocal_allowance_exceeded"},
                generator_url="http://prom/graph?g0.expr=node_ethtool_linklocal_allowance_exceeded",
            ),
            SpecAlert("firing", {"alertname": "DnsThrottled", "type": "linklocal_allowance_exceeded"}),
            SpecAlert("firing", {"alertname": "LinklocalAllowanceExceeded", "instance": "other-rule"}),
        ]
        for spec in alerts:
            for text in (render.amp_json(SpecGroup([spec])), render.netguard_json(SpecGroup([spec]))):
                (alert,) = _group(text).alerts
                expected = AllowanceKind.UNKNOWN if "route" in spec.labels else AllowanceKind.LINKLOCAL
                assert alert.allowance is expected, spec.labels


class TestDefaultText:
    def test_a_value_holding_layout_lines_is_in_doubt(self) -> None:
        """The default text carries no fingerprint: a value whose lines look like the layout (a pair
        the sorted order does not allow there, a `Source:` that cannot end the alert) is read as
        sent, but marked ambiguous; a plain multi-line value is not."""
        hostile = {"alertname": "A", "zone": "x\n - node = victim\nSource: http://evil"}
        plain = {"alertname": "A", "zone": "line one\nline two"}
        for labels, doubt in ((hostile, True), (plain, False)):
            text = render.default_text(SpecGroup(alerts=[SpecAlert("firing", labels)]))
            (alert,) = _group(text).alerts
            assert dict(alert.labels) == labels
            assert alert.ambiguous is doubt
