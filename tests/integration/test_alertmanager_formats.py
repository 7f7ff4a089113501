"""A real Alertmanager (Debian's 0.25) publishes to SNS (a moto server) in each format netguard reads;
what it published, parsed by the intake, equals what was posted.

Subjects: SNS (and moto) reject subjects over 100 characters, which Alertmanager's default subject
exceeds with real label sets. The default-text and netguard cases therefore use a short `subject`
template; the key: value case keeps the default subject, with labels short enough to fit, because
that format needs the subject to complete the alert.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from netguard.alerts import AlertGroup, AllowanceKind, SourceFormat, Status, Unparseable, parse_message
from netguard.alerts.fingerprint import fingerprint
from netguard_cli.localstack.alertmanager import amp_definition_files, start_alertmanager
from tests.support.alertmanager import SnsCapture, StartAlertmanager, api_alert

pytestmark = pytest.mark.integration

AMP = Path(__file__).resolve().parents[2] / "amp"
SHORT_SUBJECT = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] '
    "{{ .CommonLabels.alertname }}"
)

TRICKY = {
    "quote": 'say "hi"',
    "backslash": "C:\\path\\n not a newline \\",
    "newline": "first line\nsecond line\n",
    "unicode": "时延 ✓ — naïve",
    "apostrophe": "it's",
    "braces": '{"json": [1, 2]}, "x": "y"',
    "control": "tab\there, bell\x07",
}


def _alerts(*, tricky: bool) -> list[dict[str, Any]]:
    base = {
        "alertname": "LinkLocalAllowanceExceeded",
        "device": "eth0",
        "type": "linklocal_allowance_exceeded",
    }
    first = {**base, "instance": "10.0.1.23:9100"}
    second = {**base, "instance": "10.0.2.7:9100"}
    annotations = {
        "summary": "packets to link-local services dropped",
        "runbook_url": "https://example.com/rb",
    }
    if tricky:
        first |= {
            "detail": TRICKY["quote"] + TRICKY["backslash"],
            "note": TRICKY["unicode"] + TRICKY["apostrophe"] + TRICKY["control"],
        }
        annotations = {
            "description": TRICKY["newline"] + TRICKY["braces"],
            "summary": TRICKY["quote"] + " " + TRICKY["backslash"],
        }
    return [api_alert(first, annotations), api_alert(second, {"summary": "second"})]


def _only_group(outcome: list[AlertGroup] | Unparseable) -> AlertGroup:
    assert not isinstance(outcome, Unparseable), outcome.reason
    assert len(outcome) == 1
    return outcome[0]


def _check(
    group: AlertGroup,
    posted: list[dict[str, Any]],
    statuses: Mapping[str, Status],
    am_fingerprints: Mapping[str, str],
    *,
    times: bool,
) -> None:
    by_instance = {a.labels["instance"]: a for a in group.alerts}
    assert set(by_instance) == {p["labels"]["instance"] for p in posted}
    for sent in posted:
        instance = sent["labels"]["instance"]
        got = by_instance[instance]
        assert dict(got.labels) == sent["labels"]
        assert dict(got.annotations) == sent["annotations"]
        assert got.status is statuses[instance]
        assert got.fingerprint == fingerprint(sent["labels"]) == am_fingerprints[instance]
        assert got.allowance is AllowanceKind.LINKLOCAL
        if times:
            assert got.starts_at is not None
            assert got.starts_at.isoformat().replace("+00:00", "Z") == sent["startsAt"]
            assert (got.ends_at is None) == (statuses[instance] is Status.FIRING)


FORMATS = {
    "default": ({"subject": SHORT_SUBJECT}, {}, SourceFormat.DEFAULT_TEXT, False),
    "amp_json": (
        {},
        {"amp-json": (AMP / "examples" / "amp-json.tmpl").read_text()},
        SourceFormat.AMP_JSON,
        True,
    ),
    "netguard": (
        {"subject": '{{ template "netguard.subject" . }}', "message": '{{ template "netguard.json" . }}'},
        {"netguard": (AMP / "netguard.tmpl").read_text()},
        SourceFormat.JSON,
        True,
    ),
}


@pytest.mark.parametrize("name", list(FORMATS))
def test_firing_then_resolved_round_trip(
    name: str, start_sns_alertmanager: StartAlertmanager, sns_capture: SnsCapture
) -> None:
    """Two alerts with awkward values fire, then one resolves; both notifications parse back exactly."""
    sns_extra, templates, source_format, times = FORMATS[name]
    am = start_sns_alertmanager(sns_extra=sns_extra, templates=templates)
    posted = _alerts(tricky=True)
    am.post_alerts(posted)
    am_fingerprints = {a["labels"]["instance"]: a["fingerprint"] for a in am.alerts()}
    (firing,) = sns_capture.wait(1)
    group = _only_group(parse_message(firing))
    assert group.source_format is source_format
    assert group.status is Status.FIRING
    _check(
        group,
        posted,
        {"10.0.1.23:9100": Status.FIRING, "10.0.2.7:9100": Status.FIRING},
        am_fingerprints,
        times=times,
    )

    resolved = dict(posted[1], endsAt=api_alert({}, resolved=True)["endsAt"])
    am.post_alerts([resolved])
    (mixed,) = sns_capture.wait(1)
    group = _only_group(parse_message(mixed))
    assert group.status is Status.FIRING  # one alert still fires
    _check(
        group,
        [posted[0], resolved],
        {"10.0.1.23:9100": Status.FIRING, "10.0.2.7:9100": Status.RESOLVED},
        am_fingerprints,
        times=times,
    )
    if source_format is not SourceFormat.DEFAULT_TEXT:
        assert group.group_labels == {"alertname": "LinkLocalAllowanceExceeded"}
        assert group.receiver == "sns"


def test_key_value_template_completed_from_default_subject(
    start_sns_alertmanager: StartAlertmanager, sns_capture: SnsCapture
) -> None:
    """The seed document's `alert_type:`/`event_type:` message plus the default subject give it back."""
    templates = {"key-value": (AMP / "examples" / "key-value.tmpl").read_text()}
    am = start_sns_alertmanager(
        sns_extra={"message": '{{ template "seed.key_value.message" . }}'},
        templates=templates,
        group_by=["alertname", "instance"],
    )
    labels = {"alertname": "LinkLocalAllowanceExceeded", "event_type": "dns", "instance": "10.0.1.23:9100"}
    first = api_alert(labels)
    am.post_alerts([first])
    (firing,) = sns_capture.wait(1)
    assert firing.subject.startswith("[FIRING:1] LinkLocalAllowanceExceeded 10.0.1.23:9100")
    group = _only_group(parse_message(firing))
    assert group.source_format is SourceFormat.KEY_VALUE
    (alert,) = group.alerts
    assert dict(alert.labels) == labels
    assert alert.status is Status.FIRING
    assert alert.fingerprint == am.alerts()[0]["fingerprint"]
    assert alert.allowance is AllowanceKind.LINKLOCAL

    am.post_alerts([dict(first, endsAt=api_alert({}, resolved=True)["endsAt"])])
    (resolved,) = sns_capture.wait(1)
    group = _only_group(parse_message(resolved))
    assert group.status is Status.RESOLVED
    assert group.alerts[0].status is Status.RESOLVED
    assert dict(group.alerts[0].labels) == labels


