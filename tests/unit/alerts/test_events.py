"""The sample events in events/ and `netguard parse` over them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netguard_cli.main import main

EVENTS = Path(__file__).resolve().parents[3] / "events"
EXPECTED = {
    "sns-default-firing.json": ("alertmanager_text", "firing", 2),
    "sns-default-firing-and-resolved.json": ("alertmanager_text", "firing", 2),
    "sns-default-resolved.json": ("alertmanager_text", "resolved", 2),
    "sns-amp-json-firing.json": ("amp_json", "firing", 2),
    "sns-amp-json-resolved.json": ("amp_json", "resolved", 2),
    "sns-amp-json-truncated.json": ("amp_json", "firing", None),
    "sns-key-value-firing.json": ("key_value", "firing", 1),
    "sns-key-value-resolved.json": ("key_value", "resolved", 1),
    # The seed template on a group of different alerts: empty values, status and count from the Subject.
    "sns-key-value-mixed-group.json": ("key_value", "firing", 1),
    "sns-netguard-firing.json": ("json", "firing", 2),
    "sns-netguard-resolved.json": ("json", "resolved", 2),
    "sns-webhook-json-firing.json": ("json", "firing", 1),
}
BAD = {
    "sns-bad-empty.json": "empty message",
    "sns-bad-binary.json": "binary content",
    "sns-bad-html.json": "HTML",
    "sns-bad-cloudwatch-alarm.json": "CloudWatch alarm",
    "sns-bad-subscription-confirmation.json": "SubscriptionConfirmation",
}


def test_every_event_file_is_covered() -> None:
    """A new SNS sample in events/ needs an expectation here."""
    assert {p.name for p in EVENTS.glob("sns-*.json")} == set(EXPECTED) | set(BAD)


def _parse(path: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert main(["parse", str(path)]) == 0
    out: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_alert_events_print_their_alerts(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`netguard parse` prints one group with the alerts the event holds, in the documented shape."""
    fmt, status, count = EXPECTED[name]
    (group,) = _parse(EVENTS / name, capsys)
    assert (group["format"], group["status"]) == (fmt, status)
    alerts = group["alerts"]
    assert isinstance(alerts, list)
    if count is None:
        assert group["truncated"] is True
        assert len(alerts) > 100
    else:
        assert len(alerts) == count
        assert group["truncated"] is False
    for alert in alerts:
        assert set(alert) == {
            "status",
            "labels",
            "annotations",
            "starts_at",
            "ends_at",
            "fingerprint",
            "generator_url",
            "allowance",
            "ambiguous",
            "ambiguity",
        }
        # Every sample was published by a real Alertmanager from plain values: read without doubt.
        assert alert["ambiguous"] is False
        assert alert["ambiguity"] == ""
        # The mixed group's message names no labels at all, so its allowance is unknown.
        assert alert["allowance"] in ({"unknown"} if "mixed" in name else {"linklocal", "pps"})
        assert len(alert["fingerprint"]) == 16
        if alert["status"] == "firing":
            assert alert["ends_at"] is None


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_events_print_their_reason(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad input prints `{"unparseable": true, "reason": ...}`."""
    (result,) = _parse(EVENTS / name, capsys)
    assert result["unparseable"] is True
    assert BAD[name] in str(result["reason"])


def test_unreadable_file_fails_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file: non-zero exit, one line on stderr, nothing on stdout."""
    assert main(["parse", str(tmp_path / "missing.json")]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert "missing.json" in captured.err


def test_non_sns_event_fails_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An S3 event is no SNS event: non-zero exit and the reason."""
    path = tmp_path / "s3.json"
    path.write_text(json.dumps({"Records": [{"eventSource": "aws:s3", "s3": {}}]}))
    assert main(["parse", str(path)]) != 0
    err = capsys.readouterr().err
    assert "not an SNS record" in err
    assert len(err.strip().splitlines()) == 1


def test_raw_message_body_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file holding only what Alertmanager published is parsed as one message."""
    event = json.loads((EVENTS / "sns-default-firing.json").read_text())
    path = tmp_path / "body.txt"
    path.write_text(event["Records"][0]["Sns"]["Message"])
    (group,) = _parse(path, capsys)
    assert group["format"] == "alertmanager_text"
    assert len(group["alerts"]) == 2
