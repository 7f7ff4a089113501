"""Errors raised while reading or applying settings; they name the setting and what it should be."""

from __future__ import annotations

from netguard.errors import PermanentError


class UnknownCluster(PermanentError):
    """An event names a cluster that is not in CLUSTERS (re-exported by `netguard.remediate.errors`)."""
