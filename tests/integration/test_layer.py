"""The layer as built for Lambda (same script, local interpreter) runs every handler on its own.

The layer is installed with `layers/netguard/build_layer.py --local`; each handler is then imported
in a fresh interpreter whose path holds only the function folder, the built layer, boto3 as the
Lambda runtime ships it, and the standard library.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import boto3
import botocore
import jmespath
import pytest
import s3transfer

from netguard_cli.localstack.pki import ensure_pki

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("build_layer", ROOT / "layers/netguard/build_layer.py")
assert _spec is not None
assert _spec.loader is not None
build_layer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_layer)
FUNCTIONS = ("enrich", "remediate", "notify_slack", "notify_pagerduty")


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("layer") / "python"
    subprocess.run(
        [sys.executable, str(ROOT / "layers/netguard/build_layer.py"), "--local", str(target)],
        check=True,
        timeout=600,
    )
    return target


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """boto3 and what it needs, as the Lambda runtime provides them (after the layer on the path)."""
    folder = tmp_path_factory.mktemp("runtime")
    for module in (boto3, botocore, s3transfer, jmespath):
        source = Path(module.__file__ or "").parent
        (folder / source.name).symlink_to(source)
    return folder


def test_the_layer_leaves_out_what_lambda_never_imports(layer: Path) -> None:
    """No asyncio client, no aiohttp, no libyaml binding, no CLI or local stack, and none of the
    pruned Powertools utilities: absent, and no module left in the layer names them."""
    assert (layer / "kubernetes/client").is_dir()
    assert (layer / "netguard/clients/kubernetes.py").is_file()
    pruned = ("kubernetes/aio", "aiohttp", "_yaml", "yaml/cyaml.py", *build_layer.POWERTOOLS_UNUSED)
    for absent in (*pruned, "netguard_cli", "netguard/localstack", "boto3"):
        assert not (layer / absent).exists(), absent
    assert not list(layer.glob("yaml/_yaml*"))
    assert not [p for p in layer.rglob("*") if p.name == "localstack"]
    # Absolute names (also as strings given to importlib) and relative imports from a sibling.
    utilities = "|".join(relative.rsplit("/", 1)[1] for relative in build_layer.POWERTOOLS_UNUSED)
    names = re.compile(rf"(utilities\.|from \.\.)({utilities})\b|yaml\.c?yaml\b|\b_yaml\b|from \.cyaml\b")
    readers = {
        f"{source.relative_to(layer)}: {found.group(0)}"
        for source in layer.rglob("*.py")
        if not str(source.relative_to(layer)).startswith(tuple(pruned))
        for found in names.finditer(source.read_text(encoding="utf-8", errors="replace"))
    }
    # PyYAML's own guarded import (ImportError means "no libyaml") is the one reader allowed.
    assert readers == {"yaml/__init__.py: from .cyaml"}


def test_the_layer_ships_bytecode_for_every_module(layer: Path) -> None:
    """Every source has unchecked hash-based bytecode of this interpreter beside it; the generated
    Kubernetes API and models are bytecode alone, without docstrings."""
    sources = list(layer.rglob("*.py"))
    assert len(sources) > 500
    missing = [
        str(source.relative_to(layer))
        for source in sources
        if not Path(importlib.util.cache_from_source(str(source), optimization="")).is_file()
    ]
    assert missing == []
    for relative in build_layer.SOURCELESS_DIRS:
        assert not list((layer / relative).rglob("*.py"))
        assert len(list((layer / relative).glob("*.pyc"))) > 50
    pyc = (layer / "kubernetes/client/models/v1_node.pyc").read_bytes()
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, unchecked
    netguard = Path(importlib.util.cache_from_source(str(layer / "netguard/alerts/models.py")))
    assert int.from_bytes(netguard.read_bytes()[4:8], "little") == 0b01


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_handler_runs_from_the_layer_alone(
    function: str, layer: Path, runtime: Path, tmp_path: Path
) -> None:
    """The handler imports and answers from the built tree; Kubernetes works there for the two
    that use it, and the notifiers never load the Kubernetes client."""
    ca = base64.b64encode(ensure_pki(tmp_path / "pki").ca_cert.read_bytes()).decode()
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-B",  # Lambda's /opt is read-only: nothing compiled at import is kept
            str(ROOT / "tests/support/layer_probe.py"),
            str(layer),
            str(ROOT / "functions" / function),
            str(runtime),
            ca,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    probe = str(ROOT / "tests/support/layer_probe.py")
    allowed = (str(layer), str(ROOT / "functions" / function), str(runtime), sys.base_prefix, probe)
    strays = [f for f in report["files"] if not f.startswith(allowed)]
    assert strays == []
    assert "netguard_cli" not in report["modules"]
    assert report["compiled_at_import"] == []  # all bytecode came with the layer
    if function.startswith("notify_"):
        assert report["handler"] == "ConfigError"  # no webhook or secret configured: a clear refusal
        assert "kubernetes" not in report["modules"]
    else:
        assert isinstance(report["handler"], dict)  # an empty batch is handled
        assert report["kube"] == "KubeUnavailable {'GET nodes': 1}"
