"""Making the local cluster look like EKS: kube-system as EKS ships it, and nodes backed by EC2.

Pure builders return manifests (dicts); `seed` applies them with the field manager `netguard-seed`.
`create_ec2_instances` creates matching instances in an EC2 endpoint (moto), so the cluster and EC2
agree on node names, private IPs, instance ids, types and zones.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from netguard.clients.kubernetes import JsonObject, Kube, KubeNotFound
from netguard_cli.localstack.manifests import apply_all
from netguard_cli.localstack.models import ClusterNode
from netguard_cli.localstack.processes import wait_until

SEED_FIELD_MANAGER = "netguard-seed"
CLUSTER_NAME = "netguard-local"
REGION = "us-east-1"
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
VPC_CIDR = "10.0.0.0/16"
SERVICE_CIDR = "10.100.0.0/16"
DNS_SERVICE_IP = "10.100.0.10"
"""The kube-dns ClusterIP, as on an EKS cluster whose VPC is not in 10.100.0.0/16."""
COREDNS_IMAGE = "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/coredns:v1.11.4-eksbuild.2"
COREDNS_REPLICAS = 2
KWOK_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
"""kwok manages (marks Ready, runs pods on) only nodes with this annotation."""
KUBE_SYSTEM = "kube-system"
ProxyMode = Literal["iptables", "ipvs"]


@dataclass(frozen=True)
class InstanceShape:
    instance_type: str
    nodegroup: str
    cpu: str
    allocatable_cpu: str
    memory: str
    allocatable_memory: str
    pods: str


# Capacity as kubelet reports it on EKS AL2023 nodes (max pods from the VPC CNI's ENI limits).
SHAPES = (
    InstanceShape("m5.large", "ng-general", "2", "1930m", "7936400Ki", "7220112Ki", "29"),
    InstanceShape("c5.xlarge", "ng-compute", "4", "3920m", "7934608Ki", "7218320Ki", "58"),
)


@dataclass(frozen=True)
class NodePlan:
    """A node before it has an instance id."""

    name: str
    internal_ip: str
    az: str
    subnet_cidr: str
    shape: InstanceShape


# --- nodes ---------------------------------------------------------------------------------------


def plan_nodes(count: int) -> tuple[NodePlan, ...]:
    """`count` nodes round-robin over three zones (one /24 per zone), alternating instance types."""
    plans = []
    for index in range(count):
        zone = index % len(ZONES)
        third_octet = zone + 1
        host = 23 + 10 * (index // len(ZONES))
        if host > 254:
            raise ValueError(f"at most {3 * 24} simulated nodes")
        ip = f"10.0.{third_octet}.{host}"
        plans.append(
            NodePlan(
                name=f"ip-{ip.replace('.', '-')}.ec2.internal",
                internal_ip=ip,
                az=ZONES[zone],
                subnet_cidr=f"10.0.{third_octet}.0/24",
                shape=SHAPES[index % len(SHAPES)],
            )
        )
    return tuple(plans)


def deterministic_instance_id(name: str, cluster_name: str = CLUSTER_NAME) -> str:
    """An id shaped like EC2's (`i-` and 17 hex digits), stable for a node name."""
    return "i-0" + hashlib.sha256(f"{cluster_name}/{name}".encode()).hexdigest()[:16]


def nodes_without_ec2(plans: Sequence[NodePlan], cluster_name: str = CLUSTER_NAME) -> tuple[ClusterNode, ...]:
    return tuple(_node(plan, deterministic_instance_id(plan.name, cluster_name)) for plan in plans)


