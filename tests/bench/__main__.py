"""Runs every benchmark module in this folder (each has a `main()`), one after another."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import tests.bench


def main() -> int:
    wanted = set(sys.argv[1:])
    failures = 0
    for module_info in sorted(pkgutil.iter_modules(tests.bench.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_") or (wanted and module_info.name not in wanted):
            continue
        module = importlib.import_module(f"tests.bench.{module_info.name}")
        if not hasattr(module, "main"):
            continue
        print(f"\n=== bench: {module_info.name} ===", flush=True)
        started = time.perf_counter()
        try:
            module.main()
        except Exception as exc:  # noqa: BLE001 -- one broken benchmark must not hide the others' numbers
            failures += 1
            print(f"FAILED: {exc!r}", flush=True)
        print(f"(took {time.perf_counter() - started:.1f} s)", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
