"""Property tests: any label and annotation values, rendered as Alertmanager renders each format,
come back through the intake unchanged wherever the format can carry them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from netguard.alerts import (
    AlertGroup,
    SnsMessage,
    SourceFormat,
    Status,
    Unparseable,
    ampjson,
    parse_message,
    parse_subject,
)
from netguard.alerts.fingerprint import fingerprint
from tests.unit.alerts import render
from tests.unit.alerts.render import SpecAlert, SpecGroup

TRICKY = st.sampled_from(
    ['"', "\\", "\n", "'", "é", "时", "✓", "{", "}", ",", ":", " ", "=", "-", "\t", "😀"]
)
# Everything but NUL and surrogates; the raw formats below narrow it further.
ANY_CHAR = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
RAW_CHAR = st.characters(exclude_categories=("Cs", "Cc"), include_characters="\n\t")


def values(
    chars: st.SearchStrategy[str], *, min_size: int = 0, tricky: bool = True
) -> st.SearchStrategy[str]:
    pieces = st.one_of(TRICKY, chars) if tricky else chars
    return st.lists(pieces, min_size=min_size, max_size=24).map("".join)


NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True).filter(lambda n: n != "alertname")


@st.composite
def groups(draw: st.DrawFn, chars: st.SearchStrategy[str], *, tricky: bool = True) -> SpecGroup:
    count = draw(st.integers(min_value=1, max_value=4))
    alertname = draw(values(chars, min_size=1, tricky=tricky))
    shared = draw(st.dictionaries(NAMES, values(chars, min_size=1, tricky=tricky), max_size=3))
    base = datetime(2026, 11, 25, 20, 36, 41, tzinfo=UTC)
    alerts = []
    for index in range(count):
        labels = {**shared, "alertname": alertname, "instance": f"10.0.0.{index}:9100"}
        labels |= draw(st.dictionaries(NAMES, values(chars, min_size=1, tricky=tricky), max_size=3))
        annotations = draw(st.dictionaries(NAMES, values(chars, tricky=tricky), max_size=3))
        resolved = draw(st.booleans())
        start = base + timedelta(microseconds=draw(st.integers(0, 10**9)))
        alerts.append(
            SpecAlert(
                status="resolved" if resolved else "firing",
                labels=labels,
                annotations=annotations,
                starts_at=start,
                ends_at=start + timedelta(minutes=5) if resolved else None,
            )
        )
    return SpecGroup(alerts=alerts)


def _group(outcome: list[AlertGroup] | Unparseable) -> AlertGroup:
    assert not isinstance(outcome, Unparseable), outcome.reason
    (group,) = outcome
    return group


def _assert_same(group: AlertGroup, spec: SpecGroup, *, times: bool) -> None:
    assert group.status is Status(spec.status)
    assert len(group.alerts) == len(spec.alerts)
    by_instance = {a.labels.get("instance"): a for a in group.alerts}
    for sent in spec.alerts:
        got = by_instance[sent.labels["instance"]]
        assert dict(got.labels) == sent.labels
        assert dict(got.annotations) == sent.annotations
        assert got.status is Status(sent.status)
        assert got.fingerprint == fingerprint(sent.labels)
        assert got.generator_url == sent.generator_url
        if times:
            assert got.starts_at == sent.starts_at
            assert got.ends_at == sent.ends_at


# Where the default text cannot tell a value's next line from the layout (documented in docs/intake.md).
_TEXT_LAYOUT = re.compile(r"\n(?: - [a-zA-Z_]\w* =|Annotations:|Labels:|Source:|Alerts (?:Firing|Resolved):)")


def _text_can_carry(spec: SpecGroup) -> bool:
    for alert in spec.alerts:
        for value in [*alert.labels.values(), *alert.annotations.values()]:
            if _TEXT_LAYOUT.search(value):
                return False
    return True


@settings(max_examples=100, deadline=None)
@given(groups(RAW_CHAR))
def test_default_text_round_trip(spec: SpecGroup) -> None:
    """Alertmanager's default text gives back labels, annotations and statuses (it carries no times)."""
    assume(_text_can_carry(spec))
    message = SnsMessage(message=render.default_text(spec), subject="[FIRING:1] x")
    group = _group(parse_message(message))
    assert group.source_format is SourceFormat.DEFAULT_TEXT
    group = AlertGroup(**{**group.__dict__, "status": Status(spec.status)})
    _assert_same(group, spec, times=False)


# Where AMP's unescaped JSON cannot tell a value from the layout that follows it.
_AMP_LAYOUT = re.compile(r'", "[a-zA-Z_]\w*": "|"\},"|","|"\}, \{|"\}\]')


def _amp_can_carry(spec: SpecGroup) -> bool:
    return not any(
        _AMP_LAYOUT.search(value + '"')
        for alert in spec.alerts
        for value in [*alert.labels.values(), *alert.annotations.values()]
    )


