"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, controller-manager, scheduler, kwok.

`up()` starts it under a directory (PKI, kubeconfigs, logs, a state file), applies deploy/rbac/ and
seeds an EKS-like kube-system with kwok-simulated nodes; `down()` stops what a state file lists.
Used by `netguard cluster up|down|status`, `make demo` and the `k8s_cluster` test fixture.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import shutil
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from netguard.clients.kubernetes import Kube, kube_from_kubeconfig
from netguard.errors import NetguardError
from netguard_cli.localstack import processes, seed
from netguard_cli.localstack.manifests import apply_all, load_directory
from netguard_cli.localstack.models import IDENTITIES, ClusterEndpoints, ClusterNode
from netguard_cli.localstack.pki import Pki, ensure_pki

logger = logging.getLogger(__name__)

CHECKOUT = Path(__file__).resolve().parents[3]
BUILD_SCRIPT = CHECKOUT / "tools" / "k8s" / "build.sh"
RBAC_DIR = CHECKOUT / "deploy" / "rbac"
STATE_FILE = "cluster.json"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
ADVERTISE_ADDRESS = "10.0.0.10"
POD_CIDR = "10.0.128.1/17"
"""Pod IPs kwok hands out: inside the VPC (as with the VPC CNI), outside the node subnets."""


class ClusterError(NetguardError):
    """The local cluster could not be started, or is not running."""


@dataclass(frozen=True)
class ClusterOptions:
    directory: Path
    """Where PKI, kubeconfigs, logs, etcd data and the state file go (e.g. `.netguard`)."""
    bin_dir: Path | None = None
    """Directory of the five binaries; None runs tools/k8s/build.sh (a no-op once built)."""
    node_count: int = 6
    rbac_dir: Path | None = RBAC_DIR
    """Applied after start (None: skip)."""
    seed: bool = True
    timeout: float = 120.0
    die_with_parent: bool = False
    """Tests: the kernel kills the components if the test process dies."""


@dataclass
class LocalCluster:
    """A running cluster started by `up` in this process."""

    endpoints: ClusterEndpoints
    managed: list[processes.Managed]
    nodes: tuple[ClusterNode, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    def kubeconfig(self, identity: str) -> Path:
        return self.endpoints.kubeconfigs[identity]

    def client(self, identity: str = "admin") -> Kube:
        return kube_from_kubeconfig(self.kubeconfig(identity))

    def stop(self) -> None:
        stop_all(self.managed)
        if self.endpoints.state_file is not None:
            self.endpoints.state_file.unlink(missing_ok=True)


# --- binaries ------------------------------------------------------------------------------------


def find_binaries(bin_dir: Path | None = None) -> Path:
    """The directory holding the control plane's binaries, building them first if needed."""
    if bin_dir is None:
        result = subprocess.run([str(BUILD_SCRIPT), "all"], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ClusterError(f"{BUILD_SCRIPT} failed:\n{result.stderr[-2000:]}")
        bin_dir = Path(result.stdout.strip().splitlines()[-1])
    missing = [name for name in BINARIES if not (bin_dir / name).is_file()]
    if missing:
        raise ClusterError(f"{bin_dir}: missing {', '.join(missing)}; run {BUILD_SCRIPT}")
    return bin_dir


# --- files ---------------------------------------------------------------------------------------


def write_tokens(path: Path) -> dict[str, str]:
    """A fresh token per identity, in kube-apiserver's --token-auth-file CSV format."""
    tokens = {identity: secrets.token_urlsafe(32) for identity in IDENTITIES}
    lines = []
    for identity, (user, groups) in IDENTITIES.items():
        lines.append(f'{tokens[identity]},{user},{user},"{",".join(groups)}"')
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return tokens


def kubeconfig_document(server: str, ca_file: Path, user: str, token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "netguard-local", "cluster": {"server": server, "certificate-authority": str(ca_file)}}
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {"name": f"{user}@netguard-local", "context": {"cluster": "netguard-local", "user": user}}
        ],
        "current-context": f"{user}@netguard-local",
    }


def write_kubeconfigs(directory: Path, server: str, ca_file: Path, tokens: dict[str, str]) -> dict[str, Path]:
    paths = {}
    for identity, (user, _) in IDENTITIES.items():
        path = directory / f"{identity}.kubeconfig"
        path.write_text(
            yaml.safe_dump(kubeconfig_document(server, ca_file, user, tokens[identity]), sort_keys=False)
        )
        path.chmod(0o600)
        paths[identity] = path
    return paths


# --- probes --------------------------------------------------------------------------------------


