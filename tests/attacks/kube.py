"""What the Kubernetes rows of the attack table share: the objects they aim at and how a row is judged."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from netguard.clients.kubernetes import JsonObject, KubeApiError, KubeForbidden
from netguard_cli.localstack import seed
from tests.attacks.ledger import LEDGER, Kind, Row, Verdict

KS = seed.KUBE_SYSTEM
CORE = f"/api/v1/namespaces/{KS}"
APPS = f"/apis/apps/v1/namespaces/{KS}"
HPA = f"/apis/autoscaling/v2/namespaces/{KS}/horizontalpodautoscalers/coredns"
LINEAR_CM, LADDER_CM = "dns-autoscaler", "coredns-autoscaler"
LINEAR = {
    "coresPerReplica": 256,
    "nodesPerReplica": 16,
    "min": 2,
    "max": 10,
    "preventSinglePointFailure": True,
}
LADDER = {"coresToReplicas": [[1, 2], [64, 3]], "nodesToReplicas": [[1, 2], [8, 3]]}


def verdict(exc: BaseException | None) -> tuple[str, str]:
    """('denied' | 'allowed' | what else happened, who decided) for an attempt's outcome."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, KubeApiError):
        cause = cause.__cause__
    if exc is None:
        return "allowed", ""
    if isinstance(cause, KubeForbidden):
        if "ValidatingAdmissionPolicy" not in cause.api_message:
            return "denied", "rbac"
        return "denied", "policy: " + cause.api_message.partition("denied request: ")[2][:60]
    if isinstance(cause, KubeApiError):
        return f"error {cause.status}", cause.api_message[:80]
    return f"error {type(exc).__name__}", str(exc)[:80]


def attempt(name: str, kind: Kind, expected: Verdict, action: Callable[[], object]) -> Row:
    try:
        action()
    except Exception as exc:  # noqa: BLE001 -- every outcome is a verdict for the table
        got, by = verdict(exc)
    else:
        got, by = verdict(None)
    return LEDGER.add(Row(name, kind, expected, got, by))


def configmap(name: str, key: str, params: Any) -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": KS},
        "data": {key: json.dumps(params)},
    }


def pod_spec(obj: JsonObject) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec
