"""The Lambda layer holds what Lambda runs and nothing else: no CLI, no local stack, no test tools."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "netguard"
PACKAGE = LAYER / "netguard"
# What a deployed function may import besides the standard library and netguard itself: the layer's
# requirements and what the Lambda Python runtime ships (boto3 and its own dependencies).
RUNTIME_MODULES = {"boto3", "botocore", "aws_lambda_powertools", "yaml", "urllib3", "kubernetes"}
NEVER_IN_LAYER = {"netguard_cli", "moto", "pytest", "hypothesis", "jsonschema"}


def imported_top_modules(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(), filename=str(source))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_layer_has_no_cli_or_local_stack() -> None:
    """The command line and the local stack live in cli/, outside the layer."""
    assert not (PACKAGE / "localstack").exists()
    assert not (PACKAGE / "commands").exists()
    assert not (PACKAGE / "cli.py").exists()


@pytest.mark.parametrize("source", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(LAYER)))
def test_layer_imports_only_what_lambda_has(source: Path) -> None:
    """Every module of the layer imports only the standard library, netguard and declared packages."""
    foreign = {
        name
        for name in imported_top_modules(source)
        if name not in sys.stdlib_module_names and name != "netguard" and name not in RUNTIME_MODULES
    }
    assert not foreign, f"{source.name} imports {sorted(foreign)}, which the layer does not ship"
    assert not imported_top_modules(source) & NEVER_IN_LAYER
