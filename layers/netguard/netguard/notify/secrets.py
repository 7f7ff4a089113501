"""Receiver credentials (Slack token or webhook URL, PagerDuty routing key) from Secrets Manager.

Values are cached per warm container for a bounded time and wrapped in `Secret`, whose `str` and
`repr` never show the value. Errors name the secret's ARN and the failure, never the value.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from netguard.notify.errors import SecretInvalid, SecretUnavailable

log = logging.getLogger(__name__)

_PERMANENT_CODES = {
    "ResourceNotFoundException",
    "AccessDeniedException",
    "AccessDenied",
    "InvalidRequestException",
    "InvalidParameterException",
    "DecryptionFailure",
}


class Secret:
    """A secret string that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class SecretCache:
    """Reads secrets through an injected Secrets Manager client; keeps each for `ttl_seconds`."""

    def __init__(
        self, client: Any, *, ttl_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, arn: str, key: str) -> Secret:
        """The secret's `key` field when it holds a JSON object, else the whole string."""
        raw = self._raw(arn)
        value = _field(raw, key)
        if not value:
            raise SecretInvalid(
                f"secret {arn} holds no {key!r} (a JSON object with {key!r} or a plain string)"
            )
        return Secret(value)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def _raw(self, arn: str) -> str:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(arn)
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1]
        try:
            response = self._client.get_secret_value(SecretId=arn)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _PERMANENT_CODES:
                raise SecretInvalid(f"cannot read secret {arn}: {code}") from None
            raise SecretUnavailable(f"cannot read secret {arn}: {code or 'error'}") from None
        except BotoCoreError as exc:
            raise SecretUnavailable(f"cannot read secret {arn}: {type(exc).__name__}") from None
        raw = response.get("SecretString")
        if not isinstance(raw, str) or not raw.strip():
            raise SecretInvalid(f"secret {arn} has no SecretString")
        with self._lock:
            self._cache[arn] = (now, raw)
        log.debug("read secret %s (cached for %.0fs)", arn, self._ttl)
        return raw


def _field(raw: str, key: str) -> str:
    text = raw.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return ""
        value = data.get(key) if isinstance(data, dict) else None
        return value.strip() if isinstance(value, str) else ""
    return text