def create_ec2_instances(
    ec2: Any, plans: Sequence[NodePlan], cluster_name: str = CLUSTER_NAME
) -> tuple[ClusterNode, ...]:
    """A VPC, a subnet per zone and one instance per planned node in `ec2` (a boto3 EC2 client)."""
    vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": f"{cluster_name}-vpc"}])
    subnets: dict[str, str] = {}
    for plan in plans:
        if plan.az not in subnets:
            subnets[plan.az] = ec2.create_subnet(
                VpcId=vpc_id, CidrBlock=plan.subnet_cidr, AvailabilityZone=plan.az
            )["Subnet"]["SubnetId"]
    nodes = []
    for plan in plans:
        tags = [
            {"Key": "Name", "Value": f"{cluster_name}-{plan.shape.nodegroup}-node"},
            {"Key": "eks:cluster-name", "Value": cluster_name},
            {"Key": "eks:nodegroup-name", "Value": plan.shape.nodegroup},
            {"Key": f"kubernetes.io/cluster/{cluster_name}", "Value": "owned"},
        ]
        instance = ec2.run_instances(
            ImageId="ami-0eks1a2b3c4d5e6f7",
            MinCount=1,
            MaxCount=1,
            InstanceType=plan.shape.instance_type,
            SubnetId=subnets[plan.az],
            PrivateIpAddress=plan.internal_ip,
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )["Instances"][0]
        nodes.append(_node(plan, instance["InstanceId"]))
    return tuple(nodes)


def _node(plan: NodePlan, instance_id: str) -> ClusterNode:
    return ClusterNode(
        name=plan.name,
        internal_ip=plan.internal_ip,
        instance_id=instance_id,
        az=plan.az,
        instance_type=plan.shape.instance_type,
        nodegroup=plan.shape.nodegroup,
    )


def node_manifest(node: ClusterNode) -> JsonObject:
    """A Node as an EKS managed node group registers it, annotated for kwok."""
    shape = next(s for s in SHAPES if s.instance_type == node.instance_type)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": {
                "kubernetes.io/hostname": node.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": node.instance_type,
                "topology.kubernetes.io/zone": node.az,
                "topology.kubernetes.io/region": REGION,
                "eks.amazonaws.com/nodegroup": node.nodegroup,
                "eks.amazonaws.com/capacityType": "ON_DEMAND",
            },
            "annotations": {
                KWOK_ANNOTATION[0]: KWOK_ANNOTATION[1],
                "alpha.kubernetes.io/provided-node-ip": node.internal_ip,
            },
        },
        "spec": {"providerID": node.provider_id},
        "status": node_status(node, shape),
    }


def node_status(node: ClusterNode, shape: InstanceShape) -> JsonObject:
    return {
        "addresses": [
            {"type": "InternalIP", "address": node.internal_ip},
            {"type": "InternalDNS", "address": node.name},
            {"type": "Hostname", "address": node.name},
        ],
        "capacity": {
            "cpu": shape.cpu,
            "memory": shape.memory,
            "pods": shape.pods,
            "ephemeral-storage": "20959212Ki",
        },
        "allocatable": {
            "cpu": shape.allocatable_cpu,
            "memory": shape.allocatable_memory,
            "pods": shape.pods,
            "ephemeral-storage": "18242267924",
        },
        "nodeInfo": {
            "architecture": "amd64",
            "operatingSystem": "linux",
            "osImage": "Amazon Linux 2023.6.20250203",
            "kernelVersion": "6.1.127-135.201.amzn2023.x86_64",
            "containerRuntimeVersion": "containerd://1.7.25",
            "kubeletVersion": "v1.35.4-eks-59bf375",
            "kubeProxyVersion": "v1.35.4-eks-59bf375",
            "bootID": "",
            "machineID": "",
            "systemUUID": "",
        },
    }


# --- kube-system ---------------------------------------------------------------------------------

COREFILE = """\
.:53 {
    errors
    health {
        lameduck 5s
      }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}
"""

_COREDNS_LABELS = {"k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns"}


