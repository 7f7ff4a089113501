"""Settings depend on nothing above them: no module under netguard/config imports a domain package."""

from __future__ import annotations

import ast
from pathlib import Path

import netguard.config

CONFIG_DIR = Path(netguard.config.__file__).parent
FORBIDDEN = ("netguard.notify", "netguard.remediate", "netguard.enrich", "netguard.alerts", "netguard.dns")


def _imported_modules(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _forbidden_imports(source: str) -> list[str]:
    return [
        name
        for name in _imported_modules(ast.parse(source))
        if any(name == root or name.startswith(root + ".") for root in FORBIDDEN)
    ]


class TestConfigLayering:
    def test_config_modules_import_no_domain_package(self) -> None:
        """Every module under netguard/config imports only config, clients, errors and libraries."""
        modules = sorted(CONFIG_DIR.glob("*.py"))
        assert len(modules) >= 5
        offending = {
            path.name: found for path in modules if (found := _forbidden_imports(path.read_text("utf-8")))
        }
        assert offending == {}

    def test_the_check_catches_a_domain_import(self) -> None:
        """The walk sees `from netguard.notify.models import x`, a nested `import netguard.remediate`."""
        source = (
            "from netguard.notify.models import DedupMode\n"
            "def f():\n    import netguard.remediate.gate\n"
            "from netguard import enrich\n"
            "from netguard.config.env import EnvReader\n"
        )
        assert _forbidden_imports(source) == [
            "netguard.notify.models",
            "netguard.notify.models.DedupMode",
            "netguard.enrich",
            "netguard.remediate.gate",
        ]
