"""The `netguard local` supervisor's pure parts: the controllable load model and the control API's
token check (a fake stack: no component runs)."""

from __future__ import annotations

import dataclasses
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from netguard_cli.localstack.stack import CorednsState, StackSettings
from netguard_cli.localstack.supervisor import ControlledLoad, ControlServer, listening_ports, set_load


@dataclass
class Node:
    name: str


@dataclass
class FakeStack:
    pods: tuple[str, ...] = ("a", "a")
    settings: StackSettings = field(default_factory=lambda: StackSettings(workdir=None))  # type: ignore[arg-type]
    exporter: Any = None
    kube: Any = None  # no cluster: DnsLoad takes CoreDNS's placement from `coredns()`
    nodes: tuple[Node, ...] = (Node("a"), Node("b"))
    emitted: list[str] = field(default_factory=list)

    def coredns(self) -> CorednsState:
        return CorednsState(len(self.pods), len(self.pods), self.pods)

    def emit(self, source: str, kind: str, text: str, data: Any = None) -> None:
        self.emitted.append(f"{source}/{kind}")


class TestControlledLoad:
    def test_without_node_traffic_it_is_the_demo_model(self) -> None:
        stack = FakeStack()
        load = ControlledLoad(stack)  # type: ignore[arg-type]
        load.enabled = True
        assert load.per_node() == {"a": 3000.0 - 1024.0}  # both pods on one interface

    def test_node_traffic_adds_to_coredns_share(self) -> None:
        """500 qps from b on top of nothing; 1500 on top of CoreDNS's 750 on b."""
        stack = FakeStack(pods=("a", "b"))
        load = ControlledLoad(stack)  # type: ignore[arg-type]
        load.node_pps = {"b": 500.0}
        assert load.per_node() == {}  # DNS load off, 500 < 1024
        load.enabled = True
        assert load.per_node() == {"a": 476.0, "b": 476.0 + 500.0}
        load.node_pps = {"b": 200.0}
        load.model = dataclasses.replace(load.model, queries_pps=1500.0)
        assert load.per_node() == {}  # 750 + 200 < 1024
        load.node_pps = {"b": 400.0}
        assert load.per_node() == {"b": 126.0}

    def test_set_load(self) -> None:
        stack = FakeStack()
        load = ControlledLoad(stack)  # type: ignore[arg-type]
        described = set_load(stack, load, 1000.0, None)  # type: ignore[arg-type]
        assert described["coredns_qps"] == 1000.0
        assert load.enabled
        set_load(stack, load, 2000.0, "b")  # type: ignore[arg-type]
        assert load.node_pps == {"b": 2000.0}
        set_load(stack, load, 0.0, "b")  # type: ignore[arg-type]
        assert load.node_pps == {}
        with pytest.raises(ValueError, match="no node 'zz'"):
            set_load(stack, load, 1.0, "zz")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="0 or more"):
            set_load(stack, load, -1.0, None)  # type: ignore[arg-type]
        assert stack.emitted.count("local/load") == 3


class TestControlServer:
    @pytest.fixture
    def server(self) -> Iterator[tuple[ControlServer, threading.Event]]:
        stop = threading.Event()
        stack = FakeStack()
        control = ControlServer(stack, ControlledLoad(stack), "s3cret-token", stop)  # type: ignore[arg-type]
        control.start()
        yield control, stop
        control.close()

    def request(self, url: str, token: str | None, method: str = "POST") -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        request = urllib.request.Request(
            url, data=b"{}" if method == "POST" else None, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return int(response.status), json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    @pytest.mark.parametrize("token", [None, "wrong", "s3cret-token-but-longer"])
    def test_refuses_without_the_token(
        self, server: tuple[ControlServer, threading.Event], token: str | None
    ) -> None:
        control, stop = server
        status, body = self.request(f"{control.url}/stop", token)
        assert status == 401
        assert "token" in body["error"]
        assert "s3cret" not in json.dumps(body)
        assert not stop.is_set()

    def test_stop_and_unknown_route(self, server: tuple[ControlServer, threading.Event]) -> None:
        control, stop = server
        assert self.request(f"{control.url}/nope", "s3cret-token")[0] == 404
        assert self.request(f"{control.url}/load", "s3cret-token")[0] == 200  # qps 0: load off
        assert self.request(f"{control.url}/stop", "s3cret-token") == (200, {"stopping": True})
        assert stop.is_set()

    def test_listening_ports_of_this_process(self, server: tuple[ControlServer, threading.Event]) -> None:
        """/proc says this process listens on the control port."""
        import os

        control, _ = server
        assert int(control.url.rsplit(":", 1)[1]) in listening_ports([os.getpid()])
