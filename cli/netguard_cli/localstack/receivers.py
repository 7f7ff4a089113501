"""Local stand-ins for Slack's Web API and PagerDuty's Events API v2, for the local stack.

They answer as the real services do (Slack: `ok`, `channel`, `ts`; PagerDuty: 202 with a dedup key),
keep every request for assertions, and describe each in one human-readable line that never holds
the token, webhook path or routing key. The notify tests have their own stricter receivers.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Received:
    service: str
    """"slack" or "pagerduty"."""
    kind: str
    """slack: post, update, reply, webhook; pagerduty: trigger, acknowledge, resolve, change."""
    summary: str
    """One line for people, without secrets."""
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


Listener = Callable[[Received], None]


class _Receiver:
    service = ""

    def __init__(self, listener: Listener | None = None) -> None:
        self.received: list[Received] = []
        self._listener = listener
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=type(self).__name__, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> _Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def of_kind(self, *kinds: str) -> list[Received]:
        with self._cond:
            return [r for r in self.received if r.kind in kinds]

    def wait_for(self, kind: str, *, timeout: float, count: int = 1) -> list[Received]:
        """At least `count` requests of `kind`, or an empty list after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r for r in self.received if r.kind == kind]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)

    def _record(self, item: Received) -> None:
        with self._cond:
            self.received.append(item)
            self._cond.notify_all()
        if self._listener is not None:
            self._listener(item)

    def handle(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError


class SlackReceiver(_Receiver):
    """Slack's Web API (`chat.postMessage`, `chat.update`, `auth.test`) and incoming webhooks.

    Point the function's Slack API base URL at `url` (any path prefix works: the method is the last
    path segment); webhooks are any path under `/services/`."""

    service = "slack"

    def __init__(self, listener: Listener | None = None, *, channel: str = "C0NETGUARD") -> None:
        super().__init__(listener)
        self.channel = channel
        self.messages: dict[str, dict[str, Any]] = {}
        """ts -> the latest version of each message posted (edits applied)."""
        self._next_ts = 1_700_000_000.000100

    def _ts(self) -> str:
        self._next_ts += 1.0
        return f"{self._next_ts:.6f}"

    def handle(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        method = path.rstrip("/").rsplit("/", 1)[-1]
        if "/services/" in path:
            self._record(Received("slack", "webhook", f"webhook post: {_text_of(body)}", body))
            return 200, {"ok": True}
        if method == "auth.test":
            return 200, {"ok": True, "team": "netguard-local", "user": "netguard"}
        if method == "chat.postMessage":
            ts = self._ts()
            channel = str(body.get("channel") or self.channel)
            self.messages[ts] = {**body, "ts": ts, "channel": channel}
            thread = body.get("thread_ts")
            kind = "reply" if thread else "post"
            where = f"thread {thread}" if thread else f"#{channel}"
            self._record(Received("slack", kind, f"{kind} in {where}: {_text_of(body)}", {**body, "ts": ts}))
            return 200, {"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts}}
        if method == "chat.update":
            ts = str(body.get("ts", ""))
            if ts not in self.messages:
                return 200, {"ok": False, "error": "message_not_found"}
            self.messages[ts] = {**self.messages[ts], **body}
            self._record(Received("slack", "update", f"edited message {ts}: {_text_of(body)}", body))
            return 200, {"ok": True, "channel": body.get("channel", self.channel), "ts": ts}
        return 200, {"ok": False, "error": "unknown_method"}


class PagerDutyReceiver(_Receiver):
    """PagerDuty Events API v2: `/v2/enqueue` and `/v2/change/enqueue` (any path prefix)."""

    service = "pagerduty"

    def handle(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        payload = body.get("payload") or {}
        if path.rstrip("/").endswith("/v2/change/enqueue"):
            summary = f"change event: {str(payload.get('summary', ''))[:200]}"
            self._record(Received("pagerduty", "change", summary, body))
            return 202, {"status": "success", "message": "Change event processed"}
        if path.rstrip("/").endswith("/v2/enqueue"):
            action = str(body.get("event_action", ""))
            if action not in {"trigger", "acknowledge", "resolve"} or not body.get("routing_key"):
                return 400, {"status": "invalid event", "message": "Event object is invalid"}
            dedup = str(body.get("dedup_key", ""))
            parts = [action, f"dedup_key={dedup[:40]}{'…' if len(dedup) > 40 else ''}"]
            if action == "trigger":
                parts.append(f"severity={payload.get('severity', '')}")
                parts.append(f"source={payload.get('source', '')}")
                parts.append(str(payload.get("summary", ""))[:200])
            self._record(Received("pagerduty", action, " ".join(parts), body))
            return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup}
        return 404, {"status": "not found"}


def _text_of(body: dict[str, Any]) -> str:
    text = str(body.get("text") or "")
    if not text:
        for block in body.get("blocks") or []:
            section = block.get("text") if isinstance(block, dict) else None
            if isinstance(section, dict) and section.get("text"):
                text = str(section["text"])
                break
    first = text.strip().splitlines()[0] if text.strip() else "(no text)"
    blocks = len(body.get("blocks") or [])
    return f"{first[:160]}" + (f" [{blocks} blocks]" if blocks else "")


def _handler_for(receiver: _Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", errors="replace")
            body = _decode(raw, self.headers.get("Content-Type") or "")
            status, answer = receiver.handle(urlsplit(self.path).path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _decode(raw: str, content_type: str) -> dict[str, Any]:
    if "application/x-www-form-urlencoded" in content_type:
        form = {k: v[-1] for k, v in parse_qs(raw).items()}
        for key in ("blocks", "attachments"):
            if key in form:
                with contextlib.suppress(ValueError):
                    form[key] = json.loads(form[key])
        return form
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {"_raw": raw[:200]}
    return data if isinstance(data, dict) else {"_value": data}
