"""The demo's Slack and PagerDuty stand-ins answer like the real APIs and never echo secrets."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from netguard_cli.localstack.receivers import PagerDutyReceiver, Received, SlackReceiver


def _post(
    url: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def seen() -> list[Received]:
    return []


@pytest.fixture
def slack(seen: list[Received]) -> Iterator[SlackReceiver]:
    receiver = SlackReceiver(seen.append)
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def pagerduty(seen: list[Received]) -> Iterator[PagerDutyReceiver]:
    receiver = PagerDutyReceiver(seen.append)
    receiver.start()
    yield receiver
    receiver.stop()


class TestSlack:
    def test_post_update_reply(self, slack: SlackReceiver, seen: list[Received]) -> None:
        """postMessage returns channel and ts; update edits that ts; a thread_ts post is a reply."""
        auth = {"Authorization": "Bearer xoxb-secret"}
        status, posted = _post(
            f"{slack.url}/api/chat.postMessage", {"channel": "C1", "text": "FIRING: x"}, auth
        )
        assert (status, posted["ok"], posted["channel"]) == (200, True, "C1")
        _, updated = _post(
            f"{slack.url}/api/chat.update", {"channel": "C1", "ts": posted["ts"], "text": "RESOLVED"}
        )
        assert updated["ok"] is True
        assert slack.messages[posted["ts"]]["text"] == "RESOLVED"
        _post(
            f"{slack.url}/api/chat.postMessage", {"channel": "C1", "thread_ts": posted["ts"], "text": "done"}
        )
        assert [r.kind for r in seen] == ["post", "update", "reply"]
        assert all("xoxb-secret" not in r.summary for r in seen)

    def test_update_of_unknown_message(self, slack: SlackReceiver) -> None:
        """Editing a message that does not exist answers Slack's `message_not_found`."""
        _, answer = _post(f"{slack.url}/api/chat.update", {"channel": "C1", "ts": "1.2", "text": "x"})
        assert answer == {"ok": False, "error": "message_not_found"}

    def test_wait_for(self, slack: SlackReceiver) -> None:
        """wait_for returns nothing after its timeout, the requests once they arrived."""
        assert slack.wait_for("post", timeout=0.1) == []
        _post(f"{slack.url}/api/chat.postMessage", {"channel": "C1", "text": "x"})
        assert len(slack.wait_for("post", timeout=1)) == 1


class TestPagerDuty:
    def test_trigger_resolve_change(self, pagerduty: PagerDutyReceiver, seen: list[Received]) -> None:
        """Events v2 answers 202 with the dedup key; the summary never holds the routing key."""
        trigger = {
            "routing_key": "R0SECRETKEY",
            "event_action": "trigger",
            "dedup_key": "k1",
            "payload": {"summary": "drops", "source": "node-1", "severity": "critical"},
        }
        status, answer = _post(f"{pagerduty.url}/v2/enqueue", trigger)
        assert (status, answer["dedup_key"]) == (202, "k1")
        _post(
            f"{pagerduty.url}/v2/enqueue",
            {"routing_key": "R0SECRETKEY", "event_action": "resolve", "dedup_key": "k1"},
        )
        status, _ = _post(
            f"{pagerduty.url}/v2/change/enqueue",
            {"routing_key": "R0SECRETKEY", "payload": {"summary": "scaled"}},
        )
        assert status == 202
        assert [r.kind for r in seen] == ["trigger", "resolve", "change"]
        assert all("R0SECRETKEY" not in r.summary for r in seen)

    @pytest.mark.parametrize(
        "body", [{"event_action": "trigger"}, {"routing_key": "R", "event_action": "page"}]
    )
    def test_invalid_event(self, pagerduty: PagerDutyReceiver, body: dict[str, Any]) -> None:
        """No routing key, or an unknown action, is rejected with 400 as PagerDuty does."""
        status, _ = _post(f"{pagerduty.url}/v2/enqueue", body)
        assert status == 400
        assert pagerduty.received == []
