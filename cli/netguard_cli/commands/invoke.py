"""`netguard invoke FUNCTION EVENT_FILE`: run a Lambda handler once in this process.

Like `sam local invoke` without Docker: it loads `functions/FUNCTION/app.py`, builds a context
object with the fields Lambda provides, and calls `lambda_handler(event, context)` against whatever
the environment names (AWS_ENDPOINT_URL, KUBECONFIG, the function's own settings).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any


@dataclass
class LambdaContext:
    """The attributes and method of the Lambda Python context object."""

    function_name: str
    memory_limit_in_mb: int = 256
    timeout_seconds: float = 60.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    region: str = "us-east-1"
    account_id: str = "123456789012"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{time.strftime('%Y/%m/%d')}/[{self.function_version}]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


def functions_dir() -> Path:
    """`NETGUARD_FUNCTIONS_DIR`, else `functions/` of the checkout this package lives in, else ./functions."""
    configured = os.environ.get("NETGUARD_FUNCTIONS_DIR")
    if configured:
        return Path(configured)
    checkout = Path(__file__).resolve().parents[3] / "functions"
    return checkout if checkout.is_dir() else Path.cwd() / "functions"


def load_handler_module(function: str) -> ModuleType:
    path = functions_dir() / function / "app.py"
    if not path.is_file():
        available = sorted(p.parent.name for p in functions_dir().glob("*/app.py"))
        raise SystemExit(
            f"netguard invoke: no function {function!r} (have: {', '.join(available) or 'none'})"
        )
    spec = importlib.util.spec_from_file_location(f"netguard_function_{function}", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"netguard invoke: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def invoke(function: str, event: Any, *, timeout_seconds: float = 60.0) -> Any:
    module = load_handler_module(function)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    context = LambdaContext(
        function_name=f"netguard-{function}", timeout_seconds=timeout_seconds, region=region
    )
    return module.lambda_handler(event, context)


def _run(args: argparse.Namespace) -> int:
    try:
        event = json.loads(Path(args.event_file).read_text())
    except (OSError, ValueError) as exc:
        print(f"netguard invoke: cannot read {args.event_file}: {exc}", file=sys.stderr)
        return 2
    result = invoke(args.function, event, timeout_seconds=args.timeout)
    print(json.dumps(result, indent=2, default=str))
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("invoke", help="run a function's handler once with an event file")
    parser.add_argument("function", help="folder name under functions/, e.g. enrich")
    parser.add_argument("event_file", help="a Lambda event (JSON), e.g. events/sns-default-firing.json")
    parser.add_argument("--timeout", type=float, default=60.0, help="the context's time budget in seconds")
    parser.set_defaults(func=_run)
