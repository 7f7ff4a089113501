"""The detached process behind `netguard local up`: owns a `LocalStack`, answers commands, stops it.

`netguard local up` starts `python -m netguard_cli.localstack.supervisor --root .netguard/local` in
its own session. It starts the stack (every component dies with it: `die_with_parent`), writes
`state.json` (pids, listening ports, URLs, kubeconfigs, the control endpoint), then serves a small
HTTP API on 127.0.0.1 that needs the bearer token from the state file (mode 0600), so another local
user cannot drive it: GET /status, GET /inspect, POST /publish, POST /load, POST /report, POST /stop.
SIGTERM, SIGINT, SIGHUP or /stop write the session's `report.html` and `timeline.json`, unwind the
stack and remove the state file.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from netguard_cli.localstack import cluster
from netguard_cli.localstack.amp_publish import as_amp
from netguard_cli.localstack.exporter import Dialect
from netguard_cli.localstack.report import write_report
from netguard_cli.localstack.stack import CHECKOUT, DnsLoad, LocalStack, StackSettings
from netguard_cli.localstack.timeline import timeline_from_events
from netguard_cli.localstack.view import stack_view

logger = logging.getLogger(__name__)

STATE_FILE = "state.json"
MAX_BODY = 2 * 1024 * 1024
"""A published message is at most 256 KB after AMP's cut; the request may hold a larger original."""


class ControlledLoad(DnsLoad):
    """The stack's DNS load model plus link-local traffic sent straight from a node (pods with
    `dnsPolicy: Default` or host networking resolve against the VPC resolver themselves), which
    `netguard local load --node` sets. Without such traffic it is exactly `DnsLoad`."""

    def __init__(self, stack: LocalStack) -> None:
        super().__init__(stack)
        self.node_pps: dict[str, float] = {}

    def per_node(self) -> dict[str, float]:
        drops = super().per_node()
        if not self.node_pps:
            return drops
        pods = list(self._stack.coredns().nodes) if self.enabled else []
        for node, extra in self.node_pps.items():
            if node in drops:  # already over the limit: every extra packet drops too
                drops[node] = round(drops[node] + extra, 1)
                continue
            coredns_share = self.model.queries_pps * pods.count(node) / len(pods) if pods else 0.0
            over = coredns_share + extra - self.model.limit_pps
            if over > 0:
                drops[node] = round(over, 1)
        return drops

    def describe(self) -> dict[str, Any]:
        return {
            "coredns_qps": self.model.queries_pps if self.enabled else 0.0,
            "node_qps": dict(self.node_pps),
            "limit_pps": self.model.limit_pps,
            "drops_per_node": self.per_node(),
        }


def set_load(stack: LocalStack, load: ControlledLoad, qps: float, node: str | None) -> dict[str, Any]:
    """`netguard local load`: CoreDNS's total (no node) or one node's own link-local traffic."""
    if qps < 0:
        raise ValueError("qps must be 0 or more")
    if node:
        if node not in {n.name for n in stack.nodes}:
            raise ValueError(f"no node {node!r}; nodes: {', '.join(n.name for n in stack.nodes)}")
        if qps:
            load.node_pps[node] = qps
        else:
            load.node_pps.pop(node, None)
    else:
        stack.settings = dataclasses.replace(stack.settings, dns_load_pps=qps)
        load.model = dataclasses.replace(load.model, queries_pps=qps)  # what DnsLoad computes from
        load.enabled = qps > 0
    load.update()
    stack.emit("local", "load", f"DNS load set: {json.dumps(load.describe(), sort_keys=True)}")
    return load.describe()


