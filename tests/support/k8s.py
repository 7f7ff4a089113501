"""The real local Kubernetes control plane for a test session, and an EC2 world that matches it.

`k8s_cluster` (session): etcd, kube-apiserver, controller-manager, scheduler and kwok on loopback,
deploy/rbac/ applied, kube-system seeded as on EKS, six kwok nodes backed by EC2 instances in a moto
server of its own. `eks_world` (session) exposes that moto server; `eks_env` (per test) points boto3
at it and restores the kube-system baseline. Everything is stopped at the end of the session, even
when tests fail; the components also die with the test process if it is killed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from netguard.clients import aws, eks
from netguard.clients.kubernetes import KubeClient, client_from_kubeconfig
from netguard_cli.localstack import cluster, processes, seed
from netguard_cli.localstack.models import ClusterNode

REGION = seed.REGION
KUBE_SYSTEM = seed.KUBE_SYSTEM
COREDNS = f"/apis/apps/v1/namespaces/{KUBE_SYSTEM}/deployments/coredns"


@dataclass
class K8sCluster:
    """The session's cluster: clients per identity, its nodes, and a way back to the seeded baseline."""

    running: cluster.LocalCluster
    admin: KubeClient
    nodes: tuple[ClusterNode, ...]
    _baseline: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def server(self) -> str:
        return self.running.endpoints.server

    @property
    def directory(self) -> Path:
        return self.running.endpoints.directory

    def kubeconfig(self, identity: str) -> Path:
        """`admin`, `enrich` or `remediate`: a token user in the group deploy/rbac binds."""
        return self.running.kubeconfig(identity)

    def client(self, identity: str) -> KubeClient:
        """A new client (own `.calls` counter) for an identity."""
        return client_from_kubeconfig(self.kubeconfig(identity))

    def snapshot_baseline(self) -> None:
        self._baseline = seed.kube_system_names(self.admin)

    def reset_dns(self, *, timeout: float = 60.0) -> None:
        """Restore the seeded kube-system: no extra objects, coredns as seeded with 2 Ready pods
        wherever the scheduler put them (see `place_coredns`), kube-proxy in iptables mode, nodes
        schedulable and untainted."""
        seed.restore_kube_system(self.admin, self._baseline, self.nodes)
        processes.wait_until(
            lambda: (
                cluster.deployment_settled(self.admin, KUBE_SYSTEM, "coredns", seed.COREDNS_REPLICAS)
                and len(self.admin.list(f"/api/v1/namespaces/{KUBE_SYSTEM}/pods")) == seed.COREDNS_REPLICAS
            ),
            what="kube-system back to the seeded baseline (coredns 2/2 Ready, no other pods)",
            timeout=timeout,
        )

    def place_coredns(self, *nodes: str, timeout: float = 60.0) -> None:
        """CoreDNS pods Ready exactly on `nodes` (a name twice: two pods there). The baseline leaves
        placement to the scheduler, as EKS does (anti-affinity only preferred, so a pair may share a
        node); a test whose outcome depends on where CoreDNS runs says so with this."""
        seed.place_coredns(self.admin, nodes, timeout=timeout)


@dataclass(frozen=True)
class EksWorld:
    """The session's cluster plus the moto server (its own process, never reset) holding its EC2 instances."""

    cluster: K8sCluster
    moto_url: str
    region: str
    instance_ids: dict[str, str]
    """Node name -> EC2 instance id."""
    cluster_name: str = seed.CLUSTER_NAME

    @property
    def nodes(self) -> tuple[ClusterNode, ...]:
        return self.cluster.nodes

    def ec2(self) -> Any:
        return _ec2_client(self.moto_url)


def _ec2_client(url: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return session.client("ec2", endpoint_url=url)


def _start_moto(log_dir: Path) -> tuple[processes.Managed, str]:
    """A moto server in its own process: in-process servers share (and reset) one global state."""
    port = processes.free_port()
    managed = processes.start(
        "moto-eks",
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        log_dir=log_dir,
        die_with_parent=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        processes.wait_until(
            lambda: processes.http_ok(f"{url}/moto-api/data.json"),
            what="moto server (EKS world)",
            managed=managed,
        )
    except BaseException:
        processes.stop(managed)
        raise
    return managed, url


@dataclass
class _Session:
    cluster: K8sCluster
    world: EksWorld


@pytest.fixture(scope="session")
def _k8s_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Session]:
    directory = tmp_path_factory.mktemp("k8s")
    moto, moto_url = _start_moto(directory / "logs")
    running: cluster.LocalCluster | None = None
    try:
        started = time.monotonic()
        running = cluster.up(
            cluster.ClusterOptions(directory=directory, die_with_parent=True), ec2=_ec2_client(moto_url)
        )
        k8s = K8sCluster(running, running.client("admin"), running.nodes)
        k8s.snapshot_baseline()
        print(
            f"\n[k8s] control plane up in {time.monotonic() - started:.1f}s: {json.dumps(running.timings)}",
            file=sys.stderr,
        )
        world = EksWorld(
            cluster=k8s,
            moto_url=moto_url,
            region=REGION,
            instance_ids={node.name: node.instance_id for node in running.nodes},
        )
        yield _Session(k8s, world)
    finally:
        if running is not None:
            running.stop()
        processes.stop(moto)


@pytest.fixture(scope="session")
def k8s_cluster(_k8s_session: _Session) -> K8sCluster:
    """The session's local control plane (see the module docstring)."""
    return _k8s_session.cluster


@pytest.fixture(scope="session")
def eks_world(_k8s_session: _Session) -> EksWorld:
    """The cluster and the moto server whose EC2 instances match its nodes."""
    return _k8s_session.world


@pytest.fixture
def eks_env(eks_world: EksWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[EksWorld]:
    """boto3 pointed at the EKS world's moto, kube-system back at its seeded baseline.

    That moto is shared by the whole session and never reset: create other AWS resources
    (topics, tables) with unique names.
    """
    for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", eks_world.moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", eks_world.region)
    monkeypatch.setenv("AWS_REGION", eks_world.region)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    aws.clear()
    eks.clear()
    eks_world.cluster.reset_dns()
    yield eks_world
    aws.clear()
    eks.clear()
