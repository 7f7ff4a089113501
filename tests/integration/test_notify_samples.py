"""The `events/enriched-*.json` samples run through both notify functions, as `netguard invoke` would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from netguard.enriched import event_from_json
from netguard_cli.commands.invoke import invoke
from tests.support.builders import enriched_samples
from tests.support.receivers import NotifyEnv

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parents[2] / "events"
ORDER = [
    "enriched-firing",
    "enriched-part-1-of-2",
    "enriched-part-2-of-2",
    "enriched-remediation",
    "enriched-resolved",
    "enriched-unparseable",
]


def _load(name: str) -> dict[str, Any]:
    sample: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return sample


def test_samples_are_current() -> None:
    """The checked-in samples are what the builders produce (regenerate: python -m tests.support.builders)."""
    assert sorted(ORDER) == sorted(enriched_samples())
    for name in ORDER:
        sample = _load(name)
        assert sample == enriched_samples()[name], name
        for record in sample["Records"]:
            event_from_json(record["Sns"]["Message"])


def test_samples_through_both_functions(notify_env: NotifyEnv) -> None:
    """Every sample is delivered (PagerDuty skips the unparseable one by default)."""
    for name in ORDER:
        for function in ("notify_slack", "notify_pagerduty"):
            result = invoke(function, _load(name))
            assert result["results"][0]["status"] == "delivered", (name, function)
    assert len(notify_env.slack.posts()) == 3  # firing, storm (part 2 edits part 1), unparseable
    assert len(notify_env.slack.to("chat.update")) == 2  # storm part 2, resolve
    assert len(notify_env.slack.thread_replies()) == 2  # remediation, resolve
    assert [e["event_action"] for e in notify_env.pagerduty.events()] == ["trigger", "trigger", "resolve"]
    assert len(notify_env.pagerduty.to("change")) == 1