def coredns_deployment(replicas: int = COREDNS_REPLICAS) -> JsonObject:
    """kube-system/coredns as EKS ships it: 2 replicas and only a *preferred* anti-affinity."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "coredns",
            "namespace": KUBE_SYSTEM,
            "labels": {**_COREDNS_LABELS, "kubernetes.io/name": "CoreDNS"},
        },
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}},
            "selector": {"matchLabels": dict(_COREDNS_LABELS)},
            "template": {
                "metadata": {"labels": dict(_COREDNS_LABELS)},
                "spec": {
                    "serviceAccountName": "coredns",
                    "priorityClassName": "system-cluster-critical",
                    "dnsPolicy": "Default",
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {
                                        "matchExpressions": [
                                            {
                                                "key": "kubernetes.io/os",
                                                "operator": "In",
                                                "values": ["linux"],
                                            },
                                            {
                                                "key": "kubernetes.io/arch",
                                                "operator": "In",
                                                "values": ["amd64", "arm64"],
                                            },
                                        ]
                                    }
                                ]
                            }
                        },
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "weight": 100,
                                    "podAffinityTerm": {
                                        "labelSelector": {
                                            "matchExpressions": [
                                                {"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}
                                            ]
                                        },
                                        "topologyKey": "kubernetes.io/hostname",
                                    },
                                }
                            ]
                        },
                    },
                    "tolerations": [
                        {"key": "CriticalAddonsOnly", "operator": "Exists"},
                        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
                    ],
                    "containers": [
                        {
                            "name": "coredns",
                            "image": COREDNS_IMAGE,
                            "imagePullPolicy": "IfNotPresent",
                            "args": ["-conf", "/etc/coredns/Corefile"],
                            "resources": {
                                "limits": {"memory": "170Mi"},
                                "requests": {"cpu": "100m", "memory": "70Mi"},
                            },
                            "ports": [
                                {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
                            ],
                            "volumeMounts": [
                                {"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": True},
                                {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 -- a manifest, as EKS ships it
                            ],
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                                "readOnlyRootFilesystem": True,
                            },
                            "livenessProbe": {
                                "httpGet": {"path": "/health", "port": 8080, "scheme": "HTTP"},
                                "initialDelaySeconds": 60,
                                "timeoutSeconds": 5,
                                "successThreshold": 1,
                                "failureThreshold": 5,
                            },
                            "readinessProbe": {
                                "httpGet": {"path": "/ready", "port": 8181, "scheme": "HTTP"},
                            },
                        }
                    ],
                    "volumes": [
                        {"name": "tmp", "emptyDir": {}},
                        {
                            "name": "config-volume",
                            "configMap": {
                                "name": "coredns",
                                "items": [{"key": "Corefile", "path": "Corefile"}],
                            },
                        },
                    ],
                },
            },
        },
    }


def kube_proxy_configuration(mode: ProxyMode = "iptables") -> str:
    """The KubeProxyConfiguration text EKS ships (`iptables`), or its `ipvs` variant."""
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "bindAddress": "0.0.0.0",  # noqa: S104 -- kube-proxy settings, as EKS ships them
        "clientConnection": {
            "acceptContentTypes": "",
            "burst": 10,
            "contentType": "application/vnd.kubernetes.protobuf",
            "kubeconfig": "/var/lib/kube-proxy/kubeconfig",
            "qps": 5,
        },
        "clusterCIDR": "",
        "configSyncPeriod": "15m0s",
        "conntrack": {
            "maxPerCore": 32768,
            "min": 131072,
            "tcpCloseWaitTimeout": "1h0m0s",
            "tcpEstablishedTimeout": "24h0m0s",
        },
        "enableProfiling": False,
        "healthzBindAddress": "0.0.0.0:10256",
        "hostnameOverride": "",
        "iptables": {"masqueradeAll": False, "masqueradeBit": 14, "minSyncPeriod": "0s", "syncPeriod": "30s"},
        "ipvs": {
            "excludeCIDRs": None,
            "minSyncPeriod": "0s",
            "scheduler": "rr" if mode == "ipvs" else "",
            "syncPeriod": "30s",
        },
        "metricsBindAddress": "0.0.0.0:10249",
        "mode": mode,
        "nodePortAddresses": None,
        "oomScoreAdj": -998,
        "portRange": "",
        "udpIdleTimeout": "250ms",
    }
    return yaml.safe_dump(config, sort_keys=True)


_KUBE_PROXY_KUBECONFIG = """\
kind: Config
apiVersion: v1
clusters:
- cluster:
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    server: https://kubernetes.default.svc
  name: default
