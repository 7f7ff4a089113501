"""The intake dispatcher: each format's quirks, and a clear result for every bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from netguard.alerts import AlertGroup, SnsMessage, SourceFormat, Status, Unparseable, ampjson, parse_message
from netguard.alerts import text as text_format
from netguard.alerts.fingerprint import fingerprint
from tests.unit.alerts import render
from tests.unit.alerts.render import SpecAlert, SpecGroup


def _group(outcome: list[AlertGroup] | Unparseable) -> AlertGroup:
    assert not isinstance(outcome, Unparseable), outcome.reason
    (group,) = outcome
    return group


LABELS = {
    "alertname": "LinkLocalAllowanceExceeded",
    "instance": "10.0.1.23:9100",
    "type": "linklocal_allowance_exceeded",
}


def _spec() -> SpecGroup:
    return SpecGroup(
        alerts=[
            SpecAlert("firing", dict(LABELS), {"summary": 'multi\nline "quoted" \\ value', "zz": ""}),
            SpecAlert(
                "resolved",
                {**LABELS, "instance": "10.0.2.7:9100"},
                {"summary": "second"},
                ends_at=datetime(2026, 11, 25, 20, 40, tzinfo=UTC),
            ),
        ]
    )


class TestDefaultText:
    def test_firing_and_resolved_blocks_in_one_message(self) -> None:
        """Both blocks are read; multi-line values and empty values survive."""
        group = _group(
            parse_message(SnsMessage(message=render.default_text(_spec()), subject="[FIRING:1] x"))
        )
        assert group.source_format is SourceFormat.DEFAULT_TEXT
        assert [a.status for a in group.alerts] == [Status.FIRING, Status.RESOLVED]
        assert group.alerts[0].annotations == {"summary": 'multi\nline "quoted" \\ value', "zz": ""}
        assert group.alerts[0].starts_at is None  # the text carries no times

    def test_group_labels_come_from_the_subject(self) -> None:
        """The subject's group values pick the group labels out of the common labels."""
        message = SnsMessage(
            message=render.default_text(_spec()),
            subject="[FIRING:1] LinkLocalAllowanceExceeded (linklocal_allowance_exceeded)",
        )
        group = _group(parse_message(message))
        assert group.group_labels == {"alertname": "LinkLocalAllowanceExceeded"}
        assert group.status is Status.FIRING

    def test_cut_message_keeps_complete_alerts(self) -> None:
        """Truncated inside the second alert: the first is kept, the group flagged."""
        text = render.default_text(_spec())
        cut = text[: text.index("10.0.2.7")]
        group = _group(parse_message(SnsMessage(message=cut, attributes={"truncated": "true"})))
        assert group.truncated
        assert len(group.alerts) == 1
        assert group.alerts[0].labels == LABELS

    def test_cut_without_the_attribute_is_flagged_and_explained(self) -> None:
        """A cut message that lacks the attribute is still kept, with a warning."""
        text = render.default_text(_spec())
        group = _group(parse_message(SnsMessage(message=text[: text.index("10.0.2.7")])))
        assert group.truncated
        assert any("not marked truncated" in w for w in group.warnings)


@example([" - b =x"])
@example([" - b = x"])
@example([" - b ="])
@example([" - b  = x"])
@example([" - a b = x"])
@example([" - 1b = x"])
@example([" - zz = v\r"])
@example([" - b = x = y"])
@example([" -  = x"])
@example([" - alertname = B"])
@given(
    st.lists(
        st.sampled_from([" - ", "a", "b_1", "=", " =", " = ", " ", "1", "é", "-", "\r", "x y"]), max_size=8
    )
)
def test_default_text_pair_reading_agrees_with_its_regex(pieces: list[str]) -> None:
    """A label line is read by partition as the `_PAIR` regex reads it, or is not a pair for either."""
    line = "".join(pieces)
    message = f"Alerts Firing:\nLabels:\n - alertname = A\n{line}\nAnnotations:\nSource: u\n\n"
    match = text_format._PAIR.fullmatch(line)
    group = _group(parse_message(SnsMessage(message=message)))
    labels = dict(group.alerts[0].labels)
    if match is not None and match.group("name") > "alertname":
        assert labels == {"alertname": "A", match.group("name"): match.group("value") or ""}
    else:
        assert labels == {"alertname": f"A\n{line}"}  # the next line of alertname's value


