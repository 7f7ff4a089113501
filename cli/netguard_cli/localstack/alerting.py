"""How amp/'s alert manager definition and rules run in the local stack.

`local_alertmanager_config` turns an AMP `alertmanager_config` into one Debian's Alertmanager can run
against moto (what AMP forbids: `api_url`, static SigV4 keys) with its timings shortened;
`BUILTIN_RULES` stands in when amp/ holds no rule file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from netguard_cli.localstack.prometheus import format_duration, parse_duration

REGION = "us-east-1"


def local_alertmanager_config(
    config: Mapping[str, Any], *, sns_url: str, topic_arn: str, scale: float, use_netguard_template: bool
) -> dict[str, Any]:
    """An AMP alertmanager_config made runnable locally: every SNS receiver publishes to moto (with the
    `api_url` and static credentials AMP forbids), subjects stay under SNS's 100 characters, and the
    route's intervals shrink by `scale` (group_wait >= 1 s, group_interval >= 2 s, repeat >= 30 s)."""
    conf: dict[str, Any] = json.loads(json.dumps(dict(config)))  # a deep copy of plain data
    route = conf.setdefault("route", {"receiver": "sns"})
    route.setdefault("receiver", "sns")
    route.setdefault("group_by", ["cluster", "alertname"])
    _scale_route(route, scale, top=True)
    receivers = conf.setdefault("receivers", [])
    if not any(r.get("name") == route["receiver"] for r in receivers):
        receivers.append({"name": route["receiver"], "sns_configs": [{}]})
    for receiver in receivers:
        for sns in receiver.get("sns_configs") or []:
            sns["api_url"] = sns_url
            sns["topic_arn"] = topic_arn
            sns["sigv4"] = {"region": REGION, "access_key": "testing", "secret_key": "testing"}
            if use_netguard_template:
                sns.setdefault("message", '{{ template "netguard.json" . }}')
                sns["subject"] = '{{ template "netguard.subject" . }}'
            else:
                # SNS (and moto) reject subjects over 100 characters; AMP would cut them instead.
                sns["subject"] = (
                    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}'
                    "{{ end }}] {{ .CommonLabels.alertname }}"
                )
    return conf


_ROUTE_TIMING = (
    ("group_wait", 1.0, 30.0),
    ("group_interval", 2.0, 300.0),
    ("repeat_interval", 30.0, 14400.0),
)
"""Route timing keys, their floor in the local stack, and Alertmanager's default (seconds)."""


def _scale_route(route: dict[str, Any], scale: float, *, top: bool) -> None:
    """Shrink a route's timings, and its child routes' (children inherit what they do not set)."""
    for key, floor, default in _ROUTE_TIMING:
        if key in route or top:
            seconds = parse_duration(str(route[key])) if key in route else default
            route[key] = format_duration(max(floor, seconds * scale))
    for child in route.get("routes") or []:
        _scale_route(child, scale, top=False)


BUILTIN_RULES: dict[str, Any] = {
    "groups": [
        {
            "name": "netguard-builtin",
            "rules": [
                {
                    "alert": "LinkLocalAllowanceExceeded",
                    # Either exporter dialect (the Showmax exporter's or node_exporter's names).
                    "expr": (
                        'rate(node_net_ethtool{type="linklocal_allowance_exceeded"}[5m]) > 0'
                        " or label_replace(rate(node_ethtool_linklocal_allowance_exceeded[5m]),"
                        ' "type", "linklocal_allowance_exceeded", "", "") > 0'
                    ),
                    "for": "5m",
                    "labels": {"severity": "critical"},
                    "annotations": {
                        "summary": "DNS and other link-local traffic dropped on {{ $labels.node }}",
                        "description": "{{ $value | humanize }} packets/s dropped over the link-local limit.",
                    },
                }
            ],
        }
    ]
}