def test_missing_label_renders_as_absent_in_key_value(
    start_sns_alertmanager: StartAlertmanager, sns_capture: SnsCapture
) -> None:
    """A template naming a label the alerts lack renders nothing useful; the intake says so and goes on."""
    templates = {"key-value": (AMP / "examples" / "key-value.tmpl").read_text()}
    am = start_sns_alertmanager(
        sns_extra={"message": '{{ template "seed.key_value.message" . }}'}, templates=templates
    )
    am.post_alerts([api_alert({"alertname": "PPSAllowanceExceeded"})])
    (firing,) = sns_capture.wait(1)
    group = _only_group(parse_message(firing))
    assert dict(group.alerts[0].labels) == {"alertname": "PPSAllowanceExceeded"}
    assert any("event_type" in w for w in group.warnings)
    assert group.alerts[0].allowance is AllowanceKind.PPS


def test_deployed_definition_publishes_netguard_json(sns_capture: SnsCapture, tmp_path: Path) -> None:
    """amp/alertmanager.yaml as deployed (routes, inhibition, template), pointed at moto, round-trips."""
    text = (AMP / "alertmanager.yaml").read_text()
    text = text.replace("${AlertsTopicArn}", sns_capture.topic_arn).replace("${AWS::Region}", "us-east-1")
    config, templates = amp_definition_files(text)
    for receiver in config["receivers"]:
        for sns in receiver["sns_configs"]:
            sns.update(sns_capture.sns_config())
    config["route"] |= {"group_wait": "1s", "group_interval": "2s"}
    for child in config["route"].get("routes", []):
        child |= {"group_interval": "2s"}
    am = start_alertmanager(config, workdir=tmp_path / "am", templates=templates)
    try:
        posted = _alerts(tricky=True)[:1]
        posted[0]["labels"]["alertname"] = "LinklocalAllowanceExceededPersisting"
        am.post_alerts(posted)
        (message,) = sns_capture.wait(1)
    finally:
        am.stop()
    assert message.attributes.get("format") is None or message.attributes["format"] == "netguard/1"
    assert message.subject == "[FIRING:1] LinklocalAllowanceExceededPersisting"
    group = _only_group(parse_message(message))
    assert group.source_format is SourceFormat.JSON
    (alert,) = group.alerts
    assert dict(alert.labels) == posted[0]["labels"]
    assert dict(alert.annotations) == posted[0]["annotations"]
    assert group.group_labels == {
        k: posted[0]["labels"][k] for k in ("alertname", "instance") if k in posted[0]["labels"]
    }