class TestAmpJson:
    def test_invalid_json_is_recovered_exactly(self) -> None:
        """Quotes, backslashes and newlines pasted raw into AMP's template come back unchanged."""
        text = render.amp_json(_spec())
        with pytest.raises(ValueError, match=r"Expecting|Invalid"):
            json.loads(text)
        group = _group(parse_message(SnsMessage(message=text)))
        assert group.source_format is SourceFormat.AMP_JSON
        assert group.alerts[0].annotations["summary"] == 'multi\nline "quoted" \\ value'
        assert group.alerts[0].ends_at is None  # Go's zero time
        assert group.alerts[1].ends_at is not None
        assert group.receiver == "netguard"
        assert any("not valid JSON" in w for w in group.warnings)

    def test_valid_looking_output_is_still_read_raw(self) -> None:
        """A value `\\"` makes valid JSON that decodes to `"`; the raw characters are the value."""
        spec = SpecGroup(alerts=[SpecAlert("firing", {"alertname": "A", "q": '\\"'})])
        text = render.amp_json(spec)
        json.loads(text)  # valid, but means something else
        group = _group(parse_message(SnsMessage(message=text)))
        assert group.alerts[0].labels["q"] == '\\"'

    def test_valid_json_is_read_through_json_loads_when_it_means_the_same(self) -> None:
        """Clean values (no quote, backslash or newline): the json.loads route gives exactly what the
        layout route gives, with no warning; anything the template would not write declines it."""
        spec = SpecGroup(alerts=_five().alerts, group_by=("alertname", "type"))
        for alert in spec.alerts:
            alert.annotations = {"summary": "clean value, with: punctuation {}"}
        text = render.amp_json(spec)
        fast = ampjson.from_json(json.loads(text), text, subject=None, truncated=False)
        assert fast is not None
        assert fast == ampjson.parse(text, subject=None, truncated=False, valid_json=True)
        assert fast.warnings == ()
        assert _group(parse_message(SnsMessage(message=text))) == fast
        for changed in (
            text.replace('"firing","alerts": [', '"firing", "alerts": ['),  # other spacing
            text.replace(', "type": "linklocal', ', "alertname": "x", "type": "linklocal', 1),  # twice
            text.replace('"instance": "10.0.0.0:9100", ', "", 1).replace(
                '"type": "linklocal_allowance_exceeded"}',
                '"type": "linklocal_allowance_exceeded", "instance": "10.0.0.0:9100"}',
                1,
            ),  # names out of order
            text.replace('"fingerprint": "', '"fingerprint": "X', 1),
            text.replace('"status": "firing"', '"status": "FIRING"', 1),
            text.replace("clean value", "clean\\\\ value", 1),  # a backslash, escaped as JSON
        ):
            data = json.loads(changed)
            assert ampjson.from_json(data, changed, subject=None, truncated=False) is None, changed[:300]

    def test_a_value_holding_the_pair_separator(self) -> None:
        """`", "b": "` inside a value is a value when `b` does not sort after the current name."""
        spec = SpecGroup(alerts=[SpecAlert("firing", {"alertname": "A", "z": 'x", "b": "y'})])
        group = _group(parse_message(SnsMessage(message=render.amp_json(spec))))
        assert group.alerts[0].labels == {"alertname": "A", "z": 'x", "b": "y'}


class TestJson:
    def test_webhook_shape_with_a_wrong_fingerprint(self) -> None:
        """A wrong first (or last) fingerprint fails the spot check: every alert's is computed, and the
        differing carried one becomes a warning."""
        for index in (0, -1):
            payload = render.payload(_spec())
            payload["alerts"][index]["fingerprint"] = "0123456789abcdef"
            group = _group(parse_message(SnsMessage(message=json.dumps(payload))))
            assert group.source_format is SourceFormat.JSON
            assert [a.fingerprint for a in group.alerts] == [fingerprint(a.labels) for a in group.alerts]
            assert any("0123456789abcdef" in w for w in group.warnings)

    def test_carried_fingerprints_are_used_and_missing_ones_computed(self) -> None:
        """With the first and last right, each well-formed carried fingerprint is taken as
        Alertmanager's (not re-hashed); missing or malformed ones are computed, a malformed one warned."""
        payload = render.payload(_five())
        payload["alerts"][1]["fingerprint"] = "00000000000000ab"  # taken as Alertmanager's value
        payload["alerts"][2]["fingerprint"] = "not-a-fingerprint"
        del payload["alerts"][3]["fingerprint"]
        group = _group(parse_message(SnsMessage(message=json.dumps(payload))))
        expected = [fingerprint(a.labels) for a in group.alerts]
        assert [a.fingerprint for a in group.alerts] == [expected[0], "00000000000000ab", *expected[2:]]
        assert [w for w in group.warnings if "fingerprint" in w] == [
            f"alert LinkLocalAllowanceExceeded: message carries fingerprint not-a-fingerprint, "
            f"labels give {expected[2]} (used)"
        ]

    def test_list_of_payloads(self) -> None:
        """A JSON list of payloads gives one group each."""
        payload = render.payload(_spec())
        outcome = parse_message(SnsMessage(message=json.dumps([payload, payload])))
        assert not isinstance(outcome, Unparseable)
        assert len(outcome) == 2

    def test_truncated_json_is_salvaged(self) -> None:
        """netguard's JSON cut inside the second alert keeps the first alert."""
        text = render.netguard_json(_spec())
        cut = text[: text.index("10.0.2.7")]
        group = _group(parse_message(SnsMessage(message=cut, attributes={"truncated": "true"})))
        assert group.truncated
        assert [a.labels["instance"] for a in group.alerts] == ["10.0.1.23:9100"]
        assert group.receiver == "netguard"

    def test_modified_attribute_alone_marks_truncation(self) -> None:
        """AMP's `modified` note about truncation counts as the flag."""
        text = render.netguard_json(_spec())
        attrs = {"modified": "Message: Error - Message has been truncated from 300 KB to 256 KB"}
        group = _group(parse_message(SnsMessage(message=text[: text.index("10.0.2.7")], attributes=attrs)))
        assert group.truncated
        assert not any("not marked truncated" in w for w in group.warnings)

    def test_go_times_in_valid_json_mean_amp_format(self) -> None:
        """AMP's template with harmless values is valid JSON; Go times identify it."""
        spec = SpecGroup(alerts=[SpecAlert("firing", {"alertname": "A"})])
        group = _group(parse_message(SnsMessage(message=render.amp_json(spec))))
        assert group.source_format is SourceFormat.AMP_JSON
        assert group.warnings == ()


