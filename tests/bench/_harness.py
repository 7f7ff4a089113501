"""What the benchmark modules share: timing, machine facts, and running a handler in its own process.

`invoke_in_process` writes a plan for tests/bench/_invoke.py, runs it in a fresh interpreter with the
given environment and returns its report; `function_figures` turns two such runs (1 alert, then 1
and 1000 alerts) into the figures bench.json keeps per function.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python_version": platform.python_version(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def create_state_table(dynamodb: Any, name: str) -> str:
    """netguard's single table (pk, sk), on demand, as template.yaml declares it."""
    keys = (("pk", "HASH"), ("sk", "RANGE"))
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": key, "KeyType": kind} for key, kind in keys],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key, _ in keys],
    )
    return name


def cpu_ms(action: Callable[[], object], rounds: int) -> float:
    """Least CPU time of `rounds` runs, in ms: the machine is shared, so wall time mostly measures the
    neighbours; the least CPU time is what the code itself needs."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        action()
        best = min(best, time.process_time() - started)
    return best * 1000


def median(values: list[float]) -> float:
    return statistics.median(values)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without AWS endpoints or credentials, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NETGUARD_", "POWERTOOLS_"))}
    env.pop("KUBECONFIG", None)
    env.update(extra)
    return env


def aws_env(endpoint: str, region: str, **extra: str) -> dict[str, str]:
    """`clean_env` pointing boto3 at a moto server, with Powertools' metrics namespace set."""
    return clean_env(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        POWERTOOLS_METRICS_NAMESPACE="Netguard",
        **extra,
    )


def invoke_in_process(
    function: str, runs: list[dict[str, Any]], env: Mapping[str, str], hosts: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Runs `runs` ({name, alerts, event}) through `function`'s handler in one fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="netguard-bench-") as directory:
        plan, result = Path(directory) / "plan.json", Path(directory) / "result.json"
        plan.write_text(json.dumps({"function": function, "runs": runs, "hosts": dict(hosts or {})}))
        done = subprocess.run(
            [sys.executable, "-m", "tests.bench._invoke", str(plan), str(result)],
            cwd=ROOT,
            env=dict(env),
            stdout=subprocess.DEVNULL,  # the handlers' Powertools log lines
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{function}: handler process failed: {done.stderr.strip()[-2000:]}")
        report: dict[str, Any] = json.loads(result.read_text())
        return report


def memory_size_mb(function: str) -> int | None:
    """The function's `MemorySize` in template.yaml (its own, else Globals'), read as text: the
    template's CloudFormation tags (!Ref, !Sub) are not plain YAML."""
    text = (ROOT / "template.yaml").read_text()
    resource = re.search(
        rf"^  \w+:\n(?:(?!^  \w).*\n)*?\s+CodeUri: functions/{function}/\n(?:(?!^  \w).*\n)*", text, re.M
    )
    for block in (resource.group(0) if resource else "", text.split("\nResources:", 1)[0]):
        found = re.search(r"^\s+MemorySize: (\d+)", block, re.M)
        if found:
            return int(found.group(1))
    return None


def function_figures(
    function: str,
    events: Callable[[str, int], dict[str, Any]],
    env: Mapping[str, str],
    hosts: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Peak memory and warm time for 1 and 1000 alerts, and the calls 1000 alerts cost.

    Two containers: one sees a cold invoke and a warm 1-alert invoke (its peak is the 1-alert peak),
    the other also a 1000-alert invoke (its peak is the 1000-alert peak). `events(name, count)` makes
    a fresh event of `count` alerts, unique per name so no idempotency record answers it.
    """

    def runs(*plan: tuple[str, int]) -> list[dict[str, Any]]:
        return [{"name": name, "alerts": count, "event": events(name, count)} for name, count in plan]

    small = invoke_in_process(function, runs(("a-cold", 1), ("a-warm", 1)), env, hosts)
    large = invoke_in_process(function, runs(("b-cold", 1), ("b-warm", 1), ("b-storm", 1000)), env, hosts)
    by_name = {run["name"]: run for run in small["runs"] + large["runs"]}
    storm = by_name["b-storm"]
    aws_calls = sum(storm["aws_calls"].values())
    kube_calls = storm["http_calls"].get("kubernetes", 0)
    http_calls = {k: v for k, v in storm["http_calls"].items() if k != "kubernetes"}
    return {
        "memory_size_mb": memory_size_mb(function),
        "cold_invoke_ms": round(median([by_name["a-cold"]["wall_ms"], by_name["b-cold"]["wall_ms"]]), 1),
        "warm_1_alert_ms": round(median([by_name["a-warm"]["wall_ms"], by_name["b-warm"]["wall_ms"]]), 1),
        "warm_1000_alerts_ms": round(storm["wall_ms"], 1),
        "peak_rss_1_alert_mib": round(small["max_rss_mib"], 1),
        "peak_rss_1000_alerts_mib": round(large["max_rss_mib"], 1),
        "aws_calls_per_1000_alerts": aws_calls,
        "kubernetes_calls_per_1000_alerts": kube_calls,
        "aws_calls_1000_alerts_by_operation": dict(sorted(storm["aws_calls"].items())),
        "receiver_calls_per_1000_alerts": http_calls,
        "calls_if_one_per_alert": 1000,
        "outcome_1000_alerts": storm["outcome"][:160],
    }


def print_function(name: str, figures: Mapping[str, Any]) -> None:
    print(
        f"{name}: cold invoke {figures['cold_invoke_ms']:.0f} ms, warm 1 alert "
        f"{figures['warm_1_alert_ms']:.0f} ms, warm 1000 alerts {figures['warm_1000_alerts_ms']:.0f} ms; "
        f"peak RSS {figures['peak_rss_1_alert_mib']:.0f} / {figures['peak_rss_1000_alerts_mib']:.0f} MiB; "
        f"per 1000 alerts {figures['aws_calls_per_1000_alerts']} AWS calls "
        f"({', '.join(f'{k} {v}' for k, v in figures['aws_calls_1000_alerts_by_operation'].items())}), "
        f"{figures['kubernetes_calls_per_1000_alerts']} Kubernetes requests"
        + "".join(f", {v} {k} requests" for k, v in figures["receiver_calls_per_1000_alerts"].items()),
        flush=True,
    )
