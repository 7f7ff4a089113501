"""Alert storms through the notifiers: the pure core (digest, Block Kit, Events API payload sizes and
times), then notify_slack and notify_pagerduty as Lambda runs them (a fresh interpreter each) against
a moto server (state table, secrets) and the strict local Slack and PagerDuty receivers.

Prints numbers only: `python -m tests.bench.notify_storm`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from netguard.notify import digest_event, digest_to_dict, merge
from netguard.notify.models import Links
from netguard.notify.pagerduty import trigger_event
from netguard.notify.slack.blocks import alert_message
from netguard_cli.localstack.processes import free_port
from tests.bench import _harness
from tests.support import builders
from tests.support.receivers import CHANNEL, ROUTING_KEY, SLACK_TOKEN, PagerDutyReceiver, SlackReceiver

REGION = "us-east-1"
WITHOUT_LEGACY_READS = "_without_legacy_reads"


def core() -> dict[str, Any]:
    print(
        f"{'alerts':>7} {'digest ms':>10} {'merge4 ms':>10} {'slack ms':>9} {'blocks':>6} "
        f"{'slack B':>8} {'pd B':>7} {'state B':>8}"
    )
    figures: dict[str, Any] = {}
    for count in (1, 100, 1000, 10_000):
        event = builders.storm(count, nodes=max(1, count // 3))
        started = time.perf_counter()
        digest = digest_event(event)
        digest_ms = (time.perf_counter() - started) * 1000
        parts = builders.split(event, 4) if count >= 4 else [event]
        started = time.perf_counter()
        merge(digest_event(p) for p in parts)
        merge_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        message = alert_message(digest, Links(graph="https://g", runbook="https://r", silence="https://s"))
        slack_ms = (time.perf_counter() - started) * 1000
        trigger = trigger_event(digest, key=event.group_id, severity="critical", source="n", links=Links())
        blocks = len(message["attachments"][0]["blocks"])
        print(
            f"{count:>7} {digest_ms:>10.1f} {merge_ms:>10.1f} {slack_ms:>9.2f} {blocks:>6} "
            f"{len(json.dumps(message)):>8} {len(json.dumps(trigger)):>7} "
            f"{len(json.dumps(digest_to_dict(digest))):>8}"
        )
        figures[f"digest_{count}_alerts_ms"] = round(digest_ms, 2)
        figures[f"slack_message_{count}_alerts_bytes"] = len(json.dumps(message))
        figures[f"slack_message_{count}_alerts_blocks"] = blocks
        figures[f"pagerduty_event_{count}_alerts_bytes"] = len(json.dumps(trigger))
    return figures


def _event(name: str, count: int) -> dict[str, Any]:
    cluster = f"bench-{name}-{uuid.uuid4().hex[:6]}"  # a new group each time: a first post, not an edit
    group = (
        builders.alert_group(event_id=f"{uuid.uuid4()}#1", cluster=cluster)
        if count == 1
        else builders.storm(count, event_id=f"{uuid.uuid4()}#1", cluster=cluster)
    )
    return builders.sns_event(group)


def functions() -> dict[str, Any]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    slack, pagerduty = SlackReceiver(), PagerDutyReceiver()
    try:
        url = f"http://127.0.0.1:{port}"
        session = boto3.session.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
        )
        dynamodb = session.client("dynamodb", endpoint_url=url)
        _harness.create_state_table(dynamodb, "netguard-state")
        secrets = session.client("secretsmanager", endpoint_url=url)
        bot = secrets.create_secret(
            Name="netguard/slack-bot", SecretString=json.dumps({"token": SLACK_TOKEN})
        )
        pd = secrets.create_secret(
            Name="netguard/pagerduty", SecretString=json.dumps({"routing_key": ROUTING_KEY})
        )
        env = _harness.aws_env(
            url,
            REGION,
            STATE_TABLE="netguard-state",
            SLACK_SECRET_ARN=bot["ARN"],
            SLACK_MODE="bot",
            SLACK_CHANNEL=CHANNEL,
            SLACK_API_URL=slack.api_url,
            PAGERDUTY_SECRET_ARN=pd["ARN"],
            PAGERDUTY_EVENTS_URL=pagerduty.url,
            ALERTMANAGER_URL="http://alertmanager.example.com:9093",
        )
        hosts = {_hostport(slack.api_url): "slack", _hostport(pagerduty.url): "pagerduty"}
        figures: dict[str, Any] = {}
        for function in ("notify_slack", "notify_pagerduty"):
            result = _harness.function_figures(function, _event, env, hosts)
            _harness.print_function(function, result)
            figures[function] = result
            # The baseline of what reading the previous key scheme costs (state/owned.py): the same
            # runs once LegacyStateReads is off, as a stack installed fresh or past the TTL runs.
            steady = _harness.function_figures(
                function, _event, {**env, "LEGACY_STATE_READS": "false"}, hosts
            )
            _harness.print_function(f"{function} (LEGACY_STATE_READS=false)", steady)
            figures[f"{function}{WITHOUT_LEGACY_READS}"] = steady
        return figures
    finally:
        slack.stop()
        pagerduty.stop()
        moto.stop()


def _hostport(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0]


def main() -> dict[str, Any]:
    return {"core": core(), "functions": functions()}


if __name__ == "__main__":
    main()
