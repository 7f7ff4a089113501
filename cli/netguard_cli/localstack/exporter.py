"""A fake ENA ethtool exporter on loopback, in either dialect people run, and CoreDNS's metrics.

Dialects: node_exporter's ethtool collector (`node_ethtool_<stat>{device}`, port 9100, the default)
or the Showmax exporter (`node_net_ethtool{device,type="<stat>"}`, port 9417). The local Prometheus
scrapes it as an HTTP proxy: its targets are the simulated nodes' own addresses (`IP:9100`) and the
CoreDNS pods' (`IP:9153`), as EKS discovery would give them, so the scrape relabelling of
amp/scrape.yaml runs unchanged; the exporter answers for whichever address was asked. The scenario
sets drop rates per node and stat; counters grow with wall time, so `rate()` sees exactly that rate.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

ALLOWANCE_COUNTERS = (
    "bw_in_allowance_exceeded",
    "bw_out_allowance_exceeded",
    "pps_allowance_exceeded",
    "conntrack_allowance_exceeded",
    "linklocal_allowance_exceeded",
)
"""The ENA allowance counters (packets queued or dropped since the driver loaded)."""
CONNTRACK_AVAILABLE = "conntrack_allowance_available"
"""A gauge (Nitro only): connections the instance may still track."""
FORWARD_COUNTER = "coredns_forward_requests_total"
"""CoreDNS's forward plugin counter (before 1.11); netguard's forward-rate query reads either spelling."""
OTHER_STAT = "queue_0_tx_cnt"
"""One of the hundreds of other `ethtool -S` statistics a real exporter serves (the scrape drops them)."""
VPC_RESOLVER = "169.254.169.253:53"
COREDNS_PORT = 9153
COREDNS_POD_NETWORK = ipaddress.ip_network("100.64.0.0/16")
"""Where the simulated CoreDNS pods' addresses come from (never scraped for real: the exporter answers)."""


class Dialect(StrEnum):
    """Which exporter's names the fake serves (`netguard local up --exporter ...`)."""

    NODE_EXPORTER = "node-exporter"
    ETHTOOL_EXPORTER = "ethtool-exporter"

    @property
    def port(self) -> int:
        """The port the exporter listens on with host networking, so the `instance` label's port."""
        return 9100 if self is Dialect.NODE_EXPORTER else 9417


@dataclass(frozen=True)
class SimulatedNode:
    """A node whose ENA counters the exporter serves."""

    name: str
    internal_ip: str

    def instance(self, dialect: Dialect = Dialect.NODE_EXPORTER) -> str:
        """The `instance` label Prometheus gives the exporter on this node (host networking)."""
        return f"{self.internal_ip}:{dialect.port}"


@dataclass
class _Counter:
    base: float = 0.0
    rate: float = 0.0
    since: float = 0.0

    def value(self, now: float) -> float:
        return self.base + self.rate * max(0.0, now - self.since)


