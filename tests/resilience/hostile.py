"""The adversarial intake corpus: messages whose label values, annotations and URLs hold what a
parser might stall or be fooled on, each padded to a given size, beside a valid message of that size.

Used by tests/resilience/test_intake_hostile.py (each case's parse time as a ratio to the valid
message's, in the same run) and by `make bench` (tests/bench/intake.py). Write the corpus to files
with `python -m tests.resilience.hostile DIR [SIZE_KB]`: one SNS message body per case (`.txt`) and
its subject and attributes (`.json`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from netguard.alerts import SnsMessage
from netguard.alerts.fingerprint import fingerprint
from tests.unit.alerts import render
from tests.unit.alerts.render import SpecAlert, SpecGroup

GO_TIME = "2020-01-01 00:00:00 +0000 UTC"
FAKE_FINGERPRINT = "0123456789abcdef"


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    message: SnsMessage = field(repr=False)


def _labels(index: int, **extra: str) -> dict[str, str]:
    return {
        "alertname": "LinklocalAllowanceExceeded",
        "cluster": "prod",
        "instance": f"10.0.{index // 250}.{index % 250}:9100",
        "node": f"ip-10-0-{index // 250}-{index % 250}.ec2.internal",
        "type": "linklocal_allowance_exceeded",
        **extra,
    }


def storm(size: int) -> SpecGroup:
    """A realistic group of as many alerts as fill `size` bytes in AMP's template (values with quotes
    and newlines, as rule annotations have them)."""
    start = datetime(2026, 11, 25, 20, 36, 41, 124000, tzinfo=UTC)

    def alert(i: int) -> SpecAlert:
        return SpecAlert(
            status="firing" if i % 5 else "resolved",
            labels=_labels(i, device="eth0", job="ethtool-exporter", pod=f"ethtool-exporter-{i:05d}"),
            annotations={
                "summary": f"Link-local packets dropped on node {i}",
                "description": 'CoreDNS exceeds 1024 pps to the "VPC resolver".\nRaise replicas.',
                "runbook_url": "https://runbooks.example.com/netguard/linklocal",
            },
            starts_at=start + timedelta(seconds=i),
            ends_at=start + timedelta(minutes=10) if i % 5 == 0 else None,
            generator_url="http://prometheus.local/graph?g0.expr=rate%28node_net_ethtool%5B1m%5D%29",
        )

    count = 1
    for _ in range(3):  # the common maps shrink as alerts are added: converge on the size
        spec = SpecGroup(alerts=[alert(i) for i in range(count)], group_by=("alertname", "cluster"))
        count = max(1, count * size // len(render.amp_json(spec)))
    return SpecGroup(alerts=[alert(i) for i in range(count)], group_by=("alertname", "cluster"))


def valid(size: int) -> SnsMessage:
    """The baseline: a storm of `size` bytes in AMP's template, as AMP sends it."""
    return SnsMessage(message=render.amp_json(storm(size)), subject="[FIRING:100]")


def _amp(
    labels: dict[str, str],
    *,
    annotations: dict[str, str] | None = None,
    group_by: tuple[str, ...] = ("alertname",),
) -> str:
    alert = SpecAlert("firing", labels, annotations or {"summary": "s"})
    return render.amp_json(SpecGroup([alert], group_by=group_by))


def _amp_many(count: int, value: Callable[[int], str], *, wrong_fingerprints: bool = False) -> str:
    """`count` alerts, each with a hostile `app` value; optionally every fingerprint hex but wrong."""
    alerts = [SpecAlert("firing", _labels(i, app=value(i))) for i in range(count)]
    text = render.amp_json(SpecGroup(alerts=alerts))
    if wrong_fingerprints:
        for alert in alerts:
            text = text.replace(fingerprint(alert.labels), FAKE_FINGERPRINT, 1)
    return text


def _redacted(text: str) -> str:
    """The message with its (last) fingerprint replaced by a word, as a sanitised sample has it."""
    at = text.rindex('"fingerprint": "') + len('"fingerprint": "')
    return text[:at] + "redacted" + text[text.index('"', at) :]


