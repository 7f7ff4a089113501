"""Runs every benchmark module in this folder (each has a `main()` returning its figures), writes them
all to `.netguard/bench.json` and prints one table: every figure beside its baseline from the same run.

`python -m tests.bench [module ...]` (what `make bench` runs); naming modules runs only those, and
bench.json then keeps the other modules' figures from earlier runs.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tests.bench
from tests.bench import _harness
from tests.bench._table import table

OUTPUT = _harness.ROOT / ".netguard" / "bench.json"


def main() -> int:
    wanted = set(sys.argv[1:])
    failures = 0
    previous: dict[str, Any] = json.loads(OUTPUT.read_text()) if OUTPUT.is_file() and wanted else {}
    figures: dict[str, Any] = dict(previous.get("figures", {}))
    for module_info in sorted(pkgutil.iter_modules(tests.bench.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_") or (wanted and module_info.name not in wanted):
            continue
        module = importlib.import_module(f"tests.bench.{module_info.name}")
        if not hasattr(module, "main"):
            continue
        print(f"\n=== bench: {module_info.name} ===", flush=True)
        started = time.perf_counter()
        try:
            figures[module_info.name] = module.main()
        except Exception as exc:  # noqa: BLE001 -- one broken benchmark must not hide the others' numbers
            failures += 1
            figures[module_info.name] = {"error": repr(exc)}
            print(f"FAILED: {exc!r}", flush=True)
        print(f"(took {time.perf_counter() - started:.1f} s)", flush=True)
    report = {
        "schema": "netguard-bench/1",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _harness.machine(),
        "figures": figures,
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"\n{table(report)}\nwritten to {Path(OUTPUT).relative_to(_harness.ROOT)}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
