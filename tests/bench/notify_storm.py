"""Alert storms through the notifiers' pure core: digest, Block Kit and Events API payload sizes and times.

Prints numbers only: `python -m tests.bench.notify_storm`.
"""

from __future__ import annotations

import json
import time

from netguard.notify import digest_event, digest_to_dict, merge
from netguard.notify.models import Links
from netguard.notify.pagerduty import trigger_event
from netguard.notify.slack.blocks import alert_message
from tests.support import builders


def main() -> None:
    print(
        f"{'alerts':>7} {'digest ms':>10} {'merge4 ms':>10} {'slack ms':>9} {'blocks':>6} "
        f"{'slack B':>8} {'pd B':>7} {'state B':>8}"
    )
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
        print(
            f"{count:>7} {digest_ms:>10.1f} {merge_ms:>10.1f} {slack_ms:>9.2f} "
            f"{len(message['attachments'][0]['blocks']):>6} {len(json.dumps(message)):>8} "
            f"{len(json.dumps(trigger)):>7} {len(json.dumps(digest_to_dict(digest))):>8}"
        )


if __name__ == "__main__":
    main()