def publish(stack: LocalStack, request: Mapping[str, Any]) -> dict[str, Any]:
    """Publish one message to AlertsTopic as AMP would (the CLI already applied AMP's rules; they are
    applied again here so a hand-made request cannot bypass them)."""
    publication = as_amp(
        str(request.get("message") or ""),
        request.get("subject"),
        {str(k): str(v) for k, v in (request.get("attributes") or {}).items()},
    )
    kwargs: dict[str, Any] = {"TopicArn": stack.topics["AlertsTopic"], "Message": publication.message}
    if publication.subject:
        kwargs["Subject"] = publication.subject
    if publication.attributes:
        kwargs["MessageAttributes"] = {
            k: {"DataType": "String", "StringValue": v} for k, v in publication.attributes.items()
        }
    message_id = str(stack.aws("sns").publish(**kwargs)["MessageId"])
    stack.emit(
        "local",
        "published",
        f"published to AlertsTopic: {publication.subject or '(no subject)'} "
        f"({len(publication.message.encode())} bytes)",
        {"message_id": message_id},
    )
    return {"message_id": message_id, "notes": list(publication.notes), "attributes": publication.attributes}


# --- processes and ports ----------------------------------------------------------------------


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    return inodes


def listening_ports(pids: Iterable[int]) -> list[int]:
    """TCP ports the processes listen on (from /proc, Linux), so `down` can check they closed."""
    inodes = set().union(*(_socket_inodes(pid) for pid in pids))
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return sorted(ports)


def stack_pids(stack: LocalStack) -> dict[str, int]:
    """Every process the stack runs, by name (this supervisor included)."""
    pids = {"supervisor": os.getpid()}
    pids.update({f"lambda-{name}": m.pid for name, m in stack.workers.items()})
    if stack.prometheus is not None:
        pids["prometheus"] = stack.prometheus.managed.pid
    if stack.alertmanager is not None:
        pids["alertmanager"] = stack.alertmanager.managed.pid
    pids.update(cluster.running_pids(stack.settings.workdir / "cluster"))
    return pids


def describe(stack: LocalStack, control_url: str) -> dict[str, Any]:
    urls = {"moto": stack.moto_url, "control": control_url}
    for name in ("prometheus", "alertmanager", "exporter", "slack", "pagerduty"):
        component = getattr(stack, name)
        if component is not None:
            urls[name] = component.url
    pids = stack_pids(stack)
    return {
        "status": "running",
        "pid": os.getpid(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - stack.elapsed())),
        "uptime_seconds": round(stack.elapsed(), 1),
        "workdir": str(stack.settings.workdir),
        "cluster": stack.settings.cluster_name,
        "exporter": stack.settings.exporter.value,
        "urls": urls,
        "kubeconfigs": {k: str(v) for k, v in stack.kubeconfigs.items()},
        "pids": pids,
        "ports": listening_ports(pids.values()),
        "nodes": [n.name for n in stack.nodes],
        "skipped": dict(stack.skipped),
        "load": stack.load.describe() if isinstance(stack.load, ControlledLoad) else {},
        "coredns": dataclasses.asdict(stack.coredns()),
    }


