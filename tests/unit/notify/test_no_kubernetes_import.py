"""The notifiers never load the official Kubernetes client: it is seconds of cold start they do not need."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
NOTIFY_MODULES = sorted(
    f"netguard.notify.{p.stem}"
    for p in (ROOT / "layers/netguard/netguard/notify").glob("*.py")
    if p.stem != "__init__"
)


@pytest.mark.parametrize("function", ["notify_slack", "notify_pagerduty"])
def test_a_notify_handler_does_not_import_kubernetes(function: str) -> None:
    """Importing the handler and every netguard.notify module leaves `kubernetes` unloaded."""
    code = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'functions' / function)!r})\n"
        "import app\n"
        f"for name in {NOTIFY_MODULES!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'kubernetes'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    assert NOTIFY_MODULES  # the list is not empty by accident
