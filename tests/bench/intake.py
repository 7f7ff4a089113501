"""Parse time of one alert group per message format, beside `json.loads` of the same bytes.

Groups of 300 and 450 alerts with realistic labels (11 per alert) and annotations, rendered with the
test re-implementations of Alertmanager's templates. For formats that are valid JSON the baseline is
`json.loads` of the message itself (the parse includes one); for the default text and AMP's
unescaped JSON it is `json.loads` of the same group in netguard's JSON template. Times are the least
CPU time of ROUNDS runs (parse and baseline alternate), so neighbours on a shared machine count
little. `first` is the parse with an empty times cache (new alerts; the others find this message's
times cached, as repeated notifications of a group do). Prints numbers only:
`python -m tests.bench.intake`.

Hostile messages: every case of the adversarial corpus (tests/resilience/hostile.py) up to 256 KB,
beside a valid 256 KB storm in AMP's template; the slowest is the row "slowest hostile message".

Where the time goes: each 450-alert row's first parse is also profiled (cProfile) and its time split
by the code it runs in: json.loads, reading the format, times, fingerprints, building the `Alert`s and the
group, dispatch (format detection, subject). A C function (a regex, str.find) counts for the module
that calls it. For valid JSON the json.loads part is the one measured without the profiler and the
rest is split by the profile; cProfile adds a cost per Python call, so call-heavy stages read
somewhat high.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from netguard.alerts import SnsMessage, Unparseable, parse_message
from netguard.alerts.fingerprint import fingerprints
from netguard.alerts.times import parse_time
from tests.resilience import hostile
from tests.unit.alerts import render
from tests.unit.alerts.render import SpecAlert, SpecGroup

SIZES = (300, 450)
ROUNDS = 15
GOAL_RATIO = 5.0
SUBJECT = "[FIRING:360] LinkLocalAllowanceExceeded prod-eu-west-1 (eth0 ethtool-exporter monitoring"


def group(count: int, *, clean: bool = False) -> SpecGroup:
    """`clean`: no quote, backslash or newline in any value, so AMP's template gives valid JSON."""
    start = datetime(2026, 11, 25, 20, 36, 41, 124000, tzinfo=UTC)
    description = (
        "CoreDNS exceeds 1024 pps to the VPC resolver. Raise replicas or enable NodeLocal DNSCache."
        if clean
        else 'CoreDNS exceeds 1024 pps to the "VPC resolver".\nRaise replicas or enable\n'
        "NodeLocal DNSCache (C:\\runbook)."
    )
    alerts = [
        SpecAlert(
            status="firing" if i % 5 else "resolved",
            labels={
                "alertname": "LinkLocalAllowanceExceeded",
                "cluster": "prod-eu-west-1",
                "device": "eth0",
                "instance": f"10.0.{i // 250}.{i % 250}:9100",
                "job": "ethtool-exporter",
                "namespace": "monitoring",
                "node": f"ip-10-0-{i // 250}-{i % 250}.eu-west-1.compute.internal",
                "pod": f"ethtool-exporter-{i:05d}",
                "severity": "critical",
                "type": "linklocal_allowance_exceeded",
                "region": "eu-west-1",
            },
            annotations={
                "summary": f"Link-local packets dropped on ip-10-0-{i // 250}-{i % 250}",
                "description": description,
                "runbook_url": "https://runbooks.example.com/netguard/linklocal",
            },
            starts_at=start + timedelta(seconds=i),
            ends_at=start + timedelta(minutes=10) if i % 5 == 0 else None,
            generator_url="http://prometheus.local/graph?g0.expr=rate%28node_net_ethtool%5B1m%5D%29+%3E+0",
        )
        for i in range(count)
    ]
    return SpecGroup(alerts=alerts, group_by=("alertname", "cluster"))


def webhook_json(spec: SpecGroup) -> str:
    """Alertmanager's webhook payload (also what a `toJson` template sends)."""
    payload = render.payload(spec)
    payload.update(version="4", groupKey='{}:{alertname="LinkLocalAllowanceExceeded"}', truncatedAlerts=0)
    return json.dumps(payload)


# name, renderer, clean values, message is valid JSON (else the baseline is netguard's JSON of the group)
FORMATS: list[tuple[str, Callable[[SpecGroup], str], bool, bool]] = [
    ("netguard JSON", render.netguard_json, False, True),
    ("webhook JSON", webhook_json, False, True),
    ("AMP JSON (valid JSON)", render.amp_json, True, True),
    ("AMP JSON (unescaped)", render.amp_json, False, False),
    ("alertmanager text", render.default_text, False, False),
]


