"""Size of what the Lambda layer ships, and cold import time of each function's handler module.

Prints numbers only. The layer is built by the script `sam build` runs (layers/netguard/build_layer.py),
for the local interpreter.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def main() -> None:
    package = ROOT / "layers" / "netguard" / "netguard"
    print(f"netguard package source: {_size(package) / 1024:.0f} KiB")
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "python"
        result = subprocess.run(
            [sys.executable, str(ROOT / "layers/netguard/build_layer.py"), "--local", str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0:
            kube = _size(target / "kubernetes")
            print(
                f"layer (build_layer.py, pruned): {_size(target) / 1024 / 1024:.1f} MiB "
                f"(of which kubernetes: {kube / 1024 / 1024:.1f} MiB)"
            )
        else:
            print(f"layer: build failed: {result.stderr.strip().splitlines()[-1:]}")
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        code = (
            "import time, importlib.util as u; t=time.perf_counter();"
            f"s=u.spec_from_file_location('h', {str(app)!r}); m=u.module_from_spec(s);"
            "s.loader.exec_module(m);"
            "print(f'{(time.perf_counter()-t)*1000:.0f}')"
        )
        runs = []
        for _ in range(3):
            out = subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                check=False,
                env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
            )
            if out.returncode != 0:
                runs = []
                print(f"{app.parent.name}: import failed: {out.stderr.strip().splitlines()[-1:]}")
                break
            runs.append(int(out.stdout.strip()))
        if runs:
            best, median = min(runs), sorted(runs)[1]
            name = app.parent.name
            print(f"{name}: cold import of the handler module {best} ms (best of 3, median {median} ms)")


if __name__ == "__main__":
    main()
