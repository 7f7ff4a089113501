"""`netguard cluster up|down|status`: the local Kubernetes control plane in the background.

`up` starts etcd, kube-apiserver, controller-manager, scheduler and kwok on free loopback ports,
applies deploy/rbac/, seeds an EKS-like kube-system and nodes (optionally backed by EC2 instances
in a moto endpoint) and prints the kubeconfig paths; `down` stops everything `up` started.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from netguard_cli.localstack import cluster, seed

DEFAULT_DIR = Path(".netguard")


def _ec2_client(endpoint: str, region: str) -> Any:
    import boto3  # noqa: PLC0415 -- only when an EC2 endpoint is given

    session = boto3.session.Session(region_name=region)
    if session.get_credentials() is None:
        # A local endpoint (moto) accepts any credentials; never used against AWS itself.
        session = boto3.session.Session(
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 -- moto only
        )
    return session.client("ec2", endpoint_url=endpoint)


def _up(args: argparse.Namespace) -> int:
    options = cluster.ClusterOptions(
        directory=args.dir,
        bin_dir=args.bin_dir,
        node_count=args.nodes,
        timeout=args.timeout,
    )
    ec2 = _ec2_client(args.ec2_endpoint, args.region) if args.ec2_endpoint else None
    try:
        running = cluster.up(options, ec2=ec2)
    except cluster.ClusterError as exc:
        print(f"netguard cluster up: {exc}", file=sys.stderr)
        return 1
    endpoints = running.endpoints
    print(f"API server   {endpoints.server}")
    for identity, path in endpoints.kubeconfigs.items():
        print(f"{identity:<12} {path}")
    print(f"nodes        {len(running.nodes)} ({', '.join(node.name for node in running.nodes[:3])}, ...)")
    print(f"started in   {running.timings.get('total', 0):.1f}s  {json.dumps(running.timings)}")
    print(f"stop with    netguard cluster down --dir {args.dir}")
    return 0


def _down(args: argparse.Namespace) -> int:
    stopped = cluster.down(args.dir)
    print(f"stopped: {', '.join(stopped)}" if stopped else f"no cluster running from {args.dir}")
    return 0


def _status(args: argparse.Namespace) -> int:
    state = cluster.read_state(args.dir)
    if state is None:
        print(f"no cluster running from {args.dir}")
        return 1
    alive = cluster.running_pids(args.dir)
    ready = cluster.https_ok(f"{state['server']}/readyz", ca_file=Path(state["ca_file"]))
    for name, pid in state.get("pids", {}).items():
        print(f"{name:<24} pid {pid:<8} {'running' if name in alive else 'STOPPED'}")
    print(f"API server {state['server']}: {'ready' if ready else 'NOT READY'}")
    for identity, path in state.get("kubeconfigs", {}).items():
        print(f"{identity:<12} {path}")
    return 0 if ready and len(alive) == len(state.get("pids", {})) else 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("cluster", help="start/stop the local Kubernetes control plane")
    actions = parser.add_subparsers(dest="cluster_command", required=True, metavar="ACTION")

    up = actions.add_parser("up", help="start the control plane and kwok, apply RBAC, seed EKS-like objects")
    up.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help="state, kubeconfigs and logs (default .netguard)"
    )
    up.add_argument("--nodes", type=int, default=6, help="simulated worker nodes (default 6)")
    up.add_argument(
        "--ec2-endpoint", metavar="URL", help="create matching EC2 instances there (a moto server)"
    )
    up.add_argument("--region", default=seed.REGION, help="EC2 region (default us-east-1)")
    up.add_argument("--bin-dir", type=Path, help="binaries directory (default: tools/k8s/build.sh output)")
    up.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each component")
    up.set_defaults(func=_up)

    down = actions.add_parser("down", help="stop what `cluster up` started")
    down.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    down.set_defaults(func=_down)

    status = actions.add_parser("status", help="show the components and whether the API server is ready")
    status.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    status.set_defaults(func=_status)