def write_state(root: Path, state: Mapping[str, Any]) -> None:
    """Atomically, readable by this user only (it holds the control token)."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{STATE_FILE}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle, indent=2)
    tmp.replace(root / STATE_FILE)


# --- the control API --------------------------------------------------------------------------


class ControlServer:
    def __init__(self, stack: LocalStack, load: ControlledLoad, token: str, stop: threading.Event) -> None:
        self.stack, self.load, self.token, self.stop_event = stack, load, token, stop
        self.lock = threading.Lock()
        """One command at a time: they change shared stack state."""
        self.routes: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
            ("GET", "/status"): lambda _: describe(stack, self.url),
            ("GET", "/inspect"): lambda _: stack_view(stack),
            ("GET", "/timeline"): lambda _: timeline_from_events(
                list(stack.events), end=stack.elapsed()
            ).to_dict(),
            ("POST", "/publish"): lambda body: publish(stack, body),
            ("POST", "/load"): lambda body: set_load(
                stack, load, float(body.get("qps", 0)), body.get("node") or None
            ),
            ("POST", "/report"): lambda body: {"path": str(write_report(stack, Path(str(body["path"]))))},
            ("POST", "/stop"): self._stop,
        }
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="control", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _stop(self, _: dict[str, Any]) -> dict[str, Any]:
        self.stop_event.set()
        return {"stopping": True}

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _handler(control: ControlServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("control: " + format, *args)  # noqa: G003 -- format is the base's

        def _answer(self, status: int, data: Any) -> None:
            body = json.dumps(data, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _serve(self, method: str) -> None:
            expected = f"Bearer {control.token}"
            if not secrets.compare_digest(self.headers.get("Authorization", ""), expected):
                self._answer(
                    401, {"error": "missing or wrong control token (see .netguard/local/state.json)"}
                )
                return
            route = control.routes.get((method, urlsplit(self.path).path))
            if route is None:
                self._answer(404, {"error": f"no {method} {self.path}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._answer(413, {"error": f"request over {MAX_BODY} bytes"})
                return
            try:
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                with control.lock:
                    result = route(body)
            except (ValueError, KeyError, TypeError) as exc:
                self._answer(400, {"error": str(exc)})
            except Exception as exc:
                logger.exception("control command failed")
                self._answer(500, {"error": f"{type(exc).__name__}: {exc}"})
            else:
                self._answer(200, result)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler


# --- main -------------------------------------------------------------------------------------


def _keep_session(stack: LocalStack, root: Path) -> None:
    """What outlives `down`: the session's report and timeline (the logs stay under stack/)."""
    try:
        write_report(stack, root / "report.html")
        timeline = timeline_from_events(list(stack.events), end=stack.elapsed())
        (root / "timeline.json").write_text(json.dumps(timeline.to_dict(), indent=1))
    except Exception:  # a report must not keep the stack from stopping
        logger.exception("could not write the session's report")


def run(root: Path, settings: StackSettings) -> int:
    stop = threading.Event()
    running = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        # While starting, unwind at once (LocalStack stops what it started); once running, stop in order.
        if not running.is_set():
            raise KeyboardInterrupt
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    token = secrets.token_urlsafe(24)
    write_state(root, {"status": "starting", "pid": os.getpid()})
    try:
        with LocalStack(settings) as stack:
            running.set()
            load = ControlledLoad(stack)
            stack.load = load
            control = ControlServer(stack, load, token, stop)
            control.start()
            try:
                write_state(root, {**describe(stack, control.url), "token": token})
                logger.info("local stack ready in %.1fs", stack.elapsed())
                while not stop.wait(1.0):  # a timeout keeps the main thread responsive to signals
                    pass
                write_state(root, {"status": "stopping", "pid": os.getpid()})
                _keep_session(stack, root)
            finally:
                control.close()
    except KeyboardInterrupt:
        logger.info("stopped while starting")
        (root / STATE_FILE).unlink(missing_ok=True)
        return 130
    except Exception as exc:
        logger.exception("the local stack failed")
        write_state(root, {"status": "failed", "pid": os.getpid(), "error": str(exc)[-2000:]})
        return 1
    (root / STATE_FILE).unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netguard_cli.localstack.supervisor")
    parser.add_argument("--root", required=True, help="state, logs and the stack's work directory")
    parser.add_argument("--checkout", default=str(CHECKOUT))
    parser.add_argument("--time-scale", type=float, default=1 / 30)
    parser.add_argument("--no-cluster", action="store_true")
    parser.add_argument("--exporter", choices=[d.value for d in Dialect], default=Dialect.NODE_EXPORTER.value)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    root = Path(args.root).resolve()
    settings = StackSettings(
        workdir=root / "stack",
        checkout=Path(args.checkout).resolve(),
        time_scale=args.time_scale,
        with_cluster=not args.no_cluster,
        exporter=Dialect(args.exporter),
        die_with_parent=True,
    )
    return run(root, settings)


if __name__ == "__main__":
    sys.exit(main())
