"""Hypothesis strategies for SNS message bodies: random bytes, random text, Alertmanager-shaped JSON
payloads (any label values, wrong types of times and statuses), and payloads cut short."""

from __future__ import annotations

import json

from hypothesis import strategies as st

_label = st.text(st.characters(codec="utf-8"), min_size=0, max_size=20)
_alert = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["firing", "resolved", "unknown", ""]),
        "labels": st.dictionaries(st.sampled_from(["alertname", "instance", "type", "node", "x"]), _label),
        "annotations": st.dictionaries(_label, _label, max_size=3),
        "startsAt": st.one_of(st.just("2026-11-25T20:00:00Z"), _label),
        "endsAt": st.one_of(st.just("0001-01-01T00:00:00Z"), _label),
    },
    optional={"fingerprint": _label, "generatorURL": _label},
)
_payload = st.fixed_dictionaries(
    {"status": st.sampled_from(["firing", "resolved"]), "alerts": st.lists(_alert, max_size=4)},
    optional={"groupLabels": st.dictionaries(_label, _label, max_size=2), "version": st.just("4")},
).map(json.dumps)
messages = st.one_of(
    st.binary(max_size=300).map(lambda b: b.decode("utf-8", errors="replace")),
    st.text(max_size=300),
    _payload,
    _payload.map(lambda m: m[: len(m) // 2]),  # cut short, as AMP cuts at 256 KB
    # The seed document's `key: value` template, any values (empty ones included).
    st.builds(lambda a, b: f"alert_type: {a}\nevent_type: {b}\n", _label, _label),
)