def test_alertmanager_truncates_and_intake_keeps_complete_alerts(
    start_sns_alertmanager: StartAlertmanager, sns_capture: SnsCapture
) -> None:
    """1400 alerts overflow SNS's 256 KB: Alertmanager cuts and flags; every alert kept is intact."""
    am = start_sns_alertmanager(templates={"amp-json": (AMP / "examples" / "amp-json.tmpl").read_text()})
    posted = [
        api_alert(
            {"alertname": "LinkLocalAllowanceExceeded", "instance": f"10.0.{i // 250}.{i % 250}:9100"},
            {"summary": "x" * 80, "description": 'a "quoted"\nvalue \\ here'},
        )
        for i in range(1400)
    ]
    am.post_alerts(posted)
    body = sns_capture.wait_for(lambda m: m.attributes.get("truncated") == "true", timeout=60)
    from netguard.alerts.sns import message_from_notification

    group = _only_group(parse_message(message_from_notification(body)))
    assert group.truncated
    assert 300 < len(group.alerts) < 1400
    by_labels = {fingerprint(p["labels"]): p for p in posted}
    for alert in group.alerts:
        sent = by_labels[alert.fingerprint]
        assert dict(alert.labels) == sent["labels"]
        assert dict(alert.annotations) == sent["annotations"]


def test_amtool_accepts_the_deployed_definition(tmp_path: Path) -> None:
    """Alertmanager's own checker accepts amp/alertmanager.yaml's config and template."""
    text = (AMP / "alertmanager.yaml").read_text()
    text = text.replace("${AlertsTopicArn}", "arn:aws:sns:us-east-1:123456789012:netguard-alerts")
    text = text.replace("${AWS::Region}", "us-east-1")
    config, templates = amp_definition_files(text)
    (tmp_path / "netguard.tmpl").write_text(templates["netguard"])
    config["templates"] = [str(tmp_path / "netguard.tmpl")]
    import yaml

    (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        ["amtool", "check-config", str(tmp_path / "am.yml")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "netguard-sns" in result.stdout or "receivers" in result.stdout


def test_promtool_accepts_the_rules() -> None:
    """amp/rules.yaml is valid Prometheus rules, with the persisting link-local rule and absent rules."""
    result = subprocess.run(
        ["promtool", "check", "rules", str(AMP / "rules.yaml")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    import yaml

    rules = [r for g in yaml.safe_load((AMP / "rules.yaml").read_text())["groups"] for r in g["rules"]]
    persisting = next(r for r in rules if r.get("alert") == "LinklocalAllowanceExceededPersisting")
    assert persisting["for"] == "5m"
    assert any("absent(" in r["expr"] for r in rules if "alert" in r)