def https_ok(
    url: str,
    *,
    ca_file: Path | None = None,
    client_cert: tuple[Path, Path] | None = None,
    timeout: float = 2.0,
) -> bool:
    """GET `url` answers 2xx; without `ca_file` the certificate is not checked (self-signed health ports);
    `client_cert` (certificate, key) is presented to a server that asks for one (etcd)."""
    context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else ssl._create_unverified_context()  # noqa: S323
    if client_cert is not None:
        context.load_cert_chain(str(client_cert[0]), str(client_cert[1]))
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:  # noqa: S310 -- loopback
            return 200 <= int(response.status) < 300
    except OSError:
        return False


def nodes_ready(client: Kube, names: Sequence[str]) -> bool:
    ready = {
        node["metadata"]["name"]
        for node in client.list_all(client.core.list_node)
        if any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in node.get("status", {}).get("conditions", [])
        )
    }
    return set(names) <= ready


def ready_pods(client: Kube, namespace: str, label_selector: str) -> list[dict[str, Any]]:
    """Pods matching the selector that are Ready and not being deleted."""
    pods = client.list_all(client.core.list_namespaced_pod, namespace, label_selector=label_selector)
    return [
        pod
        for pod in pods
        if not pod["metadata"].get("deletionTimestamp")
        and any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in pod.get("status", {}).get("conditions", [])
        )
    ]


def deployment_settled(client: Kube, namespace: str, name: str, replicas: int) -> bool:
    """The Deployment has rolled out exactly `replicas` Ready pods and no others."""
    deployment = client.call(client.apps.read_namespaced_deployment, name, namespace)
    status = deployment.get("status", {})
    selector = ",".join(f"{k}={v}" for k, v in deployment["spec"]["selector"]["matchLabels"].items())
    pods = client.list_all(client.core.list_namespaced_pod, namespace, label_selector=selector)
    return (
        status.get("observedGeneration", 0) >= deployment["metadata"]["generation"]
        and deployment["spec"].get("replicas") == replicas
        and status.get("replicas") == replicas
        and status.get("updatedReplicas") == replicas
        and status.get("readyReplicas") == replicas
        and len(pods) == replicas
        and len(ready_pods(client, namespace, selector)) == replicas
    )


# --- starting ------------------------------------------------------------------------------------


def _start_on_free_ports(
    name: str,
    port_count: int,
    argv_for: Callable[[list[int]], list[str]],
    *,
    log_dir: Path,
    die_with_parent: bool,
    attempts: int = 3,
) -> tuple[processes.Managed, list[int]]:
    """Start a component on free ports; if another process grabbed a port first, try new ones."""
    for attempt in range(attempts):
        ports = [processes.free_port() for _ in range(port_count)]
        managed = processes.start(name, argv_for(ports), log_dir=log_dir, die_with_parent=die_with_parent)
        time.sleep(0.3)
        if managed.process.poll() is None or "address already in use" not in managed.log_tail(10):
            return managed, ports
        logger.info("%s: port taken, retrying (%d)", name, attempt + 1)
    raise ClusterError(f"{name}: no free port after {attempts} attempts")


