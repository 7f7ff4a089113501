"""The one (de)serialisation of remediation's stored and reported values: `History` and reports.

Used by `store.HistoryStore`, `audit.AuditLog` and the CLI (`netguard remediation`). Stored histories
carry `schema`; `migrate` brings a record written by an older netguard to the current form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netguard.alerts.ordering import seen_from_json, seen_to_json
from netguard.enriched.codec import report_from_dict, report_to_dict
from netguard.enriched.models import ActionKind
from netguard.remediate.incident import Phase
from netguard.remediate.models import ActionRecord, History, NodeMemory

__all__ = ["SCHEMA", "history_from_dict", "history_to_dict", "migrate", "report_from_dict", "report_to_dict"]


SCHEMA = 2
"""Version of a stored history: 1 (no `schema` key) before the incident had a stored phase."""


def history_to_dict(history: History) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "phase": history.phase.value,
        "last_action": _record_to_dict(history.last_action),
        "last_scale": _record_to_dict(history.last_scale),
        "cooldown_until": history.cooldown_until,
        "original_coredns": None if history.original_coredns is None else dict(history.original_coredns),
        "nodelocal_enabled_by_netguard": history.nodelocal_enabled_by_netguard,
        "verification_attempts": history.verification_attempts,
        "resolved_at": history.resolved_at,
        "group_id": history.group_id,
        "alertname": history.alertname,
        "follow_up_id": history.follow_up_id,
        "follow_up_due": history.follow_up_due,
        "original_spread": None if history.original_spread is None else dict(history.original_spread),
        "steps": history.steps,
        "spread_pending": history.spread_pending,
        "seen": seen_to_json(history.seen),
        "stale_events": history.stale_events,
        "floor_set_by_netguard": history.floor_set_by_netguard,
        "nodes": {
            node: {
                "firing": m.firing,
                "since": m.since,
                "updated_at": m.updated_at,
                "drop_rate": m.drop_rate,
                "instance": m.instance,
                "bypass_pods": list(m.bypass_pods),
                "untimed": m.untimed,
            }
            for node, m in history.nodes.items()
        },
    }


def _record_to_dict(record: ActionRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "action": record.action.value,
        "decision_id": record.decision_id,
        "at": record.at,
        "mode": record.mode,
        "applied": record.applied,
        "drop_rate_before": record.drop_rate_before,
        "replicas_before": record.replicas_before,
        "replicas_after": record.replicas_after,
    }


def _record_from_dict(data: Mapping[str, Any] | None) -> ActionRecord | None:
    if not data:
        return None
    return ActionRecord(
        action=ActionKind(data["action"]),
        decision_id=data["decision_id"],
        at=float(data["at"]),
        mode=data.get("mode", ""),
        applied=bool(data.get("applied")),
        drop_rate_before=data.get("drop_rate_before"),
        replicas_before=data.get("replicas_before"),
        replicas_after=data.get("replicas_after"),
    )


def history_from_dict(cluster: str, data: Mapping[str, Any], *, version: int) -> History:
    data = migrate(data)
    return History(
        phase=Phase(data["phase"]),
        cluster=cluster,
        last_action=_record_from_dict(data.get("last_action")),
        last_scale=_record_from_dict(data.get("last_scale")),
        cooldown_until=float(data.get("cooldown_until") or 0.0),
        original_coredns=data.get("original_coredns"),
        nodelocal_enabled_by_netguard=bool(data.get("nodelocal_enabled_by_netguard")),
        verification_attempts=int(data.get("verification_attempts") or 0),
        resolved_at=data.get("resolved_at"),
        group_id=data.get("group_id", ""),
        alertname=data.get("alertname", ""),
        nodes={
            node: NodeMemory(
                firing=bool(m["firing"]),
                since=m.get("since"),
                updated_at=float(m["updated_at"]),
                drop_rate=m.get("drop_rate"),
                instance=m.get("instance", ""),
                bypass_pods=tuple(m.get("bypass_pods") or ()),
                untimed=bool(m.get("untimed")),
            )
            for node, m in (data.get("nodes") or {}).items()
        },
        follow_up_id=data.get("follow_up_id", ""),
        follow_up_due=float(data.get("follow_up_due") or 0.0),
        original_spread=data.get("original_spread"),
        steps=int(data.get("steps") or 0),
        spread_pending=bool(data.get("spread_pending")),
        seen=seen_from_json(data.get("seen")),
        stale_events=int(data.get("stale_events") or 0),
        floor_set_by_netguard=None
        if data.get("floor_set_by_netguard") is None
        else int(data["floor_set_by_netguard"]),
        version=version,
    )


def migrate(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A stored history in the current schema. Schema 1 kept no phase: it is read from the fields
    that implied it (a pending spread, a scheduled check, drops or a resolve, netguard's changes)."""
    if int(data.get("schema") or 1) >= SCHEMA:
        return data
    return {**data, "schema": SCHEMA, "phase": _phase_of_v1(data).value}


def _phase_of_v1(data: Mapping[str, Any]) -> Phase:
    ours = bool(
        data.get("original_coredns") is not None
        or data.get("nodelocal_enabled_by_netguard")
        or data.get("original_spread") is not None
    )
    firing = any(bool(m.get("firing")) for m in (data.get("nodes") or {}).values())
    scheduled = bool(data.get("follow_up_id"))
    if data.get("spread_pending"):
        return Phase.SPREAD_PENDING
    if not firing and data.get("resolved_at") is not None:
        if ours and scheduled:
            return Phase.REVERTING
        return Phase.CLOSED
    if scheduled:
        just_acted = data.get("last_action") is not None and not int(data.get("verification_attempts") or 0)
        return Phase.VERIFYING if just_acted else Phase.HOLDING
    if firing:
        return Phase.HOLDING
    return Phase.CLOSED if data.get("last_action") is not None else Phase.IDLE
