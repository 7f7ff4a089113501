"""Response classification, URL redaction and the one retry loop bounded by the remaining time."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from netguard.errors import PermanentError, RetryableError
from netguard.notify import (
    Budget,
    DeliveryPermanent,
    DeliveryRetryable,
    HttpResponse,
    MessageGone,
    RetryPolicy,
)
from netguard.notify.http import UrllibTransport, classify, redact, with_retries
from netguard.notify.slack.api import check_api_answer
from tests.support.receivers import Reply, SlackReceiver

POLICY = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=8.0, attempt_timeout=5.0, reserve=1.0)


class TestClassify:
    @pytest.mark.parametrize(
        ("status", "headers", "kind", "retry_after"),
        [
            (200, {}, None, None),
            (202, {}, None, None),
            (429, {"Retry-After": "7"}, DeliveryRetryable, 7.0),
            (429, {}, DeliveryRetryable, None),
            (408, {}, DeliveryRetryable, None),
            (500, {}, DeliveryRetryable, None),
            (503, {}, DeliveryRetryable, None),
            (400, {}, DeliveryPermanent, None),
            (403, {}, DeliveryPermanent, None),
            (404, {}, DeliveryPermanent, None),
        ],
    )
    def test_status_codes(
        self, status: int, headers: dict[str, str], kind: type[Exception] | None, retry_after: float | None
    ) -> None:
        """2xx is done, 408/429/5xx retry (with Retry-After), other 4xx are permanent."""
        response = HttpResponse(status, b"", headers)
        if kind is None:
            classify("x", response, where="x")
            return
        with pytest.raises(kind) as caught:
            classify("x", response, where="x")
        if isinstance(caught.value, RetryableError):
            assert caught.value.retry_after == retry_after

    @pytest.mark.parametrize(
        ("body", "kind"),
        [
            (b'{"ok": true, "ts": "1.2"}', None),
            (b'{"ok": false, "error": "ratelimited"}', DeliveryRetryable),
            (b'{"ok": false, "error": "internal_error"}', DeliveryRetryable),
            (b'{"ok": false, "error": "message_not_found"}', MessageGone),
            (b'{"ok": false, "error": "thread_not_found"}', MessageGone),
            (b'{"ok": false, "error": "invalid_auth"}', DeliveryPermanent),
            (b'{"ok": false, "error": "channel_not_found"}', DeliveryPermanent),
            (b"<html>proxy error</html>", DeliveryRetryable),
        ],
    )
    def test_slack_ok_false(self, body: bytes, kind: type[Exception] | None) -> None:
        """Slack's HTTP 200 with ok=false is classified by its error code."""
        response = HttpResponse(200, body)
        if kind is None:
            assert check_api_answer("chat.postMessage", response)["ts"] == "1.2"
            return
        with pytest.raises(kind):
            check_api_answer("chat.postMessage", response)


class TestRedact:
    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("https://hooks.slack.com/services/T1/B2/SECRET", "https://hooks.slack.com/…"),
            ("http://127.0.0.1:8080/services/x?token=abc", "http://127.0.0.1:8080/…"),
            ("not a url", "<redacted url>"),
        ],
    )
    def test_keeps_only_scheme_and_host(self, url: str, expected: str) -> None:
        """Paths and queries (where webhook secrets live) never survive."""
        assert redact(url) == expected

    def test_timeout_error_names_no_secret(self, slack_receiver: SlackReceiver) -> None:
        """A timeout on a webhook reports the host only."""
        slack_receiver.script("webhook", Reply.slow(1.0))
        with pytest.raises(DeliveryRetryable) as caught:
            UrllibTransport("slack").post(
                slack_receiver.webhook_url, b"{}", {"Content-Type": "application/json"}, 0.2
            )
        assert "WEBHOOKSECRET" not in str(caught.value)
        assert caught.value.code == "timeout"

    def test_connection_refused_is_retryable(self) -> None:
        """Nobody listening is a retryable failure, not a crash."""
        from netguard_cli.localstack.processes import free_port

        with pytest.raises(DeliveryRetryable) as caught:
            UrllibTransport("x").post(f"http://127.0.0.1:{free_port()}/secret-path", b"", {}, 1.0)
        assert "secret-path" not in str(caught.value)