contexts:
- context:
    cluster: default
    namespace: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
"""


def kube_proxy_configmaps(mode: ProxyMode = "iptables") -> list[JsonObject]:
    """EKS keeps kube-proxy's settings in `kube-proxy-config` (key `config`) and its kubeconfig in
    `kube-proxy` (key `kubeconfig`); `kube-proxy` also carries `config` here, for readers that look
    there (kubeadm-style clusters)."""
    labels = {"eks.amazonaws.com/component": "kube-proxy", "k8s-app": "kube-proxy"}
    config = kube_proxy_configuration(mode)
    return [
        _configmap("kube-proxy-config", {"config": config}, labels),
        _configmap("kube-proxy", {"kubeconfig": _KUBE_PROXY_KUBECONFIG, "config": config}, labels),
    ]


def _configmap(name: str, data: dict[str, str], labels: dict[str, str]) -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": KUBE_SYSTEM, "labels": labels},
        "data": data,
    }


def kube_system_manifests(mode: ProxyMode = "iptables") -> list[JsonObject]:
    """Everything `seed` puts in kube-system, in apply order."""
    coredns_labels = {**_COREDNS_LABELS, "kubernetes.io/name": "CoreDNS"}
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "coredns", "namespace": KUBE_SYSTEM, "labels": dict(_COREDNS_LABELS)},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "system:coredns", "labels": {"eks.amazonaws.com/component": "coredns"}},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["endpoints", "services", "pods", "namespaces"],
                    "verbs": ["list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:coredns", "labels": {"eks.amazonaws.com/component": "coredns"}},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:coredns",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": KUBE_SYSTEM}],
        },
        _configmap("coredns", {"Corefile": COREFILE}, dict(_COREDNS_LABELS)),
        *kube_proxy_configmaps(mode),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kube-dns",
                "namespace": KUBE_SYSTEM,
                "labels": {
                    "k8s-app": "kube-dns",
                    "kubernetes.io/cluster-service": "true",
                    "kubernetes.io/name": "CoreDNS",
                    "eks.amazonaws.com/component": "kube-dns",
                },
                "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
            },
            "spec": {
                "selector": {"k8s-app": "kube-dns"},
                "clusterIP": DNS_SERVICE_IP,
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                    {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
                ],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "coredns", "namespace": KUBE_SYSTEM, "labels": coredns_labels},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(_COREDNS_LABELS)}},
        },
        coredns_deployment(),
    ]


# --- applying ------------------------------------------------------------------------------------


def seed_nodes(client: Kube, nodes: Sequence[ClusterNode]) -> None:
    """Create (or restore) the nodes; their status (addresses, capacity) is applied too."""
    for node in nodes:
        manifest = node_manifest(node)
        client.apply(manifest, field_manager=SEED_FIELD_MANAGER, force=True)
        status_patch = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": node.name},
            "status": manifest["status"],
        }
        client.apply(status_patch, field_manager=SEED_FIELD_MANAGER, force=True, subresource="status")


def seed_kube_system(client: Kube, mode: ProxyMode = "iptables") -> None:
    apply_all(client, kube_system_manifests(mode), field_manager=SEED_FIELD_MANAGER)


def set_kube_proxy_mode(client: Kube, mode: ProxyMode) -> None:
    """Switch the kube-proxy ConfigMaps to `mode` (tests of the NodeLocal DNSCache precondition)."""
    apply_all(client, kube_proxy_configmaps(mode), field_manager=SEED_FIELD_MANAGER)


def seed(
    client: Kube,
    *,
    node_count: int = 6,
    ec2: Any | None = None,
    cluster_name: str = CLUSTER_NAME,
) -> tuple[ClusterNode, ...]:
    """Seed kube-system and `node_count` nodes; with `ec2`, the nodes' instances are created there first."""
    plans = plan_nodes(node_count)
    nodes = (
        create_ec2_instances(ec2, plans, cluster_name)
        if ec2 is not None
        else nodes_without_ec2(plans, cluster_name)
    )
    seed_nodes(client, nodes)
    seed_kube_system(client)
    return nodes


