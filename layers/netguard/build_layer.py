"""Build the netguard Lambda layer: `python/` with the package and its requirements, pruned, compiled.

`sam build` runs it through this folder's Makefile (BuildMethod makefile) for the Lambda platform
(arm64, CPython 3.12, wheels only, so no Docker and no compiler); tests run it for the local
interpreter to import the handlers from exactly what ships. Pruned: what a synchronous Lambda never
imports (the official client's asyncio variant `kubernetes/aio` and the aiohttp stack only it uses,
Powertools utilities nothing in the layer imports), test folders and pip's bytecode caches. Then
compiled, when this interpreter is the runtime's version (see `compile_layer`). pip's own wheel
cache (under ~/.cache/pip) keeps rebuilds fast.
"""

from __future__ import annotations

import argparse
import compileall
import py_compile
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
# Powertools utilities no module left in the layer imports (tests/integration/test_layer.py checks
# that every module's source is free of their names). Not pruned although netguard never imports it:
# `event_handler`, which Powertools' JSON encoder and idempotency import to serialise a pydantic model
# (every Kubernetes client model is one), and `utilities/parser`, which `utilities/batch` imports
# whenever pydantic is already imported (the Kubernetes client imports it).
POWERTOOLS_UNUSED = tuple(
    f"aws_lambda_powertools/utilities/{name}"
    for name in (
        "auth_alpha",
        "circuit_breaker",
        "data_masking",
        "feature_flags",
        "kafka",
        "streaming",
    )
)
PRUNED_DIRS = ("kubernetes/aio", *ASYNC_ONLY, *POWERTOOLS_UNUSED, "_yaml")
# PyYAML's optional libyaml binding (about 2.5 MB): netguard and the Kubernetes client only call
# `yaml.safe_load`, which is pure Python, and `yaml/__init__.py` imports `cyaml` inside a try that
# treats ImportError as "no libyaml" (`_yaml`, PyYAML's top-level alias of the binding, goes too).
# pip's RECORD files only serve `pip uninstall`.
PRUNED_FILES = ("yaml/_yaml.*", "yaml/cyaml.py", "*.dist-info/RECORD")

# The generated Kubernetes API and model classes, all imported by `import kubernetes.client`: 32 MB
# of Python source (the API's 23 MB mostly docstrings), and as much again of bytecode beside it. They
# ship as docstring-free bytecode alone, 17 MB (`name.pyc` where `name.py` was, which CPython's
# SourcelessFileLoader imports whatever the -O level). Nothing in the client reads a docstring on
# netguard's path: `Watch` falls back to a method's docstring only when it has no return annotation,
# every generated method has one, and netguard uses no Watch; the generated code has no asserts
# for -OO to drop. The price: a traceback through these modules shows file and line but no source
# line. Everything else, netguard first, keeps its source beside the bytecode (readable tracebacks).
SOURCELESS_DIRS = ("kubernetes/client/api", "kubernetes/client/models")


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
    runtime = tuple(int(part) for part in LAMBDA_PLATFORM[1].split(".")) if lambda_platform else None
    if runtime is None or sys.version_info[:2] == runtime:
        compile_layer(target)
    else:
        print(
            f"build_layer: Python {sys.version_info[0]}.{sys.version_info[1]} is not the Lambda runtime "
            f"{LAMBDA_PLATFORM[1]}: the layer ships as source only (bigger, slower cold starts)",
            file=sys.stderr,
        )
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
    for pattern in PRUNED_FILES:
        for path in target.glob(pattern):
            path.unlink()


def compile_layer(target: Path) -> None:
    """Bytecode for every module, written by the runtime's own Python version (the caller checks).

    Lambda mounts the layer read-only at /opt, so without shipped bytecode every cold start compiles
    every module it imports, the Kubernetes client's most of all. Hash-based and unchecked: the
    layer is immutable once built, and zip's two-second timestamps (and copies that do not keep
    mtimes) would make timestamp-checked bytecode look stale, silently compiling again on each cold
    start. Optimisation level 0 (the level Lambda runs at) except the sourceless directories.
    """
    unchecked = py_compile.PycInvalidationMode.UNCHECKED_HASH
    for relative in SOURCELESS_DIRS:
        for source in sorted((target / relative).rglob("*.py")):
            name = source.relative_to(target).as_posix()
            py_compile.compile(
                str(source),
                cfile=str(source.with_suffix(".pyc")),
                dfile=name,
                doraise=True,
                optimize=2,
                invalidation_mode=unchecked,
            )
            source.unlink()
    compiled = compileall.compile_dir(
        target, quiet=1, stripdir=str(target), optimize=0, invalidation_mode=unchecked
    )
    if not compiled:
        raise SystemExit(f"build_layer: some modules in {target} do not compile")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="the layer's python/ folder")
    parser.add_argument("--local", action="store_true", help="for this interpreter, not for Lambda")
    args = parser.parse_args()
    build(args.target, lambda_platform=not args.local)


if __name__ == "__main__":
    main()
