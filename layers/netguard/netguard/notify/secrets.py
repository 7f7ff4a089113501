"""Receiver credentials (Slack token or webhook URL, PagerDuty routing key) from Secrets Manager.

Values are read and cached per warm container for a bounded time by Powertools' parameters
utility (`SecretsProvider`, `max_age` = SECRET_CACHE_SECONDS) and wrapped in `Secret`, whose `str` and
`repr` never show the value. Errors name the secret's ARN and the failure, never the value.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

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
    """Reads secrets through Powertools' `SecretsProvider` over an injected Secrets Manager client.

    Powertools keeps each value `max_age` seconds per warm container (rotation takes effect after
    that); this class adds only netguard's rules: pick the receiver's field, wrap it in `Secret`, and
    turn a failure into `SecretInvalid` (permanent) or `SecretUnavailable` (retry), naming the ARN
    and the error code, never the value.
    """

    def __init__(self, client: Any, *, ttl_seconds: float = 300.0) -> None:
        self._provider = SecretsProvider(boto3_client=client)
        self._max_age = int(ttl_seconds)

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
        self._provider.clear_cache()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated

    def _raw(self, arn: str) -> str:
        try:
            raw = self._provider.get(arn, max_age=self._max_age)
        except GetParameterError as exc:
            # Powertools wraps the boto3 error without `from`: the original is the context. Its
            # message is never used (only the code), so nothing of the request leaks.
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ClientError):
                code = cause.response.get("Error", {}).get("Code", "")
                if code in _PERMANENT_CODES:
                    raise SecretInvalid(f"cannot read secret {arn}: {code}") from None
                raise SecretUnavailable(f"cannot read secret {arn}: {code or 'error'}") from None
            if isinstance(cause, KeyError):  # neither SecretString nor SecretBinary
                raise SecretInvalid(f"secret {arn} has no SecretString") from None
            name = type(cause).__name__ if cause is not None else "error"
            raise SecretUnavailable(f"cannot read secret {arn}: {name}") from None
        if not isinstance(raw, str) or not raw.strip():
            raise SecretInvalid(f"secret {arn} has no SecretString")
        log.debug("read secret %s (kept for %ds)", arn, self._max_age)
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
