"""Cold start of each handler beside the libraries it cannot avoid, and the size of what is deployed.

Cold start: a fresh interpreter that imports functions/<name>/app.py and builds its settings from a
valid environment, timed from outside (interpreter start to exit, median of N), beside a fresh
interpreter running only `import boto3` (notifiers) or `import boto3, kubernetes.client` (enrich,
remediate), the two runs alternating so both see the same machine load. Once from the source tree
and this machine's bytecode caches, once from the built layer without them (as Lambda runs it).

Size: what `make build` (sam build) puts in .aws-sam/build, unzipped, when it builds on this machine;
otherwise the layer installed the way sam build does it (pip --target from
layers/netguard/requirements.txt plus the package) with the same pruning. Beside it: a plain
`pip install --target` of the same requirements, and Lambda's 250 MB limit (layers plus function).
Prints numbers only: `python -m tests.bench.package`.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench import _harness

ROOT = _harness.ROOT
RUNS = int(os.environ.get("BENCH_COLD_RUNS", "11"))
LAMBDA_UNZIPPED_LIMIT_MB = 250
TOTAL_GOAL_MB = 50
MB = 1_000_000

SETTINGS = {
    "enrich": "netguard.config.enrich:Settings",
    "remediate": "netguard.config.remediate:Settings",
    "notify_slack": "netguard.config.notify:SlackSettings",
    "notify_pagerduty": "netguard.config.notify:PagerDutySettings",
}
BASELINES = {
    "enrich": "boto3, kubernetes.client",
    "remediate": "boto3, kubernetes.client",
    "notify_slack": "boto3",
    "notify_pagerduty": "boto3",
}
GOALS = {"enrich": 1.2, "remediate": 1.2, "notify_slack": 1.3, "notify_pagerduty": 1.3}
ARN = "arn:aws:sns:us-east-1:123456789012:netguard"
ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "ENRICHED_TOPIC_ARN": ARN,
    "STATE_TABLE": "netguard-state",
    "CLUSTERS": json.dumps({"prod": {"eks_name": "prod", "region": "us-east-1"}}),
    "DEFAULT_CLUSTER": "prod",
    "FOLLOWUP_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/followups",
    "KILL_SWITCH_PARAMETER": "/netguard/kill-switch",
    "SLACK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack",
    "SLACK_CHANNEL": "C0NETGUARD",
    "PAGERDUTY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pd",
    "POWERTOOLS_METRICS_NAMESPACE": "Netguard",
}


def _handler_code(function: str) -> str:
    module, _, name = SETTINGS[function].partition(":")
    app = str(ROOT / "functions" / function / "app.py")
    return (
        "import importlib.util, importlib\n"
        f"spec = importlib.util.spec_from_file_location('app', {app!r})\n"
        "app = importlib.util.module_from_spec(spec); spec.loader.exec_module(app)\n"
        f"importlib.import_module({module!r}).{name}.from_env()\n"
    )


def _env() -> dict[str, str]:
    return _harness.clean_env(**ENV, PYTHONPATH=str(ROOT / "layers" / "netguard"))


def _run_ms(code: str, layer: Path | None = None) -> tuple[float, float] | None:
    """Wall and CPU (user + system) time of a fresh interpreter running `code`, in ms. CPU time leaves
    out the time the process waited for a core, which on a shared machine is most of the noise.
    With `layer`: netguard and its libraries come from that built layer, and nothing compiled at
    import is kept (-B), as on Lambda, whose /opt is read-only."""
    env = _env()
    flags = []
    if layer is not None:
        env["PYTHONPATH"], flags = str(layer), ["-B"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *flags, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        print(f"  failed: {code.splitlines()[0][:60]}: {done.stderr.strip().splitlines()[-1:]}")
        return None
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def _top_imports(code: str, count: int = 6) -> dict[str, float]:
    """Cumulative import time (ms, `python -X importtime`) of the top-level imports, by package."""
    env = _env()
    trace = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], env=env, capture_output=True, text=True, check=False
    ).stderr
    rows = []
    for line in trace.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( +)(\S+)$", line)
        if match:
            rows.append((len(match.group(2)), match.group(3).split(".")[0], int(match.group(1)) / 1000))
    top = min((depth for depth, _, _ in rows), default=0)
    totals: dict[str, float] = {}
    for depth, package, ms in rows:
        if depth == top:
            totals[package] = totals.get(package, 0.0) + ms
    return {k: round(v, 1) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])[:count]}


def cold_starts() -> dict[str, Any]:
    empty = _run_ms("pass")
    empty_ms = empty[0] if empty else 0.0
    print(f"cold start (fresh interpreter, median of {RUNS}; empty interpreter {empty_ms:.0f} ms):")
    figures: dict[str, Any] = {"runs": RUNS, "empty_interpreter_ms": round(empty[0], 1) if empty else None}
    for function in sorted(SETTINGS):
        baseline_code = f"import {BASELINES[function]}"
        handler, baseline = [], []
        for _ in range(RUNS):
            baseline.append(_run_ms(baseline_code))
            handler.append(_run_ms(_handler_code(function)))
        row: dict[str, Any] = {"baseline": baseline_code, "goal_ratio": GOALS[function]}
        if None in handler or None in baseline:
            row.update(handler_ms=None, baseline_ms=None, ratio=None, cpu_ratio=None)
        else:
            walls = [[run[0] for run in runs if run] for runs in (handler, baseline)]
            cpus = [[run[1] for run in runs if run] for runs in (handler, baseline)]
            row["handler_ms"] = round(_harness.median(walls[0]), 1)
            row["baseline_ms"] = round(_harness.median(walls[1]), 1)
            row["ratio"] = round(row["handler_ms"] / row["baseline_ms"], 2)
            row["handler_cpu_ms"] = round(_harness.median(cpus[0]), 1)
            row["baseline_cpu_ms"] = round(_harness.median(cpus[1]), 1)
            row["cpu_ratio"] = round(row["handler_cpu_ms"] / row["baseline_cpu_ms"], 2)
        row["largest_imports_ms"] = _top_imports(_handler_code(function))
        figures[function] = row
        print(
            f"  {function:<17} {row['handler_ms'] or float('nan'):6.0f} ms  vs {baseline_code!r} "
            f"{row['baseline_ms'] or float('nan'):6.0f} ms  = {row['ratio']}x wall, {row['cpu_ratio']}x CPU "
            f"(goal <= {GOALS[function]}x); largest imports: "
            + ", ".join(f"{name} {ms:.0f}" for name, ms in row["largest_imports_ms"].items())
        )
    return figures


def layer_cold_starts() -> dict[str, Any]:
    """Each handler and its baseline imported from the layer as build_layer.py builds it (for this
    interpreter), with no bytecode kept between runs: what a Lambda cold start pays, including
    compiling whatever the layer does not ship compiled. Median wall and CPU time of BENCH_LAYER_RUNS."""
    runs = int(os.environ.get("BENCH_LAYER_RUNS", "5"))
    figures: dict[str, Any] = {"runs": runs}
    with tempfile.TemporaryDirectory(prefix="netguard-bench-layer-") as directory:
        layer = Path(directory) / "python"
        builder = ROOT / "layers" / "netguard" / "build_layer.py"
        subprocess.run([sys.executable, str(builder), "--local", str(layer)], check=True)
        print(f"cold start from the built layer (-B, median of {runs}):")
        for function in sorted(SETTINGS):
            baseline_code = f"import {BASELINES[function]}"
            handler: list[tuple[float, float]] = []
            baseline: list[tuple[float, float]] = []
            for _ in range(runs):
                for code, times in ((baseline_code, baseline), (_handler_code(function), handler)):
                    run = _run_ms(code, layer)
                    if run is not None:
                        times.append(run)
            if len(handler) < runs or len(baseline) < runs:
                figures[function] = {"handler_ms": None, "baseline_ms": None, "ratio": None}
                continue
            row: dict[str, Any] = {"baseline": baseline_code}
            for key, index in (("ms", 0), ("cpu_ms", 1)):
                row[f"handler_{key}"] = round(_harness.median([run[index] for run in handler]), 1)
                row[f"baseline_{key}"] = round(_harness.median([run[index] for run in baseline]), 1)
            row["ratio"] = round(row["handler_ms"] / row["baseline_ms"], 2)
            row["cpu_ratio"] = round(row["handler_cpu_ms"] / row["baseline_cpu_ms"], 2)
            figures[function] = row
            print(
                f"  {function:<17} {row['handler_ms']:6.0f} ms  vs {baseline_code!r} "
                f"{row['baseline_ms']:6.0f} ms  = {row['ratio']}x wall, {row['cpu_ratio']}x CPU"
            )
    return figures


def _size(path: Path, *, caches: bool = False) -> int:
    """Bytes of the files under `path`; bytecode caches count only with `caches` (what the layer
    ships compiled), not in a source tree where they are this machine's leftovers."""
    return sum(
        f.stat().st_size for f in path.rglob("*") if f.is_file() and (caches or "__pycache__" not in f.parts)
    )


