"""boto3 clients, created once per warm Lambda container.

boto3 honours `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` itself, so the same code talks to
AWS, a moto server or any compatible local endpoint.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Lambdas have seconds, not minutes: fail fast and let the caller's own retry policy decide.
_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})


@cache
def session(region: str | None = None) -> boto3.session.Session:
    return boto3.session.Session(region_name=region)


@cache
def client(service: str, region: str | None = None) -> Any:
    """A cached boto3 client; `region` None means the session's default region."""
    return session(region).client(service, config=_CONFIG)  # type: ignore[call-overload]


def clear() -> None:
    """Forget cached sessions and clients (tests that change endpoints or credentials)."""
    client.cache_clear()
    session.cache_clear()