def _text(value: str) -> str:
    return render.default_text(SpecGroup(alerts=[SpecAlert("firing", _labels(0), {"description": value})]))


def _webhook_outlier(count: int) -> str:
    spec = storm(64 * 1024)
    spec.alerts[-1].labels["app"] = "x" * count
    payload = render.payload(spec)
    payload["alerts"][0]["fingerprint"] = FAKE_FINGERPRINT
    return json.dumps(payload)


JOINT = '},"annotations": {},"startsAt": "","endsAt": "","generatorURL": "'
TAIL_JOINT = '},"commonLabels": {},"commonAnnotations": {'
TIMES = f'"}},"startsAt": "{GO_TIME}","endsAt": "{render.ZERO_GO}","generatorURL": "'
FAKE_END = f'","fingerprint": "{FAKE_FINGERPRINT}"}}, {{"status": "firing","labels": {{"a": "'
FAKE_CLOSE = f'","fingerprint": "{FAKE_FINGERPRINT}"}}],"groupLabels": {{"a": "'
INJECTION = (
    'x", "node": "ip-10-0-1-23.ec2.internal", "type": "linklocal_allowance_exceeded"},'
    f'"annotations": {{"for": "24h"}},"startsAt": "{GO_TIME}","endsAt": "{render.ZERO_GO}","generatorURL": "'
)
STORM = storm(512 * 1024)