class Clock:
    def __init__(self, remaining: float) -> None:
        self.remaining = remaining
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.remaining -= seconds


class TestRetryLoop:
    def _flaky(self, errors: list[Exception], clock: Clock, spent: float = 0.1) -> Callable[[float], str]:
        calls = iter(errors)

        def operation(timeout: float) -> str:
            assert timeout <= POLICY.attempt_timeout
            clock.remaining -= spent
            error = next(calls, None)
            if error is not None:
                raise error
            return "done"

        return operation

    def test_honours_retry_after(self) -> None:
        """The receiver's Retry-After is waited exactly."""
        clock = Clock(60)
        op = self._flaky([DeliveryRetryable("x", "http_429", "slow down", retry_after=3.0)], clock)
        assert (
            with_retries(op, budget=Budget(lambda: clock.remaining), policy=POLICY, sleep=clock.sleep)
            == "done"
        )
        assert clock.sleeps == [3.0]

    def test_backoff_grows_and_is_capped(self) -> None:
        """Without Retry-After the waits are jittered exponential backoff under the cap."""
        clock = Clock(600)
        op = self._flaky([DeliveryRetryable("x", "http_503", "down")] * 4, clock)
        with_retries(op, budget=Budget(lambda: clock.remaining), policy=POLICY, sleep=clock.sleep)
        assert len(clock.sleeps) == 4
        assert all(0 <= s <= bound for s, bound in zip(clock.sleeps, [1, 2, 4, 8], strict=True))

    def test_gives_up_when_the_wait_does_not_fit(self) -> None:
        """A Retry-After longer than the time left ends the loop at once with the retryable error."""
        clock = Clock(10)
        op = self._flaky([DeliveryRetryable("x", "http_429", "later", retry_after=30.0)], clock)
        with pytest.raises(DeliveryRetryable):
            with_retries(op, budget=Budget(lambda: clock.remaining), policy=POLICY, sleep=clock.sleep)
        assert clock.sleeps == []

    def test_stops_after_max_attempts(self) -> None:
        """Never more attempts than the policy allows."""
        clock = Clock(10_000)
        attempts = 0

        def operation(timeout: float) -> None:
            nonlocal attempts
            attempts += 1
            raise DeliveryRetryable("x", "http_500", "down", retry_after=0.0)

        with pytest.raises(DeliveryRetryable):
            with_retries(operation, budget=Budget(lambda: clock.remaining), policy=POLICY, sleep=clock.sleep)
        assert attempts == POLICY.max_attempts

    def test_permanent_errors_are_not_retried(self) -> None:
        """A permanent error leaves the loop on the first attempt."""
        clock = Clock(60)
        op = self._flaky([DeliveryPermanent("x", "invalid_auth", "no")], clock)
        with pytest.raises(PermanentError):
            with_retries(op, budget=Budget(lambda: clock.remaining), policy=POLICY, sleep=clock.sleep)
        assert clock.sleeps == []

    def test_no_attempt_without_time(self) -> None:
        """With no time left, no request is started."""
        with pytest.raises(DeliveryRetryable) as caught:
            with_retries(lambda t: "x", budget=Budget(lambda: 0.5), policy=POLICY, sleep=lambda s: None)
        assert caught.value.code == "no_time"

    def test_attempt_timeout_shrinks_with_the_budget(self) -> None:
        """Near the deadline a request gets only the time that is left."""
        seen: list[float] = []
        with_retries(seen.append, budget=Budget(lambda: 3.0), policy=POLICY, sleep=lambda s: None)
        assert seen == [2.0]
