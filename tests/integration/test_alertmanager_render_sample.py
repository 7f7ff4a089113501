"""The Python re-implementations of the templates (tests/unit/alerts/render.py), which the property
tests rely on, render exactly what the real Alertmanager renders, for a random sample of awkward values."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from netguard.alerts import SnsMessage, Unparseable, parse_message
from netguard.alerts.times import parse_rfc3339
from tests.support.alertmanager import SnsCapture, StartAlertmanager
from tests.unit.alerts import render
from tests.unit.alerts.render import SpecAlert, SpecGroup

pytestmark = pytest.mark.integration

AMP = Path(__file__).resolve().parents[2] / "amp"
PIECES = [
    '"',
    "\\",
    "\n",
    "'",
    "é",
    "时",
    "✓",
    "{",
    "}",
    ",",
    ":",
    " ",
    "=",
    "\t",
    "😀",
    "a",
    "Z",
    "0",
    "\\n",
]
SUBJECT = "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}"


def _value(rng: random.Random, *, empty: bool = False) -> str:
    size = rng.randint(0 if empty else 1, 12)
    return "".join(rng.choice(PIECES) for _ in range(size))


def _sample(seed: int, groups: int = 6) -> list[SpecGroup]:
    rng = random.Random(seed)  # noqa: S311 -- reproducible test data, not secrets
    now = datetime.now(UTC)
    start = now.replace(microsecond=now.microsecond // 1000 * 1000)
    result = []
    for g in range(groups):
        extra = {f"l{k}": _value(rng) for k in range(rng.randint(0, 3))}
        alerts = [
            SpecAlert(
                status="firing",
                labels={"alertname": f"Sample{g}", "instance": f"10.0.0.{i}:9100", **extra},
                annotations={f"a{k}": _value(rng, empty=True) for k in range(rng.randint(0, 3))},
                starts_at=start,
                generator_url=f"http://prometheus.local/graph?g0.expr=sample{g}",
            )
            for i in range(rng.randint(1, 3))
        ]
        result.append(SpecGroup(alerts=alerts, receiver="sns"))
    return result


def _post_all(
    am_start: StartAlertmanager, capture: SnsCapture, groups: list[SpecGroup], **sns: str | dict[str, str]
) -> dict[str, SnsMessage]:
    templates = sns.pop("templates", {})
    assert isinstance(templates, dict)
    am = am_start(sns_extra={"subject": SUBJECT, **sns}, templates=templates)
    am.post_alerts(
        [
            {
                "labels": a.labels,
                "annotations": a.annotations,
                "startsAt": render.rfc3339(a.starts_at),
                "generatorURL": a.generator_url,
            }
            for g in groups
            for a in g.alerts
        ]
    )
    messages = capture.wait(len(groups))
    return {m.subject.split(" ", 1)[1]: m for m in messages}


@pytest.mark.parametrize("seed", [1, 2])
def test_default_text_renderer_matches_alertmanager(
    seed: int, start_sns_alertmanager: StartAlertmanager, sns_capture: SnsCapture
) -> None:
    """Byte for byte, and the intake reads both the same."""
    groups = _sample(seed)
    published = _post_all(start_sns_alertmanager, sns_capture, groups)
    for group in groups:
        message = published[group.alerts[0].labels["alertname"]]
        assert message.message == render.default_text(group)
        assert not isinstance(parse_message(message), Unparseable)


@pytest.mark.parametrize("seed", [3, 4])
def test_amp_json_renderer_matches_alertmanager(
    seed: int, start_sns_alertmanager: StartAlertmanager, sns_capture: SnsCapture
) -> None:
    """AMP's documented template, invalid JSON and Go times included, byte for byte."""
    groups = _sample(seed)
    templates = {"amp-json": (AMP / "examples" / "amp-json.tmpl").read_text()}
    published = _post_all(start_sns_alertmanager, sns_capture, groups, templates=templates)
    for group in groups:
        assert published[group.alerts[0].labels["alertname"]].message == render.amp_json(group)


@pytest.mark.parametrize("seed", [5, 6])
def test_netguard_template_is_the_json_the_renderer_makes(
    seed: int, start_sns_alertmanager: StartAlertmanager, sns_capture: SnsCapture
) -> None:
    """netguard.tmpl's output decodes to exactly the payload the renderer builds."""
    import json

    groups = _sample(seed)
    templates = {"netguard": (AMP / "netguard.tmpl").read_text()}
    published = _post_all(
        start_sns_alertmanager,
        sns_capture,
        groups,
        templates=templates,
        message='{{ template "netguard.json" . }}',
    )
    for group in groups:
        got = json.loads(published[group.alerts[0].labels["alertname"]].message)
        expected = render.payload(group)
        for payload in (got, expected):
            payload.pop("externalURL")
            for alert in payload["alerts"]:
                for key in ("startsAt", "endsAt"):
                    alert[key] = parse_rfc3339(alert[key])
        assert got["commonAnnotations"] == expected["commonAnnotations"], (got, expected)
        assert got == expected
