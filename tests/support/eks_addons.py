"""Fixtures for the local EKS add-on endpoint (`netguard_cli.localstack.eksaddons`, moto has none)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from netguard_cli.localstack.eksaddons import (
    ACCOUNT,
    COREDNS_SCHEMA,
    OLD_COREDNS_SCHEMA,
    REGION,
    Addon,
    EksAddonEndpoint,
    Request,
    serve,
)

__all__ = [
    "ACCOUNT",
    "COREDNS_SCHEMA",
    "OLD_COREDNS_SCHEMA",
    "REGION",
    "Addon",
    "EksAddonEndpoint",
    "Request",
    "eks_addon_server",
    "eks_addons",
]


@pytest.fixture(scope="session")
def eks_addon_server() -> Iterator[EksAddonEndpoint]:
    endpoint, stop = serve()
    try:
        yield endpoint
    finally:
        stop()


@pytest.fixture
def eks_addons(eks_addon_server: EksAddonEndpoint) -> Iterator[EksAddonEndpoint]:
    """The EKS add-on endpoint, emptied for one test."""
    eks_addon_server.reset()
    yield eks_addon_server
    eks_addon_server.reset()