@contextlib.contextmanager
def _phase(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    timings[name] = round(time.monotonic() - started, 2)


def up(options: ClusterOptions, *, ec2: Any | None = None) -> LocalCluster:
    """Start the control plane and kwok, apply RBAC, seed; on any failure stop what was started."""
    started = time.monotonic()
    directory = options.directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    state_file = directory / STATE_FILE
    if state_file.is_file() and running_pids(directory):
        raise ClusterError(
            f"a cluster is already running from {directory} (netguard cluster down --dir {directory})"
        )
    bin_dir = find_binaries(options.bin_dir)
    log_dir = directory / "logs"
    etcd_dir = directory / "etcd"
    shutil.rmtree(etcd_dir, ignore_errors=True)  # every `up` is a fresh cluster
    timings: dict[str, float] = {}
    managed: list[processes.Managed] = []

    def start(name: str, count: int, argv_for: Callable[[list[int]], list[str]]) -> list[int]:
        process, ports = _start_on_free_ports(
            name, count, argv_for, log_dir=log_dir, die_with_parent=options.die_with_parent
        )
        managed.append(process)
        return ports

    try:
        with _phase(timings, "pki"):
            pki = ensure_pki(directory / "pki")
            tokens = write_tokens(directory / "pki" / "tokens.csv")
        with _phase(timings, "etcd"):
            etcd_port, _ = start("etcd", 2, lambda p: _etcd_argv(bin_dir, etcd_dir, pki, p[0], p[1]))
            processes.wait_until(
                lambda: https_ok(
                    f"https://127.0.0.1:{etcd_port}/health",
                    ca_file=pki.ca_cert,
                    client_cert=(pki.etcd_client_cert, pki.etcd_client_key),
                ),
                what="etcd",
                managed=managed[-1],
                timeout=options.timeout,
            )
        with _phase(timings, "apiserver"):
            (api_port,) = start(
                "kube-apiserver", 1, lambda p: _apiserver_argv(bin_dir, directory, pki, etcd_port, p[0])
            )
            server = f"https://127.0.0.1:{api_port}"
            processes.wait_until(
                lambda: https_ok(f"{server}/readyz", ca_file=pki.ca_cert),
                what="kube-apiserver",
                managed=managed[-1],
                timeout=options.timeout,
            )
        kubeconfigs = write_kubeconfigs(directory, server, pki.ca_cert, tokens)
        admin_kubeconfig = kubeconfigs["admin"]
        endpoints = ClusterEndpoints(directory, server, pki.ca_cert, kubeconfigs, state_file)
        with _phase(timings, "components"):
            (kcm_port,) = start(
                "kube-controller-manager",
                1,
                lambda p: _controller_manager_argv(bin_dir, directory, pki, admin_kubeconfig, p[0]),
            )
            (scheduler_port,) = start(
                "kube-scheduler", 1, lambda p: _scheduler_argv(bin_dir, directory, admin_kubeconfig, p[0])
            )
            start("kwok", 0, lambda _: _kwok_argv(bin_dir, directory, admin_kubeconfig))
        processes.write_state(state_file, managed, _state_extra(endpoints, ()))
        admin = kube_from_kubeconfig(admin_kubeconfig)
        nodes: tuple[ClusterNode, ...] = ()
        with _phase(timings, "rbac+seed"):
            if options.rbac_dir is not None:
                apply_all(admin, load_directory(options.rbac_dir), field_manager=seed.SEED_FIELD_MANAGER)
            if options.seed:
                nodes = seed.seed(admin, node_count=options.node_count, ec2=ec2)
        processes.write_state(state_file, managed, _state_extra(endpoints, nodes))
        with _phase(timings, "controllers-ready"):
            for name, port in (("kube-controller-manager", kcm_port), ("kube-scheduler", scheduler_port)):
                process = next(m for m in managed if m.name == name)
                processes.wait_until(
                    lambda port=port: https_ok(f"https://127.0.0.1:{port}/healthz"),  # type: ignore[misc]
                    what=name,
                    managed=process,
                    timeout=options.timeout,
                )
        if nodes:
            kwok = next(m for m in managed if m.name == "kwok")
            with _phase(timings, "nodes-ready"):
                names = [node.name for node in nodes]
                processes.wait_until(
                    lambda: nodes_ready(admin, names),
                    what="kwok nodes Ready",
                    managed=kwok,
                    timeout=options.timeout,
                )
            with _phase(timings, "coredns-ready"):
                processes.wait_until(
                    lambda: deployment_settled(admin, "kube-system", "coredns", seed.COREDNS_REPLICAS),
                    what="coredns 2/2 Ready",
                    managed=kwok,
                    timeout=options.timeout,
                )
        timings["total"] = round(time.monotonic() - started, 2)
        return LocalCluster(endpoints, managed, nodes, timings)
    except BaseException:
        stop_all(managed)
        state_file.unlink(missing_ok=True)
        raise


def _etcd_argv(bin_dir: Path, data_dir: Path, pki: Pki, client_port: int, peer_port: int) -> list[str]:
    """etcd behind TLS on both its listeners, admitting only client certificates of the stack's CA (the
    API server's): without them any local user could read or write every object, tokens and
    kubeconfigs notwithstanding."""
    client_url, peer_url = f"https://127.0.0.1:{client_port}", f"https://127.0.0.1:{peer_port}"
    return [
        str(bin_dir / "etcd"),
        f"--cert-file={pki.etcd_cert}",
        f"--key-file={pki.etcd_key}",
        f"--trusted-ca-file={pki.ca_cert}",
        "--client-cert-auth",
        f"--peer-cert-file={pki.etcd_cert}",
        f"--peer-key-file={pki.etcd_key}",
        f"--peer-trusted-ca-file={pki.ca_cert}",
        "--peer-client-cert-auth",
        "--name=netguard",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=netguard={peer_url}",
        "--unsafe-no-fsync",  # a throwaway test cluster: durability buys nothing, fsync costs seconds
        "--log-level=warn",
    ]


def _apiserver_argv(bin_dir: Path, directory: Path, pki: Pki, etcd_port: int, port: int) -> list[str]:
    return [
        str(bin_dir / "kube-apiserver"),
        f"--etcd-servers=https://127.0.0.1:{etcd_port}",
        f"--etcd-cafile={pki.ca_cert}",
        f"--etcd-certfile={pki.etcd_client_cert}",
        f"--etcd-keyfile={pki.etcd_client_key}",
        "--bind-address=127.0.0.1",
        # Not loopback: the `kubernetes` Service endpoints refuse 127.0.0.0/8. A VPC-like address, as on EKS;
        # nothing connects to it (clients use the server URL in the kubeconfigs).
        f"--advertise-address={ADVERTISE_ADDRESS}",
        f"--secure-port={port}",
        f"--cert-dir={directory / 'pki' / 'apiserver'}",
        f"--tls-cert-file={pki.server_cert}",
        f"--tls-private-key-file={pki.server_key}",
        f"--client-ca-file={pki.ca_cert}",
        f"--token-auth-file={directory / 'pki' / 'tokens.csv'}",
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki.service_account_public_key}",
        f"--service-account-signing-key-file={pki.service_account_key}",
        f"--service-cluster-ip-range={seed.SERVICE_CIDR}",
        "--allow-privileged=true",  # NodeLocal DNSCache's DaemonSet asks for NET_ADMIN / privileged
        "--profiling=false",
        # Who called what: the scenarios count the remediation identity's requests from this log.
        f"--audit-policy-file={_audit_policy(directory)}",
        f"--audit-log-path={audit_log(directory)}",
        "--audit-log-maxsize=50",
        "--v=0",
    ]


AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {
            "level": "Metadata",
            "userGroups": sorted(
                {g for _, groups in IDENTITIES.values() for g in groups if g.startswith("netguard:")}
            ),
        },
        {"level": "None"},
    ],
}
"""Metadata (verb, resource/subresource, namespace, name, user, status) for every request by a member of a
netguard group (the groups deploy/rbac binds, as an EKS access entry's KubernetesGroups would); nothing
else is logged. The scenarios count the remediation identity's requests from it, and
tests/integration/k8s/test_rbac_usage.py derives from it the set of calls the remediation code makes."""


def audit_log(directory: Path) -> Path:
    """The API server's audit log (JSON lines) for the cluster in `directory`."""
    return directory / "logs" / "audit.log"


def _audit_policy(directory: Path) -> Path:
    path = directory / "audit-policy.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(AUDIT_POLICY))
    return path


def _controller_manager_argv(
    bin_dir: Path, directory: Path, pki: Pki, kubeconfig: Path, port: int
) -> list[str]:
    return [
        str(bin_dir / "kube-controller-manager"),
        f"--kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={directory / 'pki' / 'controller-manager'}",
        "--controllers=*",
        "--leader-elect=false",
        f"--service-account-private-key-file={pki.service_account_key}",
        f"--root-ca-file={pki.ca_cert}",
        f"--cluster-name={seed.CLUSTER_NAME}",
        "--profiling=false",
        "--v=0",
    ]


def _scheduler_argv(bin_dir: Path, directory: Path, kubeconfig: Path, port: int) -> list[str]:
    return [
        str(bin_dir / "kube-scheduler"),
        f"--kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={directory / 'pki' / 'scheduler'}",
        "--leader-elect=false",
        "--profiling=false",
        "--v=0",
    ]


_KWOK_CONFIG = """\
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options: {}
"""


def _kwok_argv(bin_dir: Path, directory: Path, kubeconfig: Path) -> list[str]:
    config = directory / "kwok.yaml"
    config.write_text(_KWOK_CONFIG)  # an explicit (empty) config: never pick up ~/.kwok/kwok.yaml
    key, value = seed.KWOK_ANNOTATION
    return [
        str(bin_dir / "kwok"),
        f"--config={config}",
        f"--kubeconfig={kubeconfig}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={key}={value}",
        f"--cidr={POD_CIDR}",
        "--node-lease-duration-seconds=40",
    ]


def _state_extra(endpoints: ClusterEndpoints, nodes: Sequence[ClusterNode]) -> dict[str, object]:
    return {
        "server": endpoints.server,
        "ca_file": str(endpoints.ca_file),
        "kubeconfigs": {identity: str(path) for identity, path in endpoints.kubeconfigs.items()},
        "nodes": [asdict(node) for node in nodes],
    }


# --- stopping and inspecting ---------------------------------------------------------------------


def stop_all(managed: Sequence[processes.Managed]) -> None:
    """Stop components newest first (kwok and controllers before the API server, etcd last)."""
    for process in reversed(managed):
        processes.stop(process)


def down(directory: Path) -> list[str]:
    """Stop the cluster started from `directory` (by any process); returns the components stopped."""
    return processes.stop_from_state(directory.resolve() / STATE_FILE)


def read_state(directory: Path) -> dict[str, Any] | None:
    path = directory.resolve() / STATE_FILE
    if not path.is_file():
        return None
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def running_pids(directory: Path) -> dict[str, int]:
    """The components from the state file whose processes are alive."""
    state = read_state(directory) or {}
    alive = {}
    for name, pid in (state.get("pids") or {}).items():
        try:
            Path(f"/proc/{int(pid)}").stat()
        except OSError:
            continue
        alive[name] = int(pid)
    return alive