@settings(max_examples=100, deadline=None)
@given(groups(RAW_CHAR))
def test_amp_json_round_trip(spec: SpecGroup) -> None:
    """AMP's JSON template, invalid JSON included, gives back every value and time exactly."""
    assume(_amp_can_carry(spec))
    group = _group(parse_message(SnsMessage(message=render.amp_json(spec), subject="[FIRING:1]")))
    assert group.source_format is SourceFormat.AMP_JSON
    assert group.receiver == spec.receiver
    assert dict(group.common_labels) == spec.common_labels
    assert dict(group.common_annotations) == spec.common_annotations
    _assert_same(group, spec, times=True)


# Printable characters and the ones JSON would read differently from AMP's layout: a quote, a
# backslash and the `", "` of a pair separator.
_JSON_PIECES = st.one_of(
    st.characters(exclude_categories=("Cs", "Cc")), st.sampled_from(['"', "\\", '", "', '", "b": "'])
)


@settings(max_examples=150, deadline=None)
@given(groups(_JSON_PIECES, tricky=False))
def test_amp_json_read_through_json_loads_only_when_it_means_the_same(spec: SpecGroup) -> None:
    """AMP's template output that happens to be valid JSON: the json.loads route gives what the
    layout route gives, or declines."""
    text = render.amp_json(spec)
    try:
        data = json.loads(text)
    except ValueError:
        return  # not this property's case: only the layout can read it
    fast = ampjson.from_json(data, text, subject=None, truncated=False)
    if fast is not None:
        assert fast == ampjson.parse(text, subject=None, truncated=False, valid_json=True)


@settings(max_examples=100, deadline=None)
@given(groups(ANY_CHAR))
def test_netguard_json_round_trip(spec: SpecGroup) -> None:
    """netguard's own template is valid JSON for any value: everything comes back."""
    group = _group(parse_message(SnsMessage(message=render.netguard_json(spec))))
    assert group.source_format is SourceFormat.JSON
    assert dict(group.group_labels) == spec.group_labels
    _assert_same(group, spec, times=True)


_KV_VALUE = (
    st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=30)
    .map(str.strip)
    .filter(lambda v: v and v != "<no value>")
)


@settings(max_examples=100, deadline=None)
@given(
    alertname=_KV_VALUE.filter(lambda v: " " not in v),
    event_type=_KV_VALUE,
    octet=st.integers(0, 255),
    firing=st.booleans(),
)
def test_key_value_round_trip(alertname: str, event_type: str, octet: int, firing: bool) -> None:
    """The seed template's two lines plus the default subject give back alertname, event_type, instance."""
    labels = {"alertname": alertname, "event_type": event_type, "instance": f"10.1.2.{octet}:9100"}
    spec = SpecGroup(
        alerts=[SpecAlert(status="firing" if firing else "resolved", labels=labels)],
        group_by=("alertname", "instance"),
    )
    subject = render.default_subject(spec)
    assume(len(subject) < 100)
    group = _group(parse_message(SnsMessage(message=render.key_value(spec), subject=subject)))
    assert group.source_format is SourceFormat.KEY_VALUE
    (alert,) = group.alerts
    assert dict(alert.labels) == labels
    assert alert.status is Status(spec.status)
    assert alert.fingerprint == fingerprint(labels)


@settings(max_examples=100, deadline=None)
@given(groups(RAW_CHAR), st.data())
def test_truncated_messages_keep_only_intact_alerts(spec: SpecGroup, data: st.DataObject) -> None:
    """Cut anywhere, each format keeps only intact alerts (that complete ones stay: test_intake.py)."""
    assume(_amp_can_carry(spec) and _text_can_carry(spec))
    for text in (render.amp_json(spec), render.netguard_json(spec), render.default_text(spec)):
        cut = data.draw(st.integers(min_value=1, max_value=len(text) - 1))
        outcome = parse_message(SnsMessage(message=text[:cut], attributes={"truncated": "true"}))
        if isinstance(outcome, Unparseable):
            assert outcome.reason == "empty message" or "cut before" in outcome.reason, outcome.reason
            continue
        (group,) = outcome
        assert group.truncated
        sent_by_fp = {fingerprint(a.labels): a for a in spec.alerts}
        for alert in group.alerts:
            sent = sent_by_fp[alert.fingerprint]
            assert dict(alert.labels) == sent.labels
            assert dict(alert.annotations) == sent.annotations


_WORD = st.characters(exclude_categories=("Cs", "Cc", "Z"), exclude_characters="()")


@settings(max_examples=200, deadline=None)
@given(groups(_WORD, tricky=False))
def test_default_subject_round_trip(spec: SpecGroup) -> None:
    """Status, firing count and label values come back from the default subject, cut or not."""
    subject = render.default_subject(spec)
    info = parse_subject(subject[:100])
    assert info.status is Status(spec.status)
    firing = sum(a.status == "firing" for a in spec.alerts)
    assert info.firing_count == (firing if spec.status == "firing" else None)
    expected = [v for _, v in sorted(spec.group_labels.items())]
    expected += [v for k, v in sorted(spec.common_labels.items()) if k not in spec.group_labels]
    if len(subject) < 100:
        assert not info.cut
        assert list(info.values) == expected
    else:
        assert info.cut
        assert " ".join(info.values) == " ".join(expected)[: len(" ".join(info.values))]