PROFILE_RUNS = 20
# The stage a profiled function belongs to, by where its code lives (first match wins).
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("json.loads", ("json/decoder.py", "json/__init__.py")),
    ("fingerprints", ("alerts/fingerprint.py",)),
    ("times", ("alerts/times.py",)),
    ("reading", ("alerts/jsonmsg.py", "alerts/ampjson.py", "alerts/text.py", "alerts/keyvalue.py")),
    # `<string>`: the dataclasses' generated __init__; enum: Status(...) lookups.
    ("building", ("alerts/assemble.py", "alerts/models.py", "alerts/allowance.py", "<string>", "enum.py")),
    ("dispatch", ("alerts/intake.py", "alerts/subject.py", "alerts/sns.py")),
)


def _stage(filename: str) -> str | None:
    return next((name for name, parts in STAGES if any(part in filename for part in parts)), None)


def _profiled_shares(parse: Callable[[], object]) -> dict[str, float]:
    """Fraction of the profiled parse per stage; a built-in counts for its callers' stages."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(PROFILE_RUNS):
        parse()
    profile.disable()
    stats: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    spent: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, own, _cumulative, callers) in stats.items():
        stage = _stage(filename)
        if stage is not None:
            spent[stage] = spent.get(stage, 0.0) + own
            continue
        # A built-in (filename "~"): split its time over its callers by how much each spent in it.
        total = sum(entry[2] for entry in callers.values()) or 1.0
        for (caller_file, _l, _n), entry in callers.items():
            name = _stage(caller_file) or "other"
            spent[name] = spent.get(name, 0.0) + own * entry[2] / total
    whole = sum(spent.values()) or 1.0
    return {name: value / whole for name, value in spent.items()}


def where_the_time_goes(
    parse: Callable[[], object], parse_ms: float, loads_ms: float | None
) -> dict[str, float]:
    """Milliseconds of `parse_ms` per stage. `loads_ms`: the json.loads the parse includes, measured
    without a profiler; the rest is split by the profiled shares of the other stages."""
    shares = _profiled_shares(parse)
    if loads_ms is None:
        spent = {name: parse_ms * share for name, share in shares.items()}
    else:
        rest = sum(share for name, share in shares.items() if name != "json.loads") or 1.0
        spent = {name: (parse_ms - loads_ms) * share / rest for name, share in shares.items()}
        spent["json.loads"] = loads_ms
    order = [name for name, _ in STAGES] + ["other"]
    return {name: round(spent[name], 2) for name in order if spent.get(name, 0.0) >= 0.005}


def _least_cpu(parse: Callable[[], object], baseline: Callable[[], object]) -> tuple[float, float]:
    best_parse = best_baseline = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        parse()
        best_parse = min(best_parse, time.process_time() - started)
        started = time.process_time()
        baseline()
        best_baseline = min(best_baseline, time.process_time() - started)
    return best_parse * 1000, best_baseline * 1000


def _parse_afresh(message: SnsMessage) -> object:
    """A parse as the first of its alerts: the times cache starts empty. The other parses find this
    message's times cached, as a warm container does for a group's repeated notifications."""
    parse_time.cache_clear()
    return parse_message(message)


def measure(
    name: str, message: SnsMessage, baseline_text: str, same_bytes: bool, *, profile: bool = False
) -> dict[str, Any]:
    outcome = parse_message(message)
    assert not isinstance(outcome, Unparseable), outcome.reason
    parse_ms, loads_ms = _least_cpu(lambda: parse_message(message), lambda: json.loads(baseline_text))
    first_ms, first_loads_ms = _least_cpu(lambda: _parse_afresh(message), lambda: json.loads(baseline_text))
    label_sets = [dict(alert.labels) for group in outcome for alert in group.alerts]
    # What hashing every alert costs; the parse hashes only alerts whose message carries no
    # fingerprint (the default text), plus two spot checks.
    fingerprint_ms, _ = _least_cpu(lambda: fingerprints(label_sets), lambda: None)
    row: dict[str, Any] = {
        "alerts": sum(len(g.alerts) for g in outcome),
        "message_kb": round(len(message.message.encode()) / 1024, 1),
        "parse_ms": round(parse_ms, 2),
        "json_loads_ms": round(loads_ms, 2),
        "baseline": "json.loads of the same bytes"
        if same_bytes
        else "json.loads of the group as netguard JSON",
        "ratio": round(parse_ms / loads_ms, 2),
        "parse_first_ms": round(first_ms, 2),
        "ratio_first": round(first_ms / first_loads_ms, 2),
        "fingerprint_every_alert_ms": round(fingerprint_ms, 2),
    }
    print(
        f"  {name:<24} {row['alerts']:>4} alerts {row['message_kb']:7.1f} KB  parse {parse_ms:7.2f} ms  "
        f"json.loads {loads_ms:6.2f} ms ({'same bytes' if same_bytes else 'netguard JSON'})  "
        f"= {row['ratio']:5.1f}x (first {row['ratio_first']:4.1f}x); "
        f"hashing every alert {fingerprint_ms:5.2f} ms"
    )
    if profile:
        stages = where_the_time_goes(
            lambda: _parse_afresh(message), first_ms, first_loads_ms if same_bytes else None
        )
        row["stages_ms"] = stages
        print(f"  {'':<24} first parse (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
    return row


HOSTILE_SIZE = 256 * 1024
HOSTILE_ROUNDS = 5
HOSTILE_GOAL = 5.0


def _least_cpu_of(message: SnsMessage, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        parse_message(message)
        best = min(best, time.process_time() - started)
    return best * 1000


def slowest_hostile() -> dict[str, Any]:
    """The adversarial corpus (tests/resilience/hostile.py) at up to 256 KB beside a valid 256 KB
    storm in AMP's template, least CPU time of HOSTILE_ROUNDS each, and where the slowest spends it."""
    storm = hostile.valid(HOSTILE_SIZE)
    cases = hostile.corpus(HOSTILE_SIZE)
    assert all(len(case.message.message) <= HOSTILE_SIZE for case in cases)
    baseline_ms = _least_cpu_of(storm, HOSTILE_ROUNDS)
    times = {case.name: _least_cpu_of(case.message, HOSTILE_ROUNDS) for case in cases}
    baseline_ms = min(baseline_ms, _least_cpu_of(storm, HOSTILE_ROUNDS))  # again, after the cases
    name = max(times, key=times.__getitem__)
    slowest = next(case for case in cases if case.name == name)
    row: dict[str, Any] = {
        "case": name,
        "what": slowest.what,
        "message_kb": round(len(slowest.message.message) / 1024, 1),
        "parse_ms": round(times[name], 2),
        "baseline": f"valid {len(storm.message) // 1024} KB storm in AMP's template",
        "baseline_ms": round(baseline_ms, 2),
        "ratio": round(times[name] / baseline_ms, 2),
        "goal_ratio": HOSTILE_GOAL,
        "cases_ms": {key: round(value, 2) for key, value in sorted(times.items())},
        "stages_ms": where_the_time_goes(lambda: _parse_afresh(slowest.message), times[name], None),
    }
    print(
        f"  slowest hostile message <= 256 KB: {name} ({row['message_kb']} KB) {times[name]:.1f} ms"
        f" vs valid storm {baseline_ms:.1f} ms = {row['ratio']:.2f}x (goal <= {HOSTILE_GOAL}x)"
    )
    print(
        "  " + ", ".join(f"{key} {value:.1f}" for key, value in sorted(times.items(), key=lambda kv: -kv[1]))
    )
    print("  slowest, first parse (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in row["stages_ms"].items()))
    return row


def main() -> dict[str, Any]:
    print(f"intake: least CPU time of {ROUNDS} rounds; goal <= {GOAL_RATIO}x json.loads for valid JSON")
    figures: dict[str, Any] = {"rounds": ROUNDS, "goal_ratio_valid_json": GOAL_RATIO}
    for size in SIZES:
        specs = {False: group(size), True: group(size, clean=True)}
        for name, renderer, clean, valid in FORMATS:
            text = renderer(specs[clean])
            if valid:
                json.loads(text)  # the premise of the row: these bytes are JSON
            baseline = text if valid else render.netguard_json(specs[clean])
            subject = SUBJECT if renderer is render.default_text else "[FIRING:360]"
            key = f"{name.lower().replace(' ', '_').replace('(', '').replace(')', '')}_{size}_alerts"
            figures[key] = measure(
                name, SnsMessage(message=text, subject=subject), baseline, valid, profile=size == SIZES[-1]
            )
    text = render.amp_json(group(450))
    cut = SnsMessage(message=text[: len(text) * 6 // 10], attributes={"truncated": "true"})
    figures["amp_json_cut_at_60_percent_450_alerts"] = measure(
        "AMP JSON cut at 60%", cut, render.netguard_json(group(450)), False
    )
    figures["slowest_hostile"] = slowest_hostile()
    return figures


if __name__ == "__main__":
    main()
