"""`netguard nodelocal manifest`: print the NodeLocal DNSCache objects netguard would apply to a cluster.

For operators who pre-apply NodeLocal DNSCache themselves (docs/security.md) instead of letting the
remediation identity create objects in kube-system. The values come from the arguments or, for what
is not given, from the live cluster (`--kubeconfig`, else KUBECONFIG): the kube-dns Service IP and the
cluster domain, exactly as the remediation function reads them.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import yaml

from netguard.clients.kubernetes import kube_from_kubeconfig
from netguard.dns import observe_cluster_dns
from netguard.errors import NetguardError
from netguard.remediate.actuators.nodelocal import DEFAULT_DOMAIN, DEFAULT_LOCAL_IP, render_manifest

APPLY_HINT = "kubectl apply --server-side --field-manager=netguard -f -"


def manifest_text(kube_dns_ip: str, local_ip: str, domain: str) -> str:
    """The objects as one multi-document YAML, in the order netguard applies them."""
    objects = render_manifest(kube_dns_ip, local_ip, domain)
    header = (
        f"# NodeLocal DNSCache as netguard applies it (kube-dns {kube_dns_ip}, listening on {local_ip}, "
        f"domain {domain}).\n# Apply with: {APPLY_HINT}\n"
    )
    return header + yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False)


def _from_cluster(kubeconfig: str) -> tuple[str, str]:
    dns = observe_cluster_dns(kube_from_kubeconfig(kubeconfig))
    if not dns.kube_dns_ip:
        raise NetguardError("the cluster has no kube-dns Service; pass --kube-dns-ip")
    if dns.kube_proxy_mode == "ipvs":
        print(
            "netguard nodelocal manifest: warning: kube-proxy runs in IPVS mode; this manifest is for "
            "iptables mode (kubelet's --cluster-dns would have to change)",
            file=sys.stderr,
        )
    return dns.kube_dns_ip, dns.cluster_domain or DEFAULT_DOMAIN


def _manifest(args: argparse.Namespace) -> int:
    kube_dns_ip, domain = args.kube_dns_ip, args.domain
    if not kube_dns_ip:
        kubeconfig = args.kubeconfig or os.environ.get("KUBECONFIG", "")
        if not kubeconfig:
            print(
                "netguard nodelocal manifest: give --kube-dns-ip, or --kubeconfig (or KUBECONFIG) to read it",
                file=sys.stderr,
            )
            return 2
        try:
            kube_dns_ip, observed_domain = _from_cluster(kubeconfig)
        except NetguardError as exc:
            print(f"netguard nodelocal manifest: {exc}", file=sys.stderr)
            return 1
        domain = domain or observed_domain
    try:
        text = manifest_text(kube_dns_ip, args.local_ip, domain or DEFAULT_DOMAIN)
    except NetguardError as exc:
        print(f"netguard nodelocal manifest: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("nodelocal", help="NodeLocal DNSCache manifests for operators")
    actions = parser.add_subparsers(dest="nodelocal_command", required=True, metavar="ACTION")
    manifest = actions.add_parser(
        "manifest",
        help="print the exact NodeLocal DNSCache objects netguard would apply to a cluster",
        description=__doc__,
    )
    manifest.add_argument(
        "--kube-dns-ip", default="", help="ClusterIP of kube-dns (default: read from the cluster)"
    )
    manifest.add_argument(
        "--local-ip", default=DEFAULT_LOCAL_IP, help=f"listen address (default {DEFAULT_LOCAL_IP})"
    )
    manifest.add_argument(
        "--domain", default="", help=f"cluster domain (default: the cluster's, else {DEFAULT_DOMAIN})"
    )
    manifest.add_argument("--kubeconfig", default="", help="kubeconfig of the cluster (default: KUBECONFIG)")
    manifest.set_defaults(func=_manifest)
