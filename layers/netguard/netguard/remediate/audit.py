"""The audit trail: one record per decision, in the state table and as a structured log line.

Called by `service.RemediationService` for every decision, "did nothing because ..." included; read
back by `netguard remediation status`. Records are `codec.report_to_dict` plus where the run came from.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from netguard.enriched.models import RemediationReport
from netguard.remediate.codec import report_to_dict
from netguard.remediate.store import cluster_pk
from netguard.state import StateStore

log = logging.getLogger(__name__)

AUDIT_TTL_SECONDS = 400 * 86400


class AuditLog:
    """One record per decision, in the state table (`audit#<time>#<id>`) and as a structured log line."""

    def __init__(self, store: StateStore, *, logger: logging.Logger | Any = log) -> None:
        self._store = store
        self._log = logger

    def record(
        self, report: RemediationReport, *, source: str, extra: Mapping[str, Any] | None = None
    ) -> None:
        data = {**report_to_dict(report), "source": source, **(extra or {})}
        self._log.info("remediation decision", extra={"audit": data})
        self._store.put(
            pk=cluster_pk(report.cluster),
            sk=f"audit#{report.at}#{report.decision_id}",
            data=data,
            ttl_seconds=AUDIT_TTL_SECONDS,
        )

    def recent(self, cluster: str, *, limit: int = 10) -> list[Mapping[str, Any]]:
        return [i.data for i in self._store.query(pk=cluster_pk(cluster), sk_prefix="audit#", limit=limit)]