class EthtoolExporter:
    """The counters of every simulated node, and an HTTP server that exposes them."""

    def __init__(
        self,
        nodes: Iterable[SimulatedNode],
        *,
        dialect: Dialect | str = Dialect.NODE_EXPORTER,
        device: str = "ens5",
        host: str = "127.0.0.1",
    ) -> None:
        self.nodes: dict[str, SimulatedNode] = {n.name: n for n in nodes}
        self.dialect = Dialect(dialect)
        self.device = device
        """The interface every counter is on: ens5, the primary interface's name on current AMIs."""
        self._by_address = {n.instance(self.dialect): n.name for n in self.nodes.values()}
        self._pod_addresses: dict[str, str] = {}
        self._lock = threading.Lock()
        now = time.monotonic()
        # A plausible history: a few drops since boot, none happening now.
        self._counters: dict[tuple[str, str], _Counter] = {
            (node, stat): _Counter(base=float(7 * i), since=now)
            for node in self.nodes
            for i, stat in enumerate(ALLOWANCE_COUNTERS)
        }
        # CoreDNS pod -> queries it forwarded upstream; a pod that is gone loses its series, as a
        # deleted pod's scrape target does.
        self._forwarded: dict[str, _Counter] = {}
        self.on_pods_changed: Callable[[], None] | None = None
        """Called when the set of CoreDNS pods changes (the local stack rewrites their scrape targets)."""
        self._server = ThreadingHTTPServer((host, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.scrapes = 0

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EthtoolExporter:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ethtool-exporter", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def set_rate(self, node: str, stat: str, per_second: float) -> None:
        """From now on, `stat` on `node` grows by `per_second` (0 stops it; counters never go back)."""
        if node not in self.nodes:
            raise KeyError(f"no simulated node {node!r}")
        if stat not in ALLOWANCE_COUNTERS:
            raise KeyError(f"{stat!r} is not an allowance counter")
        with self._lock:
            counter = self._counters[(node, stat)]
            now = time.monotonic()
            counter.base, counter.rate, counter.since = counter.value(now), per_second, now

    def start_drops(
        self, nodes: Iterable[str], *, stat: str = "linklocal_allowance_exceeded", per_second: float = 120.0
    ) -> None:
        for node in nodes:
            self.set_rate(node, stat, per_second)

    def stop_drops(self) -> None:
        """Recovery: every counter stops growing."""
        for node, stat in list(self._counters):
            self.set_rate(node, stat, 0.0)

    def set_forwarding(self, per_pod: Mapping[str, float]) -> None:
        """CoreDNS pods that exist now and the queries/s each forwards to the VPC resolver."""
        with self._lock:
            now = time.monotonic()
            before = set(self._forwarded)
            for pod in before - set(per_pod):
                del self._forwarded[pod]
            for pod, rate in per_pod.items():
                counter = self._forwarded.setdefault(pod, _Counter(since=now))
                counter.base, counter.rate, counter.since = counter.value(now), rate, now
            changed = before != set(self._forwarded)
        if changed and self.on_pods_changed is not None:
            self.on_pods_changed()

    def coredns_pods(self) -> dict[str, str]:
        """CoreDNS pod -> its (simulated) scrape address `IP:9153`; a pod keeps its address."""
        with self._lock:
            for pod in sorted(self._forwarded):
                if pod not in self._pod_addresses:
                    host = COREDNS_POD_NETWORK[len(self._pod_addresses) + 10]
                    self._pod_addresses[pod] = f"{host}:{COREDNS_PORT}"
            return {pod: self._pod_addresses[pod] for pod in sorted(self._forwarded)}

    def render_coredns(self, pod: str | None = None) -> str:
        """CoreDNS's metrics: one pod's exposition (the scrape adds its `pod` label), or every pod's
        with the `pod` label written in (for a single static target)."""
        now = time.monotonic()
        lines = [
            f"# HELP {FORWARD_COUNTER} Counter of requests made per upstream.",
            f"# TYPE {FORWARD_COUNTER} counter",
        ]
        with self._lock:
            for name, counter in sorted(self._forwarded.items()):
                value = int(counter.value(now))
                if pod is None:
                    lines.append(f'{FORWARD_COUNTER}{{pod="{name}",to="{VPC_RESOLVER}"}} {value}')
                elif name == pod:
                    lines.append(f'{FORWARD_COUNTER}{{to="{VPC_RESOLVER}"}} {value}')
        return "\n".join(lines) + "\n"

    def rates(self) -> Mapping[tuple[str, str], float]:
        """(node, stat) -> drops per second, for the counters growing now."""
        with self._lock:
            return {key: c.rate for key, c in self._counters.items() if c.rate}

    def counter(self, node: str, stat: str) -> int:
        with self._lock:
            return int(self._counters[(node, stat)].value(time.monotonic()))

    def instance(self, node: str) -> str:
        """The `instance` label of `node`'s exporter in this dialect (`IP:9100` or `IP:9417`)."""
        return self.nodes[node].instance(self.dialect)

    def render(self, node: str) -> str:
        """The exposition text one node's exporter would serve, in this exporter's dialect."""
        now = time.monotonic()
        with self._lock:
            values = {stat: int(self._counters[(node, stat)].value(now)) for stat in ALLOWANCE_COUNTERS}
        values[CONNTRACK_AVAILABLE] = 131072
        values[OTHER_STAT] = 4242
        if self.dialect is Dialect.ETHTOOL_EXPORTER:
            lines = [
                "# HELP node_net_ethtool Network interface statistics from ethtool -S.",
                "# TYPE node_net_ethtool untyped",
                *(f'node_net_ethtool{{device="{self.device}",type="{s}"}} {v}' for s, v in values.items()),
            ]
        else:  # node_exporter: one untyped family per statistic, `device` its only label
            lines = []
            for stat, value in values.items():
                name = f"node_ethtool_{stat}"
                lines += [
                    f"# HELP {name} Network interface {stat}",
                    f"# TYPE {name} untyped",
                    f'{name}{{device="{self.device}"}} {value}',
                ]
        return "\n".join(lines) + "\n"

    def answer(self, address: str) -> str | None:
        """What the target at `address` (`IP:port`, as Prometheus asks through its proxy) serves."""
        if address in self._by_address:
            self.scrapes += 1
            return self.render(self._by_address[address])
        pods = {where: pod for pod, where in self.coredns_pods().items()}
        if address in pods:
            return self.render_coredns(pods[address])
        return None


def _handler_for(exporter: EthtoolExporter) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            if parts.netloc:  # a proxied scrape: `GET http://IP:port/metrics`
                body = exporter.answer(parts.netloc) if path == "/metrics" else None
                if body is None:
                    self._reply(404, "no such target\n")
                else:
                    self._reply(200, body, "text/plain; version=0.0.4")
            elif path.startswith("/metrics/") and path[len("/metrics/") :] in exporter.nodes:
                exporter.scrapes += 1
                self._reply(200, exporter.render(path[len("/metrics/") :]), "text/plain; version=0.0.4")
            elif path == "/metrics-coredns":
                self._reply(200, exporter.render_coredns(), "text/plain; version=0.0.4")
            elif path == "/drops/start":
                query = parse_qs(parts.query)
                nodes = query.get("node") or list(exporter.nodes)
                rate = float((query.get("rate") or ["120"])[0])
                stat = (query.get("type") or ["linklocal_allowance_exceeded"])[0]
                try:
                    exporter.start_drops(nodes, stat=stat, per_second=rate)
                except KeyError as exc:
                    self._reply(400, f"{exc}\n")
                    return
                self._reply(200, f"{stat} growing at {rate}/s on {', '.join(nodes)}\n")
            elif path == "/drops/stop":
                exporter.stop_drops()
                self._reply(200, "drops stopped\n")
            elif path == "/":
                body = "".join(f"/metrics/{name}  ({exporter.instance(name)})\n" for name in exporter.nodes)
                self._reply(200, body + "/drops/start?node=NAME&rate=120  /drops/stop\n")
            else:
                self._reply(404, "not found\n")

        def _reply(self, status: int, body: str, content_type: str = "text/plain") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
