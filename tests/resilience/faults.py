"""Fault injection at the boundaries the handlers cross, without touching their code.

- AWS: `aws_faults` wraps botocore's `Endpoint._send`, the last step before the HTTP request, and
  answers chosen (service, operation) calls with a real AWS error response. botocore parses it and
  its standard retry mode retries throttles and 5xx exactly as in Lambda, so the handler sees what it
  would see in AWS after the SDK gave up.
- Kubernetes: `kube_faults` wraps urllib3's `PoolManager.urlopen`, which the official kubernetes
  client goes through, for requests to the API server only: a status with a
  Kubernetes `Status` body, or a read timeout.
Slack and PagerDuty faults are scripted replies of the local receivers (tests/support/receivers.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.endpoint
import pytest
import urllib3
from botocore.awsrequest import AWSResponse


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _query_error(code: str, kind: str = "Sender") -> bytes:
    return (
        f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>injected fault</Message>"
        f"</Error><RequestId>fault</RequestId></ErrorResponse>"
    ).encode()


def _ec2_error(code: str) -> bytes:
    return (
        f"<Response><Errors><Error><Code>{code}</Code><Message>injected fault</Message></Error></Errors>"
        "<RequestID>fault</RequestID></Response>"
    ).encode()


def _json_error(code: str, prefix: str) -> bytes:
    return json.dumps({"__type": f"{prefix}#{code}", "message": "injected fault"}).encode()


@dataclass
class AwsFault:
    service: str
    """botocore's endpoint prefix: ec2, sns, sqs, dynamodb, s3, ..."""
    operation: str
    code: str
    status: int
    times: int = 1_000_000
    """How many calls fail; later calls pass through."""
    after: bool = False
    """Let the call reach the service first, then lose its answer (the error replaces it)."""
    injected: int = 0

    def response(self, url: str) -> AWSResponse:
        if self.service == "ec2":
            body, kind = _ec2_error(self.code), "text/xml"
        elif self.service == "dynamodb":
            body, kind = (
                _json_error(self.code, "com.amazonaws.dynamodb.v20120810"),
                "application/x-amz-json-1.0",
            )
        else:
            body, kind = _query_error(self.code, "Receiver" if self.status >= 500 else "Sender"), "text/xml"
        headers: Any = {"Content-Type": kind, "x-amzn-RequestId": "fault"}
        return AWSResponse(url, self.status, headers, _Raw(body))


def _operation(request: Any) -> str:
    path = urlsplit(request.url).path
    if request.method == "POST" and "/addons/" in path and path.endswith("/update"):
        return "UpdateAddon"  # EKS is REST-JSON: the operation is in the method and path
    target = request.headers.get("X-Amz-Target")
    if target:
        return str(target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1]
    body = request.body or b""
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode(errors="replace")
    if not isinstance(body, str):
        return ""
    return (parse_qs(body).get("Action") or [""])[0]


@dataclass
class AwsFaults:
    faults: list[AwsFault] = field(default_factory=list)

    def add(
        self,
        service: str,
        operation: str,
        code: str,
        status: int,
        *,
        times: int = 1_000_000,
        after: bool = False,
    ) -> AwsFault:
        fault = AwsFault(service, operation, code, status, times, after)
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def match(self, service: str, operation: str) -> AwsFault | None:
        for fault in self.faults:
            if (fault.service, fault.operation) == (service, operation) and fault.injected < fault.times:
                fault.injected += 1
                return fault
        return None


@contextmanager
def aws_faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsFaults]:
    plan = AwsFaults()
    original: Any = getattr(botocore.endpoint.Endpoint, "_send")  # noqa: B009 -- private, untyped

    def send(self: Any, request: Any) -> Any:
        fault = plan.match(self._endpoint_prefix, _operation(request))
        if fault is not None:
            if fault.after:
                original(self, request)
            return fault.response(request.url)
        return original(self, request)

    monkeypatch.setattr(botocore.endpoint.Endpoint, "_send", send)
    try:
        yield plan
    finally:
        plan.clear()


@dataclass
class KubeFault:
    method: str
    path: re.Pattern[str]
    status: int
    """An HTTP status, or 0 for a read timeout."""
    times: int
    after: bool = False
    """Let the request reach the API server first, then lose the answer (a timeout after the change)."""
    injected: int = 0


@dataclass
class KubeFaults:
    server: str
    faults: list[KubeFault] = field(default_factory=list)

    def add(self, method: str, path: str, status: int, *, times: int = 1, after: bool = False) -> KubeFault:
        fault = KubeFault(method, re.compile(path), status, times, after)
        self.faults.append(fault)
        return fault

    def match(self, method: str, url: str) -> KubeFault | None:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.server:
            return None
        for fault in self.faults:
            if fault.method == method and fault.path.search(parts.path) and fault.injected < fault.times:
                fault.injected += 1
                return fault
        return None


_REASONS = {409: "Conflict", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}


@contextmanager
def kube_faults(monkeypatch: pytest.MonkeyPatch, server: str) -> Iterator[KubeFaults]:
    plan = KubeFaults(server.rstrip("/"))
    original = urllib3.PoolManager.urlopen

    def urlopen(self: urllib3.PoolManager, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        fault = plan.match(method, url)
        if fault is None:
            return original(self, method, url, *args, **kwargs)
        if fault.after:
            original(self, method, url, *args, **kwargs)
        if fault.status == 0:
            # The pool urllib3 itself names in a read timeout: the one this manager keeps for the URL.
            raise urllib3.exceptions.ReadTimeoutError(
                self.connection_from_url(url), url, "Read timed out (injected)"
            )
        reason = _REASONS.get(fault.status, "InternalError")
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": f"injected {fault.status}",
            "reason": reason,
            "code": fault.status,
        }
        return urllib3.HTTPResponse(
            body=json.dumps(status).encode(),
            status=fault.status,
            headers={"Content-Type": "application/json"},
            preload_content=True,
        )

    monkeypatch.setattr(urllib3.PoolManager, "urlopen", urlopen)
    yield plan
