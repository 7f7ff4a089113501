"""Strict local stand-ins for Slack (Web API and incoming webhooks) and PagerDuty Events API v2.

Each checks every request against the documented shape (Block Kit limits, Events API fields) and
records what it finds wrong in `violations`; the fixtures fail the test when a request was
malformed. Answers can be scripted per route: 429 with Retry-After, 5xx, slow answers (timeouts),
or Slack error codes such as `message_not_found`, `invalid_auth`, `channel_not_found`.
"""

from __future__ import annotations

import collections
import itertools
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

SLACK_TOKEN = "xoxb-test-1234567890-SECRETTOKENVALUE"
WEBHOOK_PATH = "/services/T0000TEST/B0000TEST/WEBHOOKSECRETPATHVALUE"
ROUTING_KEY = "R0UT1NGKEY0000SECRET00000000ABCD"
CHANNEL = "C0NETGUARD"

BLOCK_TYPES = {"section", "header", "context", "actions", "divider", "image", "rich_text"}
SEVERITIES = {"critical", "error", "warning", "info"}


@dataclass(frozen=True)
class Reply:
    """A scripted answer: status, body (dict as JSON, str as text), headers, and a delay before it."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @staticmethod
    def slack_error(code: str) -> Reply:
        return Reply(200, {"ok": False, "error": code})

    @staticmethod
    def rate_limited(retry_after: int = 1) -> Reply:
        return Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})

    @staticmethod
    def server_error(status: int = 503) -> Reply:
        return Reply(status, "service unavailable")

    @staticmethod
    def slow(seconds: float) -> Reply:
        """Answers only after `seconds` (longer than the client's timeout: a timeout)."""
        return Reply(200, None, delay=seconds)


@dataclass(frozen=True)
class Request:
    route: str
    path: str
    headers: Mapping[str, str]
    body: Any
    raw: bytes


class _Receiver:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self.allow_violations = False
        self._scripts: dict[str, collections.deque[Reply]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, route: str, *replies: Reply) -> None:
        """Answer the next requests to `route` with `replies`, in order, before answering normally."""
        with self._lock:
            self._scripts[route].extend(replies)

    def to(self, route: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.route == route]

    def _next_scripted(self, route: str) -> Reply | None:
        with self._lock:
            queue = self._scripts.get(route)
            return queue.popleft() if queue else None

    def _violation(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)

    def route_of(self, path: str) -> str:
        raise NotImplementedError

    def answer(self, request: Request) -> Reply:
        raise NotImplementedError

    def handle(self, path: str, headers: Mapping[str, str], raw: bytes) -> Reply:
        route = self.route_of(path)
        content_type = headers.get("content-type", "")
        body: Any
        if "json" in content_type:
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                self._violation(f"{route}: body is not JSON")
                body = None
        elif "x-www-form-urlencoded" in content_type:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        else:
            self._violation(f"{route}: unexpected Content-Type {content_type!r}")
            body = None
        request = Request(route, path, headers, body, raw)
        with self._lock:
            self.requests.append(request)
        scripted = self._next_scripted(route)
        if scripted is not None:
            return scripted
        return self.answer(request)


def _handler_for(receiver: _Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = receiver.handle(urlsplit(self.path).path, headers, raw)
            if reply.delay:
                time.sleep(reply.delay)
            body = reply.body
            data = (
                (json.dumps(body) if not isinstance(body, str) else body).encode()
                if body is not None
                else b""
            )
            try:
                self.send_response(reply.status)
                is_json = body is not None and not isinstance(body, str)
                self.send_header("Content-Type", "application/json" if is_json else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a scripted timeout)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


# --- Block Kit ---------------------------------------------------------------------------------


def block_kit_problems(payload: Mapping[str, Any]) -> list[str]:
    """What breaks Slack's documented message limits in `payload` (empty when fine)."""
    problems: list[str] = []
    if not any(payload.get(k) for k in ("text", "blocks", "attachments")):
        problems.append("no text, blocks or attachments")
    if len(str(payload.get("text", ""))) > 40_000:
        problems.append("text longer than 40000")
    groups = [("blocks", payload.get("blocks") or [])]
    for index, attachment in enumerate(payload.get("attachments") or []):
        colour = str(attachment.get("color", "#000000"))
        if not (colour in {"good", "warning", "danger"} or (colour.startswith("#") and len(colour) == 7)):
            problems.append(f"attachment {index} colour {colour!r}")
        groups.append((f"attachments[{index}].blocks", attachment.get("blocks") or []))
    for where, blocks in groups:
        if len(blocks) > 50:
            problems.append(f"{where}: {len(blocks)} blocks (max 50)")
        for position, block in enumerate(blocks):
            problems.extend(f"{where}[{position}]: {p}" for p in _block_problems(block))
    return problems


def _text_problems(text: Any, limit: int, kinds: set[str]) -> list[str]:
    if not isinstance(text, dict) or text.get("type") not in kinds:
        return [f"text object of type {text.get('type') if isinstance(text, dict) else type(text).__name__}"]
    value = text.get("text")
    if not isinstance(value, str) or not value:
        return ["empty text"]
    return [f"text of {len(value)} characters (max {limit})"] if len(value) > limit else []


def _block_problems(block: Mapping[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        return [f"unknown block type {kind!r}"]
    problems: list[str] = []
    if kind == "header":
        problems += _text_problems(block.get("text"), 150, {"plain_text"})
    elif kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append("section without text or fields")
        if "text" in block:
            problems += _text_problems(block["text"], 3000, {"mrkdwn", "plain_text"})
        fields = block.get("fields", [])
        if len(fields) > 10:
            problems.append(f"{len(fields)} fields (max 10)")
        for item in fields:
            problems += _text_problems(item, 2000, {"mrkdwn", "plain_text"})
    elif kind == "context":
        elements = block.get("elements", [])
        if not elements or len(elements) > 10:
            problems.append(f"context with {len(elements)} elements (1-10)")
        for item in elements:
            problems += _text_problems(item, 3000, {"mrkdwn", "plain_text"})
    elif kind == "actions":
        elements = block.get("elements", [])
        if not elements or len(elements) > 25:
            problems.append(f"actions with {len(elements)} elements (1-25)")
        for item in elements:
            if item.get("type") == "button":
                problems += _text_problems(item.get("text"), 75, {"plain_text"})
                url = str(item.get("url", ""))
                if len(url) > 3000:
                    problems.append("button url longer than 3000")
                if "url" in item and (not url.startswith(("http://", "https://")) or not url.isprintable()):
                    # Slack answers invalid_blocks for the whole message.
                    problems.append(f"button url {url[:40]!r} is no http(s) URL")
    return problems


# --- Slack -------------------------------------------------------------------------------------


class SlackReceiver(_Receiver):
    """chat.postMessage, chat.update, chat.getPermalink under /api, and one incoming webhook."""

    def __init__(self, *, token: str = SLACK_TOKEN, channels: tuple[str, ...] = (CHANNEL,)) -> None:
        self.token = token
        self.channels = set(channels)
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        """(channel, ts) -> the latest payload of each top-level message."""
        self.replies: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
        self._ts = itertools.count(1)
        super().__init__()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}{WEBHOOK_PATH}"

    def route_of(self, path: str) -> str:
        if path.startswith("/api/"):
            return path.removeprefix("/api/")
        return "webhook" if path.startswith("/services/") else path

    def forget(self, channel: str, ts: str) -> None:
        """Delete a message, as a person in the channel could (the next edit finds `message_not_found`)."""
        with self._lock:
            self.messages.pop((channel, ts), None)

    def answer(self, request: Request) -> Reply:
        if request.route == "webhook":
            return self._webhook(request)
        auth = request.headers.get("authorization", "")
        if not auth:
            return Reply.slack_error("not_authed")
        if auth != f"Bearer {self.token}":
            return Reply.slack_error("invalid_auth")
        body = request.body if isinstance(request.body, dict) else {}
        if request.route == "chat.getPermalink":
            channel, ts = body.get("channel", ""), body.get("message_ts", "")
            if (channel, ts) not in self.messages:
                return Reply.slack_error("message_not_found")
            return Reply(
                200,
                {
                    "ok": True,
                    "channel": channel,
                    "permalink": f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}",
                },
            )
        if request.route not in ("chat.postMessage", "chat.update"):
            self._violation(f"unknown method {request.route}")
            return Reply.slack_error("unknown_method")
        if "json" not in request.headers.get("content-type", ""):
            self._violation(f"{request.route}: not sent as JSON")
        channel = body.get("channel", "")
        if channel not in self.channels:
            return Reply.slack_error("channel_not_found")
        problems = block_kit_problems(body)
        if problems:
            for problem in problems:
                self._violation(f"{request.route}: {problem}")
            return Reply.slack_error("invalid_blocks")
        if request.route == "chat.update":
            ts = body.get("ts", "")
            with self._lock:
                if (channel, ts) not in self.messages:
                    return Reply.slack_error("message_not_found")
                self.messages[(channel, ts)] = body
            return Reply(200, {"ok": True, "channel": channel, "ts": ts, "text": body.get("text", "")})
        thread_ts = body.get("thread_ts")
        ts = f"1764100000.{next(self._ts):06d}"
        with self._lock:
            if thread_ts:
                if (channel, thread_ts) not in self.messages:
                    return Reply.slack_error("thread_not_found")
                self.replies[(channel, thread_ts)].append(body)
            else:
                self.messages[(channel, ts)] = body
        return Reply(
            200, {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text", "")}}
        )

    def _webhook(self, request: Request) -> Reply:
        if request.path != WEBHOOK_PATH:
            return Reply(404, "no_service")
        body = request.body if isinstance(request.body, dict) else None
        if body is None:
            return Reply(400, "invalid_payload")
        if "channel" in body or "thread_ts" in body:
            self._violation("webhook: channel/thread_ts are not for incoming webhooks")
        problems = block_kit_problems(body)
        if problems:
            for problem in problems:
                self._violation(f"webhook: {problem}")
            return Reply(400, "invalid_blocks")
        with self._lock:
            self.messages[("webhook", f"w{next(self._ts)}")] = body
        return Reply(200, "ok")

    def posts(self) -> list[Request]:
        """Top-level messages posted (Web API without thread_ts, or webhook), successful or not."""
        return [r for r in self.to("chat.postMessage") if not (r.body or {}).get("thread_ts")] + self.to(
            "webhook"
        )

    def thread_replies(self) -> list[Request]:
        return [r for r in self.to("chat.postMessage") if (r.body or {}).get("thread_ts")]


# --- PagerDuty ---------------------------------------------------------------------------------


class PagerDutyReceiver(_Receiver):
    """POST /v2/enqueue and /v2/change/enqueue, with incidents tracked by dedup key."""

    def __init__(self, *, routing_key: str = ROUTING_KEY) -> None:
        self.routing_key = routing_key
        self.incidents: dict[str, str] = {}
        """dedup_key -> "triggered" | "resolved"."""
        super().__init__()

    def route_of(self, path: str) -> str:
        return {"/v2/enqueue": "enqueue", "/v2/change/enqueue": "change"}.get(path, path)

    def answer(self, request: Request) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        if request.route not in ("enqueue", "change"):
            return Reply(404, {"status": "not found"})
        errors = self._problems(request.route, body)
        if body.get("routing_key") != self.routing_key:
            return Reply(
                400,
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": ["Invalid routing key"],
                },
            )
        if errors:
            for error in errors:
                self._violation(f"{request.route}: {error}")
            return Reply(
                400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
            )
        if request.route == "change":
            return Reply(202, {"status": "success", "message": "Change event processed"})
        key = body.get("dedup_key") or f"generated-{len(self.requests)}"
        with self._lock:
            action = body["event_action"]
            if action == "trigger":
                self.incidents[key] = "triggered"
            elif action == "resolve" and key in self.incidents:
                self.incidents[key] = "resolved"
        return Reply(202, {"status": "success", "message": "Event processed", "dedup_key": key})

    def _problems(self, route: str, body: Mapping[str, Any]) -> list[str]:
        problems: list[str] = []
        payload = body.get("payload")
        links = body.get("links", [])
        if not isinstance(links, list) or any(not isinstance(x, dict) or not x.get("href") for x in links):
            problems.append("links must be a list of {href, text}")
        if route == "change":
            if not isinstance(payload, dict) or not payload.get("summary"):
                problems.append("change event without payload.summary")
            elif len(payload["summary"]) > 1024:
                problems.append("payload.summary longer than 1024")
            return problems
        action = body.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            problems.append(f"event_action {action!r}")
        key = body.get("dedup_key")
        if key is not None and (not isinstance(key, str) or not key or len(key) > 255):
            problems.append(f"dedup_key of {len(str(key))} characters (1-255)")
        if action in ("acknowledge", "resolve") and not key:
            problems.append(f"{action} without dedup_key")
        if action == "trigger":
            if not isinstance(payload, dict):
                return [*problems, "trigger without payload"]
            summary = payload.get("summary")
            if not isinstance(summary, str) or not summary or len(summary) > 1024:
                problems.append(f"payload.summary of {len(str(summary))} characters (1-1024)")
            if not payload.get("source"):
                problems.append("payload.source missing")
            if payload.get("severity") not in SEVERITIES:
                problems.append(f"payload.severity {payload.get('severity')!r}")
            details = payload.get("custom_details")
            if details is not None and not isinstance(details, dict):
                problems.append("payload.custom_details is not an object")
        if len(json.dumps(body)) > 512 * 1024:
            problems.append("event larger than 512 KB")
        return problems

    def events(self, action: str | None = None) -> list[dict[str, Any]]:
        return [
            r.body
            for r in self.to("enqueue")
            if action is None or (r.body or {}).get("event_action") == action
        ]


# --- fixtures ----------------------------------------------------------------------------------


def _check(receiver: _Receiver) -> None:
    if receiver.violations and not receiver.allow_violations:
        pytest.fail("malformed requests:\n" + "\n".join(receiver.violations))


@pytest.fixture
def slack_receiver() -> Iterator[SlackReceiver]:
    """A strict local Slack; the test fails if any request broke Slack's documented shapes."""
    receiver = SlackReceiver()
    try:
        yield receiver
    finally:
        receiver.stop()
    _check(receiver)


@pytest.fixture
def pagerduty_receiver() -> Iterator[PagerDutyReceiver]:
    """A strict local PagerDuty Events API v2; the test fails on any malformed event."""
    receiver = PagerDutyReceiver()
    try:
        yield receiver
    finally:
        receiver.stop()
    _check(receiver)


@dataclass
class NotifyEnv:
    """moto (DynamoDB table, secrets) plus both receivers, with the notify_* settings exported."""

    slack: SlackReceiver
    pagerduty: PagerDutyReceiver
    table: str
    dynamodb: Any
    secret_arns: dict[str, str]

    def items(self, pk: str) -> list[dict[str, Any]]:
        response = self.dynamodb.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ConsistentRead=True,
        )
        return [
            {"sk": i["sk"]["S"], "data": json.loads(i["data"]["S"]), "expires_at": int(i["expires_at"]["N"])}
            for i in response.get("Items", [])
        ]

    def failures(self, function: str) -> list[dict[str, Any]]:
        """The failure records a notifier kept, in its own partitions (`slack#…`, `pagerduty#…`)."""
        owner = function.removeprefix("notify_")
        return [i["data"] for i in self.items(f"{owner}#failure#{function}")]


@pytest.fixture
def notify_env(
    aws_env: Any,
    slack_receiver: SlackReceiver,
    pagerduty_receiver: PagerDutyReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> NotifyEnv:
    """Everything notify_slack and notify_pagerduty need, on loopback; bot mode by default."""
    import boto3

    dynamodb = boto3.client("dynamodb")
    table = "netguard-state"
    dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    secrets = boto3.client("secretsmanager")
    arns = {
        "bot": secrets.create_secret(
            Name="netguard/slack-bot", SecretString=json.dumps({"token": SLACK_TOKEN})
        )["ARN"],
        "webhook": secrets.create_secret(
            Name="netguard/slack-webhook",
            SecretString=json.dumps({"webhook_url": slack_receiver.webhook_url}),
        )["ARN"],
        "pagerduty": secrets.create_secret(
            Name="netguard/pagerduty", SecretString=json.dumps({"routing_key": ROUTING_KEY})
        )["ARN"],
    }
    for name, value in {
        "STATE_TABLE": table,
        "SLACK_SECRET_ARN": arns["bot"],
        "SLACK_MODE": "bot",
        "SLACK_CHANNEL": CHANNEL,
        "SLACK_API_URL": slack_receiver.api_url,
        "PAGERDUTY_SECRET_ARN": arns["pagerduty"],
        "PAGERDUTY_EVENTS_URL": pagerduty_receiver.url,
        "ALERTMANAGER_URL": "http://alertmanager.example.com:9093",
        "NOTIFY_HTTP_TIMEOUT_SECONDS": "1",
        "NOTIFY_MAX_ATTEMPTS": "3",
        "POWERTOOLS_METRICS_NAMESPACE": "Netguard",
    }.items():
        monkeypatch.setenv(name, value)
    return NotifyEnv(slack_receiver, pagerduty_receiver, table, dynamodb, arns)