def _pip_target(target: Path, *requirements: str) -> bool:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-compile",
            "--target",
            str(target),
            *requirements,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"  pip --target failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.returncode == 0


def _sam_build() -> Path | None:
    """`make build`'s output, built now; None when sam build cannot run here."""
    done = subprocess.run(["make", "-s", "build"], cwd=ROOT, capture_output=True, text=True, check=False)
    build = ROOT / ".aws-sam" / "build"
    if done.returncode != 0 or not build.is_dir():
        print(f"  make build failed here ({done.stderr.strip().splitlines()[-1:]}); using pip --target")
        return None
    return build


def sizes() -> dict[str, Any]:
    requirements = ROOT / "layers" / "netguard" / "requirements.txt"
    figures: dict[str, Any] = {
        "lambda_unzipped_limit_mb": LAMBDA_UNZIPPED_LIMIT_MB,
        "goal_total_mb": TOTAL_GOAL_MB,
    }
    with tempfile.TemporaryDirectory(prefix="netguard-bench-size-") as directory:
        # For Lambda's platform, like sam build; the local one when pip cannot (no wheel, no network).
        lambda_platform = ["--platform", "manylinux2014_aarch64", "--python-version", "3.12"]
        lambda_platform += ["--implementation", "cp", "--only-binary=:all:"]
        plain: Path | None = Path(directory) / "plain"
        if not _pip_target(Path(directory) / "plain", *lambda_platform, "-r", str(requirements)):
            plain = Path(directory) / "plain-local"
            if not _pip_target(plain, "-r", str(requirements)):
                plain = None
        if plain is not None:
            package = _size(ROOT / "layers" / "netguard" / "netguard")
            figures["plain_pip_target_mb"] = round((_size(plain) + package) / MB, 2)
        build = _sam_build()
        if build is not None:
            figures["source"] = "make build (sam build, arm64)"
            layer = build / "NetguardLayer"
            functions = {p.name: p for p in build.iterdir() if p.is_dir() and p.name != "NetguardLayer"}
        else:
            layer = Path(directory) / "layer" / "python"
            builder = ROOT / "layers" / "netguard" / "build_layer.py"
            if builder.is_file():  # what sam build runs, for this interpreter instead of arm64
                figures["source"] = "layers/netguard/build_layer.py --local (sam build did not run here)"
                subprocess.run([sys.executable, str(builder), "--local", str(layer)], check=True)
            else:
                figures["source"] = (
                    "pip --target of the layer requirements and package (sam build did not run)"
                )
                _pip_target(layer, "-r", str(requirements))
                shutil.copytree(ROOT / "layers" / "netguard" / "netguard", layer / "netguard")
                shutil.rmtree(layer / "kubernetes" / "aio", ignore_errors=True)
            functions = {p.name: p for p in (ROOT / "functions").iterdir() if p.is_dir()}
        figures["layer_mb"] = round(_size(layer, caches=True) / MB, 2)
        figures["layer_mib"] = round(_size(layer, caches=True) / 2**20, 2)
        figures["layer_holds"] = sorted(
            p.name
            for p in (layer / "python" if (layer / "python").is_dir() else layer).iterdir()
            if p.is_dir() and not p.name.endswith((".dist-info", "__pycache__"))
        )
        figures["functions_kb"] = {
            name: round(_size(path) / 1000, 1) for name, path in sorted(functions.items())
        }
        largest = max(figures["functions_kb"].values(), default=0.0)
        figures["total_mb"] = round(figures["layer_mb"] + sum(figures["functions_kb"].values()) / 1000, 2)
        figures["largest_function_with_layer_mb"] = round(figures["layer_mb"] + largest / 1000, 2)
    print(
        f"deployed size ({figures['source']}): layer {figures['layer_mb']} MB, functions "
        + ", ".join(f"{k} {v} kB" for k, v in figures["functions_kb"].items())
        + f"; total {figures['total_mb']} MB (goal <= {TOTAL_GOAL_MB} MB, Lambda limit "
        f"{LAMBDA_UNZIPPED_LIMIT_MB} MB per function with its layers); plain pip --target of the "
        f"same requirements and package {figures.get('plain_pip_target_mb')} MB"
    )
    print(f"  layer holds: {', '.join(figures['layer_holds'])}")
    return figures


def main() -> dict[str, Any]:
    return {"cold_start": cold_starts(), "cold_start_from_layer": layer_cold_starts(), "size": sizes()}


if __name__ == "__main__":
    main()
