"""`netguard remediation status|pause|resume|revert|disable-nodelocal --cluster NAME`.

For operators. Uses the same settings (environment variables) as the remediation Lambda and the
same `RemediationService`, so every command takes the same lock and leaves the same audit record
and remediation event. pause/resume edit the kill switch (one cluster, or all with `--all`).
"""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import sys
from typing import Any

from netguard.config.remediate import Settings
from netguard.errors import NetguardError
from netguard.remediate import operator
from netguard.remediate.codec import history_to_dict, report_to_dict
from netguard.remediate.runtime import build_service
from netguard.remediate.service import Handled, RemediationService
from netguard_cli.commands import exits_on


def _service() -> RemediationService:
    return build_service(Settings.from_env())


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _print_handled(handled: Handled | None) -> None:
    if handled is None:
        return
    _print(report_to_dict(handled.report))


def _status(args: argparse.Namespace) -> int:
    service = _service()
    settings = service.settings
    cluster = settings.cluster(args.cluster).name
    switch = service.kill_switch.read(cluster)
    status: dict[str, Any] = {
        "cluster": cluster,
        "kill_switch": {"engaged": switch.engaged, "reason": switch.reason},
        "modes": {"coredns": settings.coredns_mode.value, "nodelocal": settings.nodelocal_mode.value},
        "limits": {
            "max_replicas": settings.coredns_max_replicas,
            "step": settings.coredns_step,
            "cooldown_seconds": settings.cooldown_seconds,
        },
        "lock_holder": service.lock_holder(cluster),
        "history": history_to_dict(service.history(cluster)),
        "recent_decisions": service.audit_records(cluster, limit=args.limit),
    }
    try:
        status["cluster_dns"] = operator.state_summary(service.connect(cluster))
    except Exception as exc:  # noqa: BLE001 - status still shows what the table holds
        status["cluster_dns"] = {"error": str(exc)}
    _print(status)
    return 0


def _pause(args: argparse.Namespace, *, paused: bool) -> int:
    if not args.all and not args.cluster:
        print("netguard remediation: give --cluster NAME or --all", file=sys.stderr)
        return 2
    service = _service()
    cluster = None if args.all else service.settings.cluster(args.cluster).name
    value = service.kill_switch.set(cluster, paused=paused)
    verb = "paused" if paused else "resumed"
    scope = "all clusters" if cluster is None else cluster
    report = service.record_operator_note(
        cluster or "all",
        f"operator {verb} remediation for {scope} (kill switch now {json.dumps(value)})",
        by=_who(),
    )
    _print({"kill_switch": value, "decision_id": report.decision_id})
    return 0


def _revert(args: argparse.Namespace) -> int:
    service = _service()
    cluster = service.settings.cluster(args.cluster).name
    if service.history(cluster).nodelocal_enabled_by_netguard:
        _print_handled(service.operator(cluster, operator.revert_nodelocal, dry_run=args.dry_run, by=_who()))
    if service.history(cluster).original_spread is not None:
        _print_handled(service.operator(cluster, operator.revert_spread, dry_run=args.dry_run, by=_who()))
    _print_handled(service.operator(cluster, operator.revert_coredns, dry_run=args.dry_run, by=_who()))
    return 0


def _disable_nodelocal(args: argparse.Namespace) -> int:
    service = _service()
    cluster = service.settings.cluster(args.cluster).name
    _print_handled(service.operator(cluster, operator.disable_nodelocal, dry_run=args.dry_run, by=_who()))
    return 0


_guarded = exits_on(NetguardError, "remediation")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "remediation", help="inspect, pause, resume or revert DNS remediation (same settings as the Lambda)"
    )
    commands = parser.add_subparsers(dest="remediation_command", required=True, metavar="SUBCOMMAND")

    status = commands.add_parser(
        "status", help="kill switch, modes, lock, history, recent decisions, cluster DNS"
    )
    status.add_argument("--cluster", default="", help="cluster name (default: DEFAULT_CLUSTER)")
    status.add_argument("--limit", type=int, default=10, help="how many recent decisions to show")
    status.set_defaults(func=_guarded(_status))

    for name, paused in (("pause", True), ("resume", False)):
        sub = commands.add_parser(name, help=f"{name} automatic remediation (kill switch; no redeploy)")
        scope = sub.add_mutually_exclusive_group()
        scope.add_argument("--cluster", default="", help="one cluster")
        scope.add_argument("--all", action="store_true", help="every cluster")
        sub.set_defaults(func=_guarded(functools.partial(_pause, paused=paused)))

    revert = commands.add_parser(
        "revert", help="undo what netguard changed (CoreDNS floor and spread, NodeLocal DNSCache)"
    )
    revert.add_argument("--cluster", default="", help="cluster name (default: DEFAULT_CLUSTER)")
    revert.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    revert.set_defaults(func=_guarded(_revert))

    disable = commands.add_parser(
        "disable-nodelocal", help="remove the NodeLocal DNSCache objects netguard applied"
    )
    disable.add_argument("--cluster", default="", help="cluster name (default: DEFAULT_CLUSTER)")
    disable.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    disable.set_defaults(func=_guarded(_disable_nodelocal))
