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
from netguard.clients.kubernetes import (
    APPLY_PATCH,
    FIELD_MANAGER,
    MERGE_PATCH,
    JsonObject,
    Kube,
    kube_from_kubeconfig,
)
from netguard_cli.localstack import cluster, processes, seed
from netguard_cli.localstack.models import ClusterNode

REGION = seed.REGION
KUBE_SYSTEM = seed.KUBE_SYSTEM
JSON_PATCH = "application/json-patch+json"
COREDNS = f"/apis/apps/v1/namespaces/{KUBE_SYSTEM}/deployments/coredns"
"""Its API path, for tests that address objects by path (`PathKube`)."""


class PathKube(Kube):
    """A `Kube` that tests may also address by API path (`/api/v1/nodes`).

    Production code uses the typed methods; tests of RBAC and of the control plane are about paths,
    so these helpers build a request for a path with the official ApiClient (`param_serialize`,
    `call_api`: the generic mechanism its dynamic client uses), counted and mapped like any other.
    """

    def __init__(self, kube: Kube) -> None:
        super().__init__(kube.api_client)

    def get(self, path: str) -> JsonObject:
        return self.request("GET", path)

    def list(  # the verb's name
        self, path: str, *, label_selector: str | None = None, field_selector: str | None = None
    ) -> list[JsonObject]:
        items: list[JsonObject] = []
        token = ""
        while True:
            query = {"limit": "500", "labelSelector": label_selector, "fieldSelector": field_selector}
            page = self.request("GET", path, query={**query, "continue": token or None})
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    def create(self, path: str, body: JsonObject, *, field_manager: str = FIELD_MANAGER) -> JsonObject:
        return self.request("POST", path, body=body, query={"fieldManager": field_manager})

    def patch(
        self, path: str, body: Any, *, field_manager: str = FIELD_MANAGER, dry_run: bool = False
    ) -> JsonObject:
        query = {"fieldManager": field_manager, "dryRun": "All" if dry_run else None}
        return self.request("PATCH", path, body=body, query=query, content_type=MERGE_PATCH)

    def apply_at(
        self,
        path: str,
        body: JsonObject,
        *,
        field_manager: str = FIELD_MANAGER,
        force: bool = False,
        dry_run: bool = False,
    ) -> JsonObject:
        query = {
            "fieldManager": field_manager,
            "force": "true" if force else "false",
            "dryRun": "All" if dry_run else None,
        }
        return self.request("PATCH", path, body=body, query=query, content_type=APPLY_PATCH)

    def delete_at(self, path: str) -> JsonObject:
        return self.request("DELETE", path)

    def request(
        self,
        verb: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, str | None] | None = None,
        content_type: str = "application/json",
    ) -> JsonObject:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        params = self.api_client.param_serialize(
            method=verb,
            resource_path=path,
            query_params=[(k, v) for k, v in (query or {}).items() if v is not None],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api_client.call_api(*params)
        data = response.read()
        return json.loads(data) if data else {}


def path_kube(kube: Kube) -> PathKube:
    return kube if isinstance(kube, PathKube) else PathKube(kube)


@dataclass
class K8sCluster:
    """The session's cluster: clients per identity, its nodes, and a way back to the seeded baseline."""

    running: cluster.LocalCluster
    admin: PathKube
    nodes: tuple[ClusterNode, ...]
    _baseline: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    @property
    def server(self) -> str:
        return self.running.endpoints.server

    @property
    def directory(self) -> Path:
        return self.running.endpoints.directory

    def kubeconfig(self, identity: str) -> Path:
        """`admin`, `enrich` or `remediate`: a token user in the group deploy/rbac binds."""
        return self.running.kubeconfig(identity)

    def client(self, identity: str) -> PathKube:
        """A new client (own `.calls` counter) for an identity."""
        return PathKube(kube_from_kubeconfig(self.kubeconfig(identity)))

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
                and len(self.admin.list_all(self.admin.core.list_namespaced_pod, KUBE_SYSTEM))
                == seed.COREDNS_REPLICAS
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
        k8s = K8sCluster(running, PathKube(running.client("admin")), running.nodes)
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