class TestKeyValue:
    def test_seed_template_completed_from_the_subject(self) -> None:
        """alert_type/event_type lines, plus status, count and instance from the subject."""
        message = SnsMessage(
            message="alert_type: LinkLocalAllowanceExceeded\nevent_type: dns     \n",
            subject="[FIRING:3] LinkLocalAllowanceExceeded 10.0.1.23:9100 (dns)",
        )
        group = _group(parse_message(message))
        assert group.source_format is SourceFormat.KEY_VALUE
        (alert,) = group.alerts
        assert alert.labels == {
            "alertname": "LinkLocalAllowanceExceeded",
            "event_type": "dns",
            "instance": "10.0.1.23:9100",
        }
        assert alert.status is Status.FIRING
        assert any("counts 3 firing alerts" in w for w in group.warnings)

    def test_alert_name_from_the_subject_when_missing(self) -> None:
        """An empty alert_type (label missing) is completed from the subject."""
        message = SnsMessage(
            message="alert_type: \nevent_type: <no value>\n", subject="[RESOLVED] PPSAllowanceExceeded "
        )
        group = _group(parse_message(message))
        assert group.alerts[0].labels == {"alertname": "PPSAllowanceExceeded"}
        assert group.status is Status.RESOLVED

    @pytest.mark.parametrize(
        ("subject", "status", "count"),
        [
            ("[FIRING:5]  ", Status.FIRING, 5),
            ("[FIRING:5]  (prod)", Status.FIRING, 5),
            ("[RESOLVED]  ", Status.RESOLVED, None),
        ],
    )
    def test_all_values_empty_still_gives_status_and_count(
        self, subject: str, status: Status, count: int | None
    ) -> None:
        """The seed template on a group of mixed alerts (empty CommonLabels): the Subject still tells."""
        message = SnsMessage(message="alert_type: \nevent_type:      \n", subject=subject)
        group = _group(parse_message(message))
        assert (group.source_format, group.status, group.reported_count) == (
            SourceFormat.KEY_VALUE,
            status,
            count,
        )
        assert len(group.alerts) == 1
        assert any("share no alertname" in w for w in group.warnings)

    def test_all_values_empty_without_a_subject_is_unparseable(self) -> None:
        """Nothing in the message and no default Subject: reported, not guessed."""
        outcome = parse_message(SnsMessage(message="alert_type: \nevent_type: \n", subject="netguard"))
        assert isinstance(outcome, Unparseable)
        assert "names no alert" in outcome.reason

    def test_status_line_wins_over_the_subject(self) -> None:
        """A template that names the status is believed."""
        message = SnsMessage(
            message="alertname: A\nstatus: resolved\nsummary: done\n", subject="[FIRING:1] A"
        )
        group = _group(parse_message(message))
        assert group.alerts[0].status is Status.RESOLVED
        assert group.alerts[0].annotations == {"summary": "done"}


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (SnsMessage(message=""), "empty message"),
        (SnsMessage(message="  \n\t"), "empty message"),
        (SnsMessage(message="\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "binary content"),
        (SnsMessage(message="\ufffd\ufffd\ufffd\x01ab"), "binary content"),
        (SnsMessage(message="<html><body>502 Bad Gateway</body></html>"), "HTML"),
        (SnsMessage(message='{"AlarmName": "x", "NewStateValue": "ALARM"}'), "CloudWatch alarm"),
        (
            SnsMessage(message='{"Type": "SubscriptionConfirmation", "SubscribeURL": "https://x"}'),
            "SubscriptionConfirmation",
        ),
        (SnsMessage(message='{"Type": "UnsubscribeConfirmation"}'), "UnsubscribeConfirmation"),
        (SnsMessage(message='{"hello": "world"}'), "without an 'alerts' list (keys: hello)"),
        (SnsMessage(message="[1, 2]"), "JSON list without"),
        (SnsMessage(message="42"), "not a known Alertmanager message format"),
        (SnsMessage(message='{"receiver": broken'), "invalid JSON"),
        (SnsMessage(message="just some words"), "not a known Alertmanager message format"),
        (SnsMessage(message="Error: something failed"), "names no alert"),
        (SnsMessage(message="Alerts Firing:\nLabels:\nthis is not a pair\nmore\n"), "unexpected line"),
        (
            SnsMessage(
                message='{"receiver": "r","status": "firing","alerts": [{"status": "firing","labels": {"a'
            ),
            "AMP JSON",
        ),
        (
            SnsMessage(
                message='{"status": "firing", "alerts": [{"status": "firing", "startsAt": "yesterday"}]}'
            ),
            "not an RFC 3339 time",
        ),
        (SnsMessage(message='{"alerts": [{"status": "firing"}], "status": "weird"}'), ""),
    ],
)
def test_bad_inputs_give_a_clear_reason(message: SnsMessage, reason: str) -> None:
    """Every bad input is Unparseable with a reason naming what it is; nothing raises."""
    outcome = parse_message(message)
    if reason == "":  # tolerated: an odd group status falls back to the alerts' status
        assert not isinstance(outcome, Unparseable)
        return
    assert isinstance(outcome, Unparseable), outcome
    assert reason in outcome.reason
    assert outcome.message is message


