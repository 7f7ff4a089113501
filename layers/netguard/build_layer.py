"""Build the netguard Lambda layer: `python/` with the package and its requirements, pruned.

`sam build` runs it through this folder's Makefile (BuildMethod makefile) for the Lambda platform
(arm64, CPython 3.12, wheels only, so no Docker and no compiler); tests run it for the local
interpreter to import the handlers from exactly what ships. Pruned: what a synchronous Lambda never
imports (the official client's asyncio variant `kubernetes/aio` and the aiohttp stack only it uses),
test folders and bytecode caches. pip's own wheel cache (under ~/.cache/pip) keeps rebuilds fast.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAMBDA_PLATFORM = ("manylinux2014_aarch64", "3.12")

# Distributions only `kubernetes.aio` needs (the kubernetes wheel requires them unconditionally).
ASYNC_ONLY = (
    "aiohttp",
    "attr",
    "attrs",
    "aiohttp_retry",
    "aiohappyeyeballs",
    "aiosignal",
    "frozenlist",
    "multidict",
    "propcache",
    "yarl",
)
PRUNED_DIRS = ("kubernetes/aio", *ASYNC_ONLY)


def build(target: Path, *, lambda_platform: bool) -> Path:
    """Install into `target` (a `python/` folder) and prune; returns `target`."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--target", str(target), "-r", str(HERE / "requirements.txt")]
    if lambda_platform:
        platform, version = LAMBDA_PLATFORM
        command += ["--platform", platform, "--python-version", version, "--implementation", "cp"]
        command += ["--only-binary=:all:"]
    subprocess.run(command, check=True)
    shutil.copytree(
        HERE / "netguard", target / "netguard", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    prune(target)
    return target


def prune(target: Path) -> None:
    for relative in PRUNED_DIRS:
        shutil.rmtree(target / relative, ignore_errors=True)
    for name in ASYNC_ONLY:
        for info in target.glob(f"{name}-*.dist-info"):
            shutil.rmtree(info)
    for pattern in ("__pycache__", "tests"):
        for folder in sorted(target.rglob(pattern), reverse=True):
            if folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(target / "bin", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="the layer's python/ folder")
    parser.add_argument("--local", action="store_true", help="for this interpreter, not for Lambda")
    args = parser.parse_args()
    build(args.target, lambda_platform=not args.local)


if __name__ == "__main__":
    main()
