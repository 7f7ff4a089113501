"""Property tests over the AMP layout reader with hostile label values: every value may hold the
template's own punctuation, rendered exactly as AWS's documented template renders it (unescaped),
with the fingerprints Alertmanager computes. The reading of each alert is the one sent, or the alert
is marked ambiguous: never a different reading that looks sure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from netguard.alerts import Alert, AlertGroup, SnsMessage, Status, Unparseable, parse_message
from netguard.alerts.fingerprint import fingerprint
from tests.unit.alerts import render
from tests.unit.alerts.render import SpecAlert, SpecGroup

_GO_TIME = "2020-01-01 00:00:00 +0000 UTC"
# The template's own joints, whole fake alerts and tails, names that sort before and after the usual
# labels, a real-looking fingerprint: what a hostile value pastes to make another reading.
PUNCTUATION = st.sampled_from(
    [
        '", "',
        '": "',
        '", "node": "',
        '", "type": "',
        '", "a": "',
        '", "zz": "',
        '"}',
        '"},"annotations": {"',
        '"},"annotations": {"for": "24h',
        '"}' + f',"startsAt": "{_GO_TIME}","endsAt": "{render.ZERO_GO}","generatorURL": "',
        f',"startsAt": "{_GO_TIME}","endsAt": "{render.ZERO_GO}","generatorURL": "',
        '","fingerprint": "0123456789abcdef"}, {"status": "firing","labels": {"alertname": "',
        '","fingerprint": "0123456789abcdef"}]',
        '"}],"commonLabels": {"a": "',
        '"},"commonAnnotations": {"',
        '"}}',
        '"',
        "\\",
        "\n",
        "x",
        "linklocal_allowance_exceeded",
    ]
)
VALUES = st.lists(PUNCTUATION, min_size=1, max_size=6).map("".join)
# Annotations carry no fingerprint: a value holding a whole `", "<later name>": "` reads as two
# annotations as well as one, and the template leaves no trace of which (docs/intake.md, limits).
# Every other piece of punctuation may be in them.
ANNOTATION_VALUES = st.lists(PUNCTUATION.filter(lambda p: not p.startswith('", "')), max_size=6).map("".join)
# A generator URL is Prometheus's (percent-encoded), but a publisher may put anything there.
URL_TAILS = st.one_of(st.just(""), ANNOTATION_VALUES)
NAMES = st.sampled_from(["app", "b", "node", "pod", "type", "zz", "cluster", "instance"])


@st.composite
def hostile_groups(draw: st.DrawFn) -> SpecGroup:
    count = draw(st.integers(min_value=1, max_value=3))
    shared = draw(st.dictionaries(NAMES, VALUES, max_size=2))
    base = datetime(2026, 11, 25, 20, 36, 41, tzinfo=UTC)
    alerts = []
    for index in range(count):
        labels = {**shared, "alertname": "HighErrorRate", "instance": f"10.0.0.{index}:9100"}
        labels |= draw(st.dictionaries(NAMES.filter(lambda n: n != "instance"), VALUES, max_size=2))
        annotations = draw(
            st.dictionaries(st.sampled_from(["summary", "description"]), ANNOTATION_VALUES, max_size=2)
        )
        resolved = draw(st.booleans())
        start = base + timedelta(seconds=index)
        alerts.append(
            SpecAlert(
                status="resolved" if resolved else "firing",
                labels=labels,
                annotations=annotations,
                starts_at=start,
                ends_at=start + timedelta(minutes=5) if resolved else None,
                generator_url="http://prometheus.local/graph?g0.expr=up" + draw(URL_TAILS),
            )
        )
    return SpecGroup(alerts=alerts, group_by=draw(st.sampled_from([("alertname",), ("alertname", "app")])))


def _sent_as(alert: Alert, spec: SpecGroup) -> bool:
    return any(
        dict(alert.labels) == sent.labels
        and dict(alert.annotations) == sent.annotations
        and alert.status is Status(sent.status)
        and alert.starts_at == sent.starts_at
        and alert.ends_at == sent.ends_at
        and alert.generator_url == sent.generator_url
        and alert.fingerprint == fingerprint(sent.labels)
        for sent in spec.alerts
    )


@settings(max_examples=400, deadline=None)
@given(hostile_groups())
def test_every_reading_is_the_one_sent_or_marked_ambiguous(spec: SpecGroup) -> None:
    """Hostile label and annotation values: an alert read without doubt is exactly one that was
    sent (labels, annotations, status, times, URL, fingerprint); every other alert says why not."""
    outcome = parse_message(SnsMessage(message=render.amp_json(spec), subject="[FIRING:1]"))
    assert not isinstance(outcome, Unparseable), outcome.reason
    (group,) = outcome
    assert isinstance(group, AlertGroup)
    assert group.alerts
    for alert in group.alerts:
        assert alert.ambiguous or _sent_as(alert, spec), (alert, spec)
    sure = [a for a in group.alerts if not a.ambiguous]
    assert len({a.fingerprint for a in sure}) == len(sure)


@settings(max_examples=200, deadline=None)
@given(hostile_groups())
def test_labels_that_reproduce_the_fingerprint_win(spec: SpecGroup) -> None:
    """Hostile label values only (plain annotations): every alert sent comes back with its own labels,
    chosen by the fingerprint Alertmanager carried."""
    for sent in spec.alerts:
        sent.annotations = {"summary": "plain"}
    outcome = parse_message(SnsMessage(message=render.amp_json(spec), subject="[FIRING:1]"))
    assert not isinstance(outcome, Unparseable), outcome.reason
    (group,) = outcome
    for alert in group.alerts:
        assert alert.ambiguous or _sent_as(alert, spec), (alert, spec)