def test_nested_sns_envelope_is_unwrapped_once() -> None:
    """A raw-delivered SNS notification whose Message is the alert payload is read through."""
    inner = render.netguard_json(_spec())
    envelope = json.dumps({"Type": "Notification", "TopicArn": "arn:x", "Message": inner, "Subject": "s"})
    group = _group(parse_message(SnsMessage(message=envelope)))
    assert len(group.alerts) == 2


def test_no_exception_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug inside a parser becomes an Unparseable naming it, not an exception."""
    from netguard.alerts import jsonmsg

    def boom(*_: object, **__: object) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(jsonmsg, "from_payload", boom)  # the intake calls it through the module
    outcome = parse_message(SnsMessage(message=render.netguard_json(_spec())))
    assert isinstance(outcome, Unparseable)
    assert "internal parser error (KeyError" in outcome.reason


def _five() -> SpecGroup:
    return SpecGroup(
        alerts=[
            SpecAlert("firing", {**LABELS, "instance": f"10.0.0.{i}:9100"}, {"summary": f'line\n"{i}"'})
            for i in range(5)
        ]
    )


@pytest.mark.parametrize(
    ("renderer", "end_of_alert"),
    [
        (render.amp_json, lambda text, fp: text.index(f'"fingerprint": "{fp}"}}') + len(fp) + 18),
        (render.netguard_json, lambda text, fp: text.index(f'"fingerprint":"{fp}"}}') + len(fp) + 17),
        (render.default_text, lambda text, fp: text.index("\n", text.index("Source: ", text.index(fp))) + 1),
    ],
)
def test_a_cut_right_after_an_alert_keeps_it(
    renderer: Callable[[SpecGroup], str], end_of_alert: Callable[[str, str], int]
) -> None:
    """Cut just after alert k (k = 1..4): exactly k alerts are kept, all intact."""
    spec = _five()
    text = renderer(spec)
    for k in range(1, 5):
        marker = (
            fingerprint(spec.alerts[k - 1].labels)
            if renderer is not render.default_text
            else (f"instance = 10.0.0.{k - 1}:9100")
        )
        cut = end_of_alert(text, marker)
        group = _group(parse_message(SnsMessage(message=text[:cut], attributes={"truncated": "true"})))
        assert group.truncated
        assert [a.labels["instance"] for a in group.alerts] == [f"10.0.0.{i}:9100" for i in range(k)]
        assert all(a.annotations == {"summary": f'line\n"{i}"'} for i, a in enumerate(group.alerts))
