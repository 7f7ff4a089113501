"""`netguard local up|down|status|publish|load|inspect|report`: the demo's stack, left running.

`up` starts a detached supervisor (`netguard_cli.localstack.supervisor`) that owns the stack and
writes `.netguard/local/state.json`; every other command talks to it over its loopback control API
with the token from that file; `down` stops it and checks that no process or port is left.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from netguard_cli.commands import exits_on
from netguard_cli.localstack.amp_publish import PublishInputError, parse_replacement, read_publications
from netguard_cli.localstack.exporter import Dialect
from netguard_cli.localstack.stack import CHECKOUT
from netguard_cli.localstack.supervisor import STATE_FILE
from netguard_cli.localstack.view import render_text

DEFAULT_ROOT = CHECKOUT / ".netguard" / "local"


class LocalError(Exception):
    """A `netguard local` command failed; the message is the one line the user sees."""


def read_state(root: Path) -> dict[str, Any] | None:
    path = root / STATE_FILE
    if not path.is_file():
        return None
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except ValueError:
        return None
    return state


def alive(pid: int) -> bool:
    """Running (a zombie holds nothing any more, so it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def call(root: Path, method: str, path: str, body: Any = None, *, timeout: float = 60.0) -> Any:
    """One control API call to the running supervisor."""
    state = read_state(root)
    if not state or state.get("status") != "running":
        raise LocalError(
            f"no local stack running from {root} (start it with `netguard local up`)"
            if not state
            else f"the local stack is {state.get('status')}"
        )
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 -- the loopback URL the supervisor wrote
        f"{state['urls']['control']}{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {state['token']}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("error", exc.reason)
        raise LocalError(f"{method} {path}: {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise LocalError(f"the supervisor does not answer ({exc}); `netguard local down` cleans up") from exc


# --- up / down / status -----------------------------------------------------------------------


def up(
    root: Path,
    *,
    checkout: Path,
    time_scale: float,
    no_cluster: bool,
    timeout: float,
    exporter: Dialect = Dialect.NODE_EXPORTER,
) -> dict[str, Any]:
    state = read_state(root)
    if state and alive(int(state.get("pid", 0))):
        raise LocalError(f"a local stack is already {state.get('status')} from {root} (pid {state['pid']})")
    (root / STATE_FILE).unlink(missing_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    log = root / "supervisor.log"
    argv = [sys.executable, "-m", "netguard_cli.localstack.supervisor", "--root", str(root)]
    argv += ["--checkout", str(checkout), "--time-scale", str(time_scale)]
    argv += ["--no-cluster"] if no_cluster else []
    argv += ["--exporter", Dialect(exporter).value]
    with log.open("ab") as handle:
        # Its own session: the stack outlives this command and the terminal.
        process = subprocess.Popen(
            argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_state(root) or {}
        if state.get("status") == "running":
            return state
        if state.get("status") == "failed" or process.poll() is not None:
            process.wait(timeout=30)
            reason = state.get("error") or (
                "stopped while starting (`netguard local down`?)"
                if process.returncode == 130
                else f"supervisor exited with {process.returncode}"
            )
            raise LocalError(f"the local stack did not start: {reason} (log: {log})")
        time.sleep(0.3)
    down(root)
    raise LocalError(f"the local stack was not ready after {timeout:.0f}s (log: {log})")


def down(root: Path, *, grace_seconds: float = 60.0) -> dict[str, Any]:
    """Stop the supervisor (it stops the stack) and check nothing is left; returns what was stopped."""
    state = read_state(root)
    if not state:
        return {"stopped": False, "reason": "not running"}
    pid = int(state.get("pid", 0))
    pids = {str(k): int(v) for k, v in (state.get("pids") or {"supervisor": pid}).items()}
    ports = [int(p) for p in state.get("ports") or []]
    if pid and alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids.values()):
        time.sleep(0.2)
    killed = []
    for name, left in pids.items():  # still there after the grace period: its group goes
        if alive(left):
            killed.append(name)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(left, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (
        any(alive(p) for p in pids.values()) or any(port_open(p) for p in ports)
    ):
        time.sleep(0.2)
    left_pids = {n: p for n, p in pids.items() if alive(p)}
    left_ports = [p for p in ports if port_open(p)]
    (root / STATE_FILE).unlink(missing_ok=True)
    return {
        "stopped": True,
        "processes": len(pids),
        "ports": len(ports),
        "killed": killed,
        "left_pids": left_pids,
        "left_ports": left_ports,
    }


def status_lines(status: dict[str, Any]) -> list[str]:
    lines = [
        f"local stack running from {status['workdir']} (pid {status['pid']}, up {status['uptime_seconds']}s)"
    ]
    if status.get("exporter"):
        lines.append(f"  exporter      {status['exporter']} names (amp/rules.yaml normalizes them)")
    lines += [f"  {name:<13} {url}" for name, url in status["urls"].items()]
    lines += [f"  kubeconfig    {name}: {path}" for name, path in status["kubeconfigs"].items()]
    lines.append(f"  processes     {', '.join(f'{n}={p}' for n, p in status['pids'].items())}")
    lines.append(f"  ports         {', '.join(str(p) for p in status['ports'])}")
    coredns = status.get("coredns") or {}
    lines.append(
        f"  coredns       {coredns.get('ready')}/{coredns.get('replicas')} Ready on "
        f"{', '.join(sorted(set(coredns.get('nodes') or []))) or '-'}"
    )
    load = status.get("load") or {}
    lines.append(
        f"  DNS load      {load.get('coredns_qps', 0):.0f} qps through CoreDNS"
        + (f", per node {load['node_qps']}" if load.get("node_qps") else "")
        + f"; drops {load.get('drops_per_node') or 'none'}"
    )
    lines += [f"  skipped       {name}: {reason}" for name, reason in status["skipped"].items()]
    return lines


# --- commands ---------------------------------------------------------------------------------


def _root(args: argparse.Namespace) -> Path:
    return Path(args.root).resolve()


def _up(args: argparse.Namespace) -> int:
    print(f"starting the local stack in the background (log: {_root(args) / 'supervisor.log'}) ...")
    started = time.monotonic()
    state = up(
        _root(args),
        checkout=Path(args.checkout).resolve(),
        time_scale=args.time_scale,
        no_cluster=args.no_cluster,
        timeout=args.timeout,
        exporter=Dialect(args.exporter),
    )
    print(f"ready in {time.monotonic() - started:.1f}s")
    print("\n".join(status_lines(state)))
    print("next: netguard local publish events/sns-amp-json-firing.json; netguard local load --qps 3000")
    return 0


def _down(args: argparse.Namespace) -> int:
    result = down(_root(args))
    if not result["stopped"]:
        print(f"no local stack running from {_root(args)}")
        return 0
    print(f"stopped {result['processes']} process(es); {result['ports']} port(s) closed")
    report = _root(args) / "report.html"
    if report.is_file():
        print(f"  the session's report: {report}")
    if result["killed"]:
        print(f"  killed after the grace period: {', '.join(result['killed'])}")
    if result["left_pids"] or result["left_ports"]:
        print(
            f"  still there: processes {result['left_pids']}, ports {result['left_ports']}", file=sys.stderr
        )
        return 1
    return 0


def _status(args: argparse.Namespace) -> int:
    state = read_state(_root(args))
    if state and state.get("status") != "running":
        alive_text = "alive" if alive(int(state.get("pid", 0))) else "not running"
        print(f"local stack {state.get('status')} (pid {state.get('pid')}, {alive_text})")
        if state.get("error"):
            print(f"  {state['error']}")
        return 1
    status = call(_root(args), "GET", "/status")
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        print("\n".join(status_lines(status)))
    return 0


def _publish(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        replacements = [parse_replacement(r) for r in args.replace]
        publications = read_publications(path.read_bytes(), subject=args.subject, replacements=replacements)
    except OSError as exc:
        raise LocalError(f"cannot read {path}: {exc.strerror}") from exc
    except PublishInputError as exc:
        raise LocalError(f"{path}: {exc}") from exc
    for publication in publications:
        answer = call(
            _root(args),
            "POST",
            "/publish",
            {
                "subject": publication.subject,
                "message": publication.message,
                "attributes": publication.attributes,
            },
        )
        print(
            f"published {len(publication.message.encode())} bytes to AlertsTopic "
            f"(subject {publication.subject!r}, attributes {sorted(publication.attributes)}): "
            f"message id {answer['message_id']}"
        )
        for note in publication.notes:
            print(f"  as AMP would: {note}")
    print("then: netguard local inspect")
    return 0


def _load(args: argparse.Namespace) -> int:
    load = call(_root(args), "POST", "/load", {"qps": args.qps, "node": args.node})
    print(
        f"CoreDNS forwards {load['coredns_qps']:.0f} qps; per-node direct {load['node_qps'] or 'none'}; "
        f"limit {load['limit_pps']:.0f}/s per interface; drops now {load['drops_per_node'] or 'none'}"
    )
    return 0


def _inspect(args: argparse.Namespace) -> int:
    view = call(_root(args), "GET", "/inspect")
    sys.stdout.write(json.dumps(view, indent=2) + "\n" if args.json else render_text(view))
    return 0


def _report(args: argparse.Namespace) -> int:
    target = Path(args.output).resolve() if args.output else _root(args) / "report.html"
    answer = call(_root(args), "POST", "/report", {"path": str(target)})
    size = Path(answer["path"]).stat().st_size
    print(f"wrote {answer['path']} ({size / 1024:.0f} KB; open it in any browser, no network needed)")
    return 0


def register(subparsers: Any) -> None:
    _run = exits_on(LocalError, "local")
    parser = subparsers.add_parser(
        "local", help="keep the demo's stack running and poke at it", description=__doc__
    )
    parser.add_argument(
        "--root", default=str(DEFAULT_ROOT), help="state, logs and work directory (default .netguard/local)"
    )
    commands = parser.add_subparsers(dest="local_command", required=True, metavar="ACTION")
    p = commands.add_parser("up", help="start the stack in the background")
    p.add_argument("--time-scale", type=float, default=1 / 30, help="rule duration multiplier (default 1/30)")
    p.add_argument("--no-cluster", action="store_true", help="skip the Kubernetes control plane")
    p.add_argument(
        "--exporter",
        choices=[d.value for d in Dialect],
        default=Dialect.NODE_EXPORTER.value,
        help="whose metric names the fake exporter serves (default node-exporter: node_ethtool_<stat>)",
    )
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for it (default 300)")
    p.add_argument("--checkout", default=str(CHECKOUT), help=argparse.SUPPRESS)
    p.set_defaults(func=_run(_up))
    commands.add_parser("down", help="stop it; nothing left running").set_defaults(func=_run(_down))
    p = commands.add_parser("status", help="what runs where")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_run(_status))
    p = commands.add_parser("publish", help="publish an SNS event file or raw message to AlertsTopic, as AMP")
    p.add_argument("file", help="events/sns-*.json (Lambda SNS event) or a raw message body")
    p.add_argument("--subject", help="subject to use instead of the file's")
    p.add_argument(
        "--replace",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="replace text in message and subject first, e.g. your cluster or node names (repeatable)",
    )
    p.set_defaults(func=_run(_publish))
    p = commands.add_parser("load", help="change the simulated DNS load")
    p.add_argument(
        "--qps", type=float, required=True, help="CoreDNS's total to the VPC resolver, or NODE's own"
    )
    p.add_argument("--node", help="traffic sent from this node itself (dnsPolicy Default / host network)")
    p.set_defaults(func=_run(_load))
    p = commands.add_parser("inspect", help="enriched events, Slack, PagerDuty, audit, cluster DNS")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_run(_inspect))
    p = commands.add_parser("report", help="write the HTML report")
    p.add_argument("--output", "-o", help="file to write (default .netguard/local/report.html)")
    p.set_defaults(func=_run(_report))
