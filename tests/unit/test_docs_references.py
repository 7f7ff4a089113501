"""Every test the docs name exists: a threat-model row pointing at a renamed test proves nothing.

The docs cite tests as `tests/<file>.py[::Class]::test[param id]`; each file must exist, each name
must be defined there (read with ast, nothing imported), and the attack table's parameter ids must
be rows of its tables.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.attacks.test_aws_static import ATTEMPTS
from tests.attacks.test_kubernetes import ATTACKS, CONTROLS

ROOT = Path(__file__).resolve().parents[2]
# A reference sits in backticks: no backtick inside, so the class is linear.
_REFERENCE = re.compile(r"`(tests/[^`\s]+?\.py(?:::[^`]+)?)`")
_IDS = {
    "tests/attacks/test_aws_static.py::test_aws_attempt": {a.name for a in ATTEMPTS},
    "tests/attacks/test_kubernetes.py::test_attack_is_denied": {name for name, _ in ATTACKS},
    "tests/attacks/test_kubernetes.py::test_control_is_admitted": {name for name, _ in CONTROLS},
}


def _references() -> list[tuple[str, str]]:
    found = []
    for doc in sorted((ROOT / "docs").glob("*.md")):
        for match in _REFERENCE.finditer(doc.read_text()):
            found.append((doc.name, match.group(1)))
    return found


def _defined(path: Path) -> set[str]:
    """Qualified names defined in a module: `test_x`, `TestY`, `TestY::test_z`."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            names.update(
                f"{node.name}::{item.name}" for item in node.body if isinstance(item, ast.FunctionDef)
            )
    return names


REFERENCES = _references()


def test_the_docs_cite_tests() -> None:
    assert len(REFERENCES) > 20


@pytest.mark.parametrize(("doc", "reference"), REFERENCES, ids=[f"{d}:{r}" for d, r in REFERENCES])
def test_cited_test_exists(doc: str, reference: str) -> None:
    path, _, name = reference.partition("::")
    assert (ROOT / path).is_file(), f"{doc} cites {path}, which does not exist"
    if not name:
        return
    base, bracket, param = name.partition("[")
    assert base in _defined(ROOT / path), f"{doc} cites {reference}: {base} is not defined in {path}"
    if bracket and f"{path}::{base}" in _IDS:
        assert param.removesuffix("]") in _IDS[f"{path}::{base}"], (
            f"{doc} cites a row that is not in the table"
        )
