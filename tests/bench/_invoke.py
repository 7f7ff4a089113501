"""One Lambda container in a fresh interpreter: load a handler, invoke it with a list of events, report.

Run by the benchmark modules, never by hand: `python -m tests.bench._invoke PLAN.json RESULT.json`.
The plan names the function, the events (the first invoke is the cold one) and which `host:port` is
what (the Kubernetes API server, Slack, PagerDuty). The result holds, per invoke: wall time, AWS
calls by `service Operation` (a botocore `before-call` hook on every client the handler creates) and
HTTP requests per named host (counted in `http.client`'s `putrequest`, which every HTTP client in the
process goes through: urllib3 under boto3 and kubernetes, urllib.request under the notifiers);
and for the process: the handler import time and peak resident memory (VmHWM, what Lambda
reports as "Max Memory Used").
"""

from __future__ import annotations

import http.client
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3

from netguard_cli.commands.invoke import LambdaContext, load_handler_module


def _count_aws(calls: Counter[str]) -> None:
    original = boto3.session.Session.client

    def client(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        made = original(self, *args, **kwargs)

        def before_call(model: Any, **_: Any) -> None:
            calls[f"{model.service_model.service_name} {model.name}"] += 1

        made.meta.events.register("before-call", before_call)
        return made

    boto3.session.Session.client = client  # type: ignore[method-assign]


def _count_http(calls: Counter[str], hosts: dict[str, str]) -> None:
    original = http.client.HTTPConnection.putrequest

    def putrequest(self: http.client.HTTPConnection, *args: Any, **kwargs: Any) -> None:
        name = hosts.get(f"{self.host}:{self.port}")
        if name is not None:
            calls[name] += 1
        original(self, *args, **kwargs)

    http.client.HTTPConnection.putrequest = putrequest  # type: ignore[method-assign]


def peak_rss_mib() -> float:
    """This process's peak resident memory. Not `ru_maxrss`: Linux keeps it across execve, so a child
    of a bench process that had grown (after the enrich figures) reported the parent's peak. VmHWM is
    the high-water mark of this process's own memory map, which exec starts afresh."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    aws_calls: Counter[str] = Counter()
    http_calls: Counter[str] = Counter()
    _count_aws(aws_calls)
    _count_http(http_calls, plan.get("hosts", {}))
    started = time.perf_counter()
    module = load_handler_module(plan["function"])
    import_ms = (time.perf_counter() - started) * 1000
    runs = []
    for run in plan["runs"]:
        aws_calls.clear()
        http_calls.clear()
        context = LambdaContext(function_name=f"netguard-{plan['function']}", timeout_seconds=900)
        started = time.perf_counter()
        outcome = module.lambda_handler(run["event"], context)
        runs.append(
            {
                "name": run["name"],
                "alerts": run["alerts"],
                "wall_ms": (time.perf_counter() - started) * 1000,
                "aws_calls": dict(aws_calls),
                "http_calls": dict(http_calls),
                "outcome": json.dumps(outcome, default=str)[:300],
            }
        )
    result = {
        "import_ms": import_ms,
        "max_rss_mib": peak_rss_mib(),
        "runs": runs,
    }
    Path(sys.argv[2]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
