"""`netguard demo`: the whole netguard loop on this machine, narrated step by step (`make demo`).

First the intake runs over every file in events/ (this always works); then the local stack starts
(moto, Kubernetes, exporter, Prometheus, Alertmanager, receivers, one worker per function) and plays
the DNS-throttling scenario. Missing pieces are skipped with the reason; everything started is
stopped on exit, Ctrl-C or failure.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from netguard_cli.localstack import catalogue, cluster
from netguard_cli.localstack.processes import StartupError
from netguard_cli.localstack.report import write_report
from netguard_cli.localstack.samples import summarize_events
from netguard_cli.localstack.scenario import NamedResult, NamedScenario, Scenario
from netguard_cli.localstack.stack import CHECKOUT, LocalStack, StackEvent, StackSettings

_MARKS = {"done": "✔", "skipped": "–", "timeout": "✘", "not reached": "·"}


class Narrator:
    """Prints stack events and scenario steps as they happen, with seconds since the start."""

    def __init__(self, out: TextIO, *, verbose: bool = False) -> None:
        self.out = out
        self.verbose = verbose
        self.muted = False
        """Set once the summary prints: late events (a thread reply, a worker line) would cut into it."""

    def event(self, event: StackEvent) -> None:
        if self.muted:
            return
        if not self.verbose and event.source == "lambda" and event.kind == "started":
            return
        self.out.write(f"  [{event.at:6.1f}s] {event.source:<12} {event.text}\n")
        self.out.flush()

    def step(self, result: Any) -> None:
        mark = _MARKS.get(str(result.status), "?")
        timing = f"+{result.took:.1f}s" if result.status == "done" else str(result.status)
        self.out.write(f"  {mark} {result.name} ({timing}){': ' + result.detail if result.detail else ''}\n")
        self.out.flush()

    def line(self, text: str) -> None:
        self.out.write(f"  {text}\n")
        self.out.flush()

    def heading(self, text: str) -> None:
        self.out.write(f"\n== {text}\n")
        self.out.flush()


_stopping = False


def _terminate(signum: int, frame: FrameType | None) -> None:
    """The first signal unwinds `with LocalStack(...)`, which stops everything; later ones must not
    interrupt that clean-up (the components also die with this process: `die_with_parent`)."""
    global _stopping  # noqa: PLW0603 -- process-wide by nature, like the signal itself
    if _stopping:
        sys.stderr.write("  still stopping the local stack...\n")
        return
    _stopping = True
    raise KeyboardInterrupt


def run_demo(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    narrator = Narrator(out, verbose=args.verbose)
    checkout = Path(args.checkout).resolve()
    if args.list:
        return _list(out)
    names = _scenario_names(args.scenario)
    if names is None:
        out.write(f"  ✘ unknown scenario in {args.scenario}; `netguard demo --list` shows the known ones\n")
        return 2
    out.write("netguard demo: AMP-style alert → enrich → Slack/PagerDuty → remediation, all on 127.0.0.1\n")

    narrator.heading(f"1. Intake: what netguard understands of each file in {checkout / 'events'}")
    lines = summarize_events(checkout / "events")
    for line in lines or ["(no event files)"]:
        out.write(f"  {line}\n")
    if args.intake_only:
        return 0

    workdir = Path(args.workdir).resolve()
    if cluster.running_pids(workdir / "cluster"):
        out.write(f"\n  ✘ another demo is running from {workdir} (stop it, or pass --workdir)\n")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    settings = StackSettings(
        workdir=workdir,
        checkout=checkout,
        with_cluster=not args.no_cluster,
        time_scale=args.time_scale,
        die_with_parent=True,
    )
    # Ctrl-C, `kill` and a closed terminal all unwind the stack (SIGINT is set too: a shell may start
    # a background job with it ignored).
    previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    started = time.monotonic()
    try:
        narrator.heading(f"2. Starting the local stack (logs and configs under {workdir})")
        with LocalStack(settings, narrator.event) as stack:
            for name, reason in stack.skipped.items():
                out.write(f"  – skipped {name}: {reason}\n")
            if names:
                return _run_named(stack, names, narrator, out)
            narrator.heading(
                f"3. Scenario: {settings.dns_load_pps:.0f} DNS packets/s through CoreDNS to the VPC resolver "
                f"(limit {settings.linklocal_limit_pps:.0f}/s per interface)"
            )
            result = Scenario(stack, timeout=args.timeout, say=narrator.step).run()
            narrator.muted = True
            narrator.heading("4. Summary")
            out.write(f"  {'step':<40} {'status':<12} {'at':>8} {'took':>8}\n")
            for step in result.steps:
                out.write(f"  {step.name:<40} {step.status.value:<12} {step.at:7.1f}s {step.took:7.1f}s\n")
            start_phases = ", ".join(f"{k} {v:.1f}s" for k, v in stack.timings.items())
            out.write(f"  stack start: {start_phases}\n")
            verdict = (
                "loop closed"
                if result.loop_closed
                else "timed out"
                if result.failed
                else "reduced mode: some steps skipped (see above)"
            )
            out.write(f"  scenario: {result.seconds:.1f}s, {verdict}\n")
            out.write(f"  report: {write_report(stack, workdir / 'report.html')}\n")
            if args.keep_running:
                _keep_running(stack, out)
            return 1 if result.failed else 0
    except StartupError as exc:
        out.write(f"\n  ✘ the local stack could not start: {exc}\n")
        out.write("  (the intake above still ran; see the logs under the work directory)\n")
        return 1
    except KeyboardInterrupt:
        out.write("\n  interrupted: stopping everything\n")
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        out.write(f"  stopped; total {time.monotonic() - started:.1f}s\n")
        out.flush()


def _list(out: TextIO) -> int:
    for spec in catalogue.SCENARIOS:
        out.write(f"{spec.name:<10} {spec.description}\n")
        out.write(
            f"{'':<10}   CoreDNS on {', '.join(n.split('.')[0] for n in spec.coredns)}; {spec.load_text()};"
            f" owner {spec.owner.value}; expect: {spec.expect.value}; timeout {spec.timeout:.0f}s\n"
        )
    return 0


def _scenario_names(requested: list[str] | None) -> list[str] | None:
    """Names to play ([] for the default walk-through), or None when one is unknown."""
    names: list[str] = []
    for item in requested or []:
        for name in item.split(","):
            if name == "all":
                names.extend(catalogue.BY_NAME)
            elif name in catalogue.BY_NAME:
                names.append(name)
            elif name:
                return None
    return list(dict.fromkeys(names))


def _run_named(stack: LocalStack, names: list[str], narrator: Narrator, out: TextIO) -> int:
    """Play each named scenario on the one started stack (reset in between); print each result."""
    results: list[NamedResult] = []
    started = time.monotonic()
    if stack.kube is None:
        out.write(f"  ✘ named scenarios need Kubernetes: {stack.skipped.get('kubernetes', 'not running')}\n")
        return 1
    for name in names:
        spec = catalogue.find(name)
        narrator.muted = False
        narrator.heading(f"Scenario {name}: {spec.description}")
        began = stack.elapsed()
        result = NamedScenario(stack, spec, say=narrator.line).run()
        narrator.muted = True
        results.append(result)
        for line in result.lines():
            out.write(f"  {line}\n")
        report = stack.settings.workdir / f"report-{name}.html"
        out.write(
            f"  report: {write_report(stack, report, title=f'netguard scenario {name}', since=began)}\n"
        )
        out.flush()
    narrator.heading("Summary")
    for result in results:
        out.write(
            f"  {'✔' if result.passed else '✘'} {result.name:<10}"
            f" persistence→outcome {result.reaction_text():>7}"
            f"  scenario {result.seconds:6.1f}s  remediate API calls {sum(result.kube_calls.values())}\n"
        )
    failed = [r.name for r in results if not r.passed]
    out.write(
        f"  {len(results) - len(failed)}/{len(results)} passed in {time.monotonic() - started:.1f}s"
        f" (stack start {sum(stack.timings.values()):.1f}s)"
        + (f"; failed: {', '.join(failed)}" if failed else "")
        + "\n"
    )
    return 1 if failed else 0


def _keep_running(stack: LocalStack, out: TextIO) -> None:
    if stack.prometheus is None or stack.alertmanager is None or stack.exporter is None:
        return
    out.write("\n  still running (Ctrl-C stops everything):\n")
    out.write(f"    Prometheus    {stack.prometheus.url}\n    Alertmanager  {stack.alertmanager.url}\n")
    out.write(f"    exporter      {stack.exporter.url}  (/drops/start?node=NAME&rate=300, /drops/stop)\n")
    out.write(f"    moto          {stack.moto_url}\n")
    for identity, path in stack.kubeconfigs.items():
        out.write(f"    kubeconfig    {identity}: {path}\n")
    out.flush()
    while True:
        time.sleep(3600)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the whole loop locally and narrate it (make demo)", description=__doc__
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="scenario budget in seconds (default 300)"
    )
    parser.add_argument("--keep-running", action="store_true", help="leave the stack up after the scenario")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1 / 30,
        help="multiplier for rule durations and Alertmanager intervals (default 1/30)",
    )
    parser.add_argument("--no-cluster", action="store_true", help="skip the Kubernetes control plane")
    parser.add_argument("--intake-only", action="store_true", help="only run the intake over events/")
    parser.add_argument("--verbose", action="store_true", help="print every event")
    parser.add_argument(
        "--workdir",
        default=str(CHECKOUT / ".netguard" / "demo"),
        help="logs and configs (emptied first; default .netguard/demo)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="play a named scenario (repeatable, comma-separated, or `all`) instead of the walk-through;"
        " exits non-zero when its expected outcome is not reached",
    )
    parser.add_argument("--list", action="store_true", help="list the named scenarios and exit")
    parser.add_argument("--checkout", default=str(CHECKOUT), help=argparse.SUPPRESS)
    parser.set_defaults(func=run_demo)