# --- placing CoreDNS -----------------------------------------------------------------------------

COREDNS_DEPLOYMENT_PATH = f"/apis/apps/v1/namespaces/{KUBE_SYSTEM}/deployments/coredns"
COREDNS_SELECTOR = "k8s-app=kube-dns"


def coredns_placement(client: Kube) -> tuple[str, ...]:
    """The node of every Ready, not terminating CoreDNS pod, sorted (a node twice = two pods on it)."""
    pods = client.list_all(client.core.list_namespaced_pod, KUBE_SYSTEM, label_selector=COREDNS_SELECTOR)
    return tuple(
        sorted(
            p["spec"]["nodeName"]
            for p in pods
            if not p["metadata"].get("deletionTimestamp")
            and (p.get("spec") or {}).get("nodeName")
            and any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (p.get("status") or {}).get("conditions") or []
            )
        )
    )


def place_coredns(client: Kube, nodes: Sequence[str], *, timeout: float = 60.0) -> None:
    """CoreDNS with one Ready pod on each of `nodes` (a name twice = two pods there), chosen, not left
    to the scheduler: EKS's anti-affinity is only preferred, so where pods land otherwise varies from
    run to run. No pin goes into the pod template (it would roll the pods and stay behind): the seeded
    Deployment is re-applied with one more replica at a time while every other node is cordoned, and
    all nodes are uncordoned at the end, so later scheduling is free. Call it on the seeded baseline."""
    wanted = tuple(sorted(nodes))
    if not wanted:
        raise ValueError("place at least one CoreDNS pod")
    if coredns_placement(client) == wanted and _coredns_pod_count(client) == len(wanted):
        return
    names = [n["metadata"]["name"] for n in client.list_all(client.core.list_node)]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise ValueError(f"no such node(s): {', '.join(unknown)}")
    try:
        _scale_coredns(client, 0)
        wait_until(lambda: _coredns_pod_count(client) == 0, what="no CoreDNS pod left", timeout=timeout)
        for index, node in enumerate(nodes):
            for name in names:
                _cordon(client, name, cordoned=name != node)
            _scale_coredns(client, index + 1)
            placed = sorted(nodes[: index + 1])
            wait_until(
                lambda placed=placed: list(coredns_placement(client)) == placed,  # type: ignore[misc]
                what=f"placing CoreDNS: pod {index + 1} Ready on {node}",
                timeout=timeout,
            )
    finally:
        for name in names:
            _cordon(client, name, cordoned=False)


def _coredns_pod_count(client: Kube) -> int:
    return len(client.list_all(client.core.list_namespaced_pod, KUBE_SYSTEM, label_selector=COREDNS_SELECTOR))


def _scale_coredns(client: Kube, replicas: int) -> None:
    """Re-apply the seeded Deployment with `replicas`, as the seed's own apply: its field ownership
    stays as seeded (a write to the scale subresource by the seed would leave `spec.replicas` owned
    by nobody, and later /scale writers unrecorded, which tests of field ownership would notice)."""
    client.apply(coredns_deployment(replicas), field_manager=SEED_FIELD_MANAGER, force=True)


def _cordon(client: Kube, node: str, *, cordoned: bool) -> None:
    client.merge(
        client.core.patch_node,
        node,
        patch={"spec": {"unschedulable": True if cordoned else None}},
        field_manager=SEED_FIELD_MANAGER,
    )


