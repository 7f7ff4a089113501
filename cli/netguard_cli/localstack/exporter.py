"""A fake ENA ethtool exporter on loopback: `node_net_ethtool{device,type}` counters per simulated node.

The local stack's Prometheus scrapes one target per node (`/metrics/<node name>`, labelled with the
node's `IP:9417` instance, as the real exporter on host networking would be). The scenario sets drop
rates per node and stat; counters grow with wall time, so `rate()` sees exactly the configured rate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
VPC_RESOLVER = "169.254.169.253:53"
EXPORTER_PORT = 9417
"""The port the Showmax ethtool exporter listens on; the simulated `instance` label uses it."""


@dataclass(frozen=True)
class SimulatedNode:
    """A node whose ENA counters the exporter serves."""

    name: str
    internal_ip: str

    @property
    def instance(self) -> str:
        """The `instance` label Prometheus would give the exporter on this node (host networking)."""
        return f"{self.internal_ip}:{EXPORTER_PORT}"


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
        self, nodes: Iterable[SimulatedNode], *, device: str = "eth0", host: str = "127.0.0.1"
    ) -> None:
        self.nodes: dict[str, SimulatedNode] = {n.name: n for n in nodes}
        self.device = device
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
            for pod in set(self._forwarded) - set(per_pod):
                del self._forwarded[pod]
            for pod, rate in per_pod.items():
                counter = self._forwarded.setdefault(pod, _Counter(since=now))
                counter.base, counter.rate, counter.since = counter.value(now), rate, now

    def render_coredns(self) -> str:
        """CoreDNS's metrics as Prometheus stores them once kubernetes_sd has added the `pod` label
        (one real target per pod; one target here, so the pod label is in the exposition)."""
        now = time.monotonic()
        lines = [
            f"# HELP {FORWARD_COUNTER} Counter of requests made per upstream.",
            f"# TYPE {FORWARD_COUNTER} counter",
        ]
        with self._lock:
            for pod, counter in sorted(self._forwarded.items()):
                value = int(counter.value(now))
                lines.append(f'{FORWARD_COUNTER}{{pod="{pod}",to="{VPC_RESOLVER}"}} {value}')
        return "\n".join(lines) + "\n"

    def rates(self) -> Mapping[tuple[str, str], float]:
        """(node, stat) -> drops per second, for the counters growing now."""
        with self._lock:
            return {key: c.rate for key, c in self._counters.items() if c.rate}

    def counter(self, node: str, stat: str) -> int:
        with self._lock:
            return int(self._counters[(node, stat)].value(time.monotonic()))

    def render(self, node: str) -> str:
        """The exposition text one node's exporter would serve."""
        now = time.monotonic()
        lines = [
            "# HELP node_net_ethtool Network interface statistics from ethtool -S.",
            "# TYPE node_net_ethtool untyped",
        ]
        with self._lock:
            for stat in ALLOWANCE_COUNTERS:
                value = int(self._counters[(node, stat)].value(now))
                lines.append(f'node_net_ethtool{{device="{self.device}",type="{stat}"}} {value}')
        lines.append(f'node_net_ethtool{{device="{self.device}",type="{CONNTRACK_AVAILABLE}"}} 131072')
        return "\n".join(lines) + "\n"


def _handler_for(exporter: EthtoolExporter) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            if path.startswith("/metrics/") and path[len("/metrics/") :] in exporter.nodes:
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
                body = "".join(f"/metrics/{name}  ({n.instance})\n" for name, n in exporter.nodes.items())
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
