"""From alert labels to look-up keys: which cluster, IP, DNS name, instance id and node an alert
points at. Pure; the enrichers turn these keys into bulk API calls.

The ethtool exporter runs on the host network, so the IP in its `instance` label is the node's.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

from netguard.enrich.models import AlertTarget

NODE_LABELS = ("node", "kubernetes_node", "nodename", "node_name", "k8s_node_name")
INSTANCE_ID_LABELS = ("instance_id", "ec2_instance_id", "instanceId", "instance-id")
IP_LABELS = ("host_ip", "node_ip", "private_ip", "internal_ip")

_INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")
_EC2_HOSTNAME = re.compile(r"^ip-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(\..+)?$", re.IGNORECASE)


def resolve_target(
    labels: Mapping[str, str], *, cluster_label: str = "cluster", default_cluster: str = ""
) -> AlertTarget:
    """Where one alert fired, from whatever its labels carry."""
    cluster = labels.get(cluster_label, "").strip() or default_cluster
    ip = dns_name = instance_id = node_name = ""

    instance = labels.get("instance", "").strip()
    host = _strip_port(instance)
    if _is_ipv4(host):
        ip = host
    elif _INSTANCE_ID.match(host):
        instance_id = host
    elif host:
        node_name = host
        dns_name = host.lower() if "." in host and _EC2_HOSTNAME.match(host) else ""

    for name in NODE_LABELS:
        value = labels.get(name, "").strip()
        if value:
            node_name = value
            if not dns_name and _EC2_HOSTNAME.match(value) and "." in value:
                dns_name = value.lower()
            break
    for name in INSTANCE_ID_LABELS:
        value = labels.get(name, "").strip()
        if value and _INSTANCE_ID.match(value):
            instance_id = value
            break
    if not ip:
        for name in IP_LABELS:
            value = _strip_port(labels.get(name, "").strip())
            if _is_ipv4(value):
                ip = value
                break
    if not ip and (dns_name or node_name):
        ip = ip_from_ec2_hostname(dns_name or node_name)
    return AlertTarget(
        cluster=cluster,
        ip=ip,
        dns_name=dns_name,
        instance_id=instance_id,
        node_name=node_name,
        instance_label=instance,
    )


def ip_from_ec2_hostname(name: str) -> str:
    """`ip-10-0-1-5.ec2.internal` -> `10.0.1.5`; "" when the name is not an EC2 host name."""
    match = _EC2_HOSTNAME.match(name)
    if not match:
        return ""
    candidate = ".".join(match.group(i) for i in range(1, 5))
    return candidate if _is_ipv4(candidate) else ""


def _strip_port(value: str) -> str:
    """`10.0.1.5:9100` -> `10.0.1.5`; `[fd00::1]:9100` -> `fd00::1`; a bare host stays as it is."""
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def _is_ipv4(value: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address)
    except ValueError:
        return False