# --- back to the seeded baseline (tests, scenarios) ----------------------------------------------

RESET_KINDS = (
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "Deployment"),
    ("policy/v1", "PodDisruptionBudget"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "ServiceAccount"),
)
"""Kinds in kube-system that `restore_kube_system` brings back to the seeded baseline: anything
created there since (an HPA, cluster-proportional-autoscaler, NodeLocal DNSCache objects) is deleted."""
_SYSTEM_NAMES = frozenset(
    {
        "default",
        "kube-root-ca.crt",
        "extension-apiserver-authentication",
        "kube-apiserver-legacy-service-account-token-tracking",
    }
)
"""Created by the control plane itself, possibly after the baseline snapshot: never deleted."""
JSON_PATCH = "application/json-patch+json"

Baseline = Mapping[tuple[str, str], frozenset[str]]


def kube_system_names(client: Kube) -> dict[tuple[str, str], frozenset[str]]:
    """The baseline: names of each reset kind in kube-system, right after seeding."""
    return {kind: frozenset(_names(client, *kind)) for kind in RESET_KINDS}


def restore_kube_system(client: Kube, baseline: Baseline, nodes: Sequence[ClusterNode]) -> None:
    """Delete what was added to kube-system since `baseline`, re-apply the seeded objects (replacing
    fields other managers added), and make every node present, schedulable and untainted."""
    for kind in RESET_KINDS:
        keep = baseline.get(kind, frozenset()) | _SYSTEM_NAMES
        for name in _names(client, *kind):
            if name not in keep:
                with contextlib.suppress(KubeNotFound):
                    client.delete(_ref(*kind, name))
    seed_kube_system(client)
    _replace_foreign_changes(client)
    _restore_nodes(client, nodes)


def _ref(api_version: str, kind: str, name: str) -> JsonObject:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": KUBE_SYSTEM}}


def _names(client: Kube, api_version: str, kind: str) -> list[str]:
    method, _ = client.method_for("list", _ref(api_version, kind, ""))
    return [item["metadata"]["name"] for item in client.list_all(method, KUBE_SYSTEM)]


def _replace_foreign_changes(client: Kube) -> None:
    """Server-side apply leaves fields other managers added; replace them with the seeded values."""
    deployment = coredns_deployment()
    current = client.call(client.apps.read_namespaced_deployment, "coredns", KUBE_SYSTEM)
    annotations = {
        key: value
        for key, value in (current["metadata"].get("annotations") or {}).items()
        if key.startswith("deployment.kubernetes.io/")
    }
    client.call(
        client.apps.patch_namespaced_deployment,
        "coredns",
        KUBE_SYSTEM,
        [
            {"op": "replace", "path": "/spec", "value": deployment["spec"]},
            {"op": "replace", "path": "/metadata/labels", "value": deployment["metadata"]["labels"]},
            {"op": "add", "path": "/metadata/annotations", "value": annotations},
        ],
        field_manager=SEED_FIELD_MANAGER,
        _content_type=JSON_PATCH,
    )
    for manifest in kube_system_manifests():
        if manifest["kind"] == "ConfigMap":
            client.call(
                client.core.patch_namespaced_config_map,
                manifest["metadata"]["name"],
                KUBE_SYSTEM,
                [{"op": "replace", "path": "/data", "value": manifest["data"]}],
                field_manager=SEED_FIELD_MANAGER,
                _content_type=JSON_PATCH,
            )


def _restore_nodes(client: Kube, nodes: Sequence[ClusterNode]) -> None:
    present = {node["metadata"]["name"]: node for node in client.list_all(client.core.list_node)}
    missing = [node for node in nodes if node.name not in present]
    if missing:
        seed_nodes(client, missing)
    for name, node in present.items():
        spec = node.get("spec", {})
        if spec.get("unschedulable") or spec.get("taints"):
            client.merge(
                client.core.patch_node, name, patch={"spec": {"unschedulable": None, "taints": None}}
            )
