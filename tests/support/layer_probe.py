"""Run in a fresh interpreter by tests/integration/test_layer.py: import one handler from a built layer.

argv: layer dir, function dir, runtime dir (boto3 as the Lambda runtime ships it), base64 CA.
sys.path is set to exactly those plus the standard library; prints one JSON report.
"""

from __future__ import annotations

import json
import os
import sys

layer, function, runtime, ca_data = sys.argv[1:5]
sys.path[:] = [function, layer, runtime, *(p for p in sys.path if "site-packages" not in p and p)]

import app  # type: ignore[import-not-found]  # noqa: E402  # the handler under test, from `function`


class Context:
    function_name = "probe"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:probe"
    aws_request_id = "probe"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


report: dict[str, object] = {}
try:
    report["handler"] = app.lambda_handler({"Records": []}, Context())
except Exception as exc:  # noqa: BLE001  # the report names it; the test decides
    report["handler"] = type(exc).__name__
if "kubernetes" in sys.modules:
    from netguard.clients.errors import KubeUnavailable
    from netguard.clients.kubernetes import kube_for_endpoint

    kube = kube_for_endpoint("https://127.0.0.1:9", ca_data, lambda: "token")
    try:
        kube.call(kube.core.list_node)
    except KubeUnavailable as exc:
        report["kube"] = f"KubeUnavailable {dict(kube.calls)}"
        del exc
report["files"] = sorted({str(getattr(m, "__file__", "") or "") for m in list(sys.modules.values())} - {""})
# Modules imported from source with no bytecode beside it: what Lambda compiles on every cold start
# (the probe runs with -B, and Lambda's /opt is read-only, so nothing is cached between starts).
report["compiled_at_import"] = sorted(
    name
    for name, module in list(sys.modules.items())
    if str(getattr(module, "__file__", "") or "").startswith(layer)
    and str(module.__file__).endswith(".py")
    and not (getattr(module, "__cached__", None) and os.path.isfile(module.__cached__))
)
report["modules"] = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps(report, default=str))
