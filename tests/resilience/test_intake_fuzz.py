"""The intake's contract under fuzzing: any message body and subject gives alert groups or an
`Unparseable` with a reason; no exception escapes `parse_message`."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netguard.alerts import AlertGroup, SnsMessage, Unparseable, parse_message
from tests.resilience.strategies import messages


@settings(max_examples=300, deadline=None)
@given(
    body=messages,
    subject=st.one_of(st.just("[FIRING:3] A 10.0.0.1:9100"), st.text(max_size=120)),
    truncated=st.booleans(),
)
def test_parse_never_raises_and_always_says_why(body: str, subject: str, truncated: bool) -> None:
    attributes = {"truncated": "true"} if truncated else {}
    outcome = parse_message(SnsMessage(message=body, subject=subject, attributes=attributes))
    if isinstance(outcome, Unparseable):
        assert outcome.reason.strip()
        assert outcome.message.message == body  # kept whole, for the raw archive
    else:
        assert outcome
        assert all(isinstance(group, AlertGroup) for group in outcome)