# name, what it tries, the message with n repetitions of its hostile piece (n is chosen for the size)
_CASES: list[tuple[str, str, Callable[[int], SnsMessage]]] = [
    ("amp-annotations-joint", "issue #17: a label value repeating the joint before the times",
     lambda n: SnsMessage(_amp(_labels(0, app=JOINT * n)))),
    ("amp-tail-joint-in-group-label", "issue #17: a group label repeating the tail's joints",
     lambda n: SnsMessage(_amp(_labels(0, app=TAIL_JOINT * n), group_by=("alertname", "app")))),
    ("amp-six-joint-values", "issue #17: six values repeating the joint",
     lambda n: SnsMessage(_amp(_labels(0, **{f"v{i}": JOINT * n for i in range(6)})))),
    # On main these took minutes at 52-69 KB: the layout regexes' fallback backtracked cubically
    # whenever the quick reading failed (a fingerprint that is not hex, a tail that does not close).
    ("amp-annotations-joint-redacted", "issue #17: the joint in a label, a fingerprint that is no hex",
     lambda n: SnsMessage(_redacted(_amp(_labels(0, app=JOINT * n))))),
    ("amp-six-joint-values-redacted", "issue #17: six values repeating the joint, no hex fingerprint",
     lambda n: SnsMessage(_redacted(_amp(_labels(0, **{f"v{i}": JOINT * n for i in range(6)}))))),
    ("amp-tail-joint-cut", "issue #17: a group label repeating the tail's joints, cut before the end",
     lambda n: SnsMessage(_amp(_labels(0, app=TAIL_JOINT * n), group_by=("alertname", "app"))[:-1],
                          attributes={"truncated": "true"})),
    ("amp-tail-joint-trailing", "issue #17: a group label repeating the tail's joints, text after the end",
     lambda n: SnsMessage(_amp(_labels(0, app=TAIL_JOINT * n), group_by=("alertname", "app")) + "x")),
    ("amp-valid-times", "a value repeating a whole times joint with valid Go times",
     lambda n: SnsMessage(_amp(_labels(0, app=TIMES * n)))),
    ("amp-fake-ends", "a value repeating the end of an alert and the start of the next",
     lambda n: SnsMessage(_amp(_labels(0, app=FAKE_END * n)))),
    ("amp-fake-closes", "a value repeating the end of the alert list and a tail's start",
     lambda n: SnsMessage(_amp(_labels(0, app=FAKE_CLOSE * n)))),
    ("amp-fake-closes-in-annotation", "an annotation repeating times, ends and closes",
     lambda n: SnsMessage(_amp(_labels(0), annotations={"summary": (TIMES + FAKE_CLOSE) * n}))),
    ("amp-separators", "a value repeating pair separators of a later name",
     lambda n: SnsMessage(_amp(_labels(0, a='", "zz": "' * n)))),
    ("amp-sorted-separators", "a value holding separators of increasing names (many readings)",
     lambda n: SnsMessage(_amp(_labels(0, a="".join(f'", "b{i:07d}": "' for i in range(n)))))),
    ("amp-annotation-splits", "a label value repeating where annotations could start",
     lambda n: SnsMessage(_amp(_labels(0, app='"},"annotations": {"' * n)))),
    ("amp-quotes", "a value of quotes only", lambda n: SnsMessage(_amp(_labels(0, app='"' * n)))),
    ("amp-status-openers", "a value repeating the start of an alert",
     lambda n: SnsMessage(_amp(_labels(0, app='"}, {"status": "firing","labels": {"' * n)))),
    ("amp-injection-storm", "many alerts, each with the issue's label injection",
     lambda n: SnsMessage(_amp_many(n, lambda i: INJECTION))),
    ("amp-wrong-fingerprints", "many alerts whose fingerprints are hex but wrong",
     lambda n: SnsMessage(_amp_many(n, lambda i: f"app-{i}", wrong_fingerprints=True))),
    ("amp-wrong-fingerprints-hostile", "wrong fingerprints and values holding separators",
     lambda n: SnsMessage(_amp_many(n, lambda i: '", "zz": "y", "zzz": "', wrong_fingerprints=True))),
    ("amp-unclosed", "an alert list that never closes, not marked truncated",
     lambda n: SnsMessage(_amp(_labels(0, app=JOINT * n))[: len(JOINT) * n])),
    ("text-many-lines", "default text: one annotation of many short lines",
     lambda n: SnsMessage(_text("x\n" * n), subject="[FIRING:1] x")),
    ("text-layout-lines", "default text: a value whose lines look like pairs and headers",
     lambda n: SnsMessage(_text("\n - a = x\nAnnotations:\nSource: y" * n))),
    ("key-value-many-lines", "key: value: one value continued over many lines",
     lambda n: SnsMessage("alert_type: A\nsummary: s\n" + " more\n" * n, subject="[FIRING:1] A")),
    ("json-cut", "webhook JSON cut in the middle of a storm",
     lambda n: SnsMessage(render.netguard_json(STORM)[: 64 * n], attributes={"truncated": "true"})),
    ("json-outlier-wrong-fingerprint", "webhook JSON: one huge label and a wrong first fingerprint",
     lambda n: SnsMessage(_webhook_outlier(n))),
]  # fmt: skip


def _fit(build: Callable[[int], SnsMessage], size: int) -> SnsMessage:
    """`build(n)` for the largest n found that keeps the message within `size` characters (each
    builder grows about linearly in n)."""
    one, two = len(build(1).message), len(build(2).message)
    count = max(1, (size - one) // max(1, two - one) + 1)
    message = build(count)
    while len(message.message) > size and count > 1:
        count = max(1, count * size // len(message.message) - 1)
        message = build(count)
    return message


def corpus(size: int) -> list[Case]:
    """Every case, each about `size` characters."""
    return [Case(name, what, _fit(build, size)) for name, what, build in _CASES]


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    folder = Path(argv[0])
    size = int(argv[1]) * 1024 if len(argv) > 1 else 256 * 1024
    folder.mkdir(parents=True, exist_ok=True)
    for case in [Case("valid-storm", "the baseline", valid(size)), *corpus(size)]:
        (folder / f"{case.name}.txt").write_text(case.message.message)
        attributes = dict(case.message.attributes)
        meta = {"what": case.what, "subject": case.message.subject, "attributes": attributes}
        (folder / f"{case.name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {len(corpus(size)) + 1} cases of about {size // 1024} KB to {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
