#!/usr/bin/env python3
"""Copies amp/alertmanager.yaml, amp/rules.yaml and amp/scrape.yaml into template.yaml between their
BEGIN/END markers.

CloudFormation cannot read files, so the AMP texts live in the template too; this keeps one source.
`--check` exits 1 when the template is out of date (the unit tests call it).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("amp/alertmanager.yaml", "amp/rules.yaml", "amp/scrape.yaml")


def synced(template: str) -> str:
    for source in SOURCES:
        pattern = re.compile(
            rf"^(?P<indent>[ ]*)# BEGIN {re.escape(source)}\n.*?^(?P=indent)# END {re.escape(source)}\n",
            re.DOTALL | re.MULTILINE,
        )
        match = pattern.search(template)
        if match is None:
            raise SystemExit(f"template.yaml has no BEGIN/END markers for {source}")
        indent = match.group("indent")
        body = "".join(
            f"{indent}{line}" if line.strip() else "\n"
            for line in (ROOT / source).read_text().splitlines(keepends=True)
        )
        block = f"{indent}# BEGIN {source}\n{body}{indent}# END {source}\n"
        template = template[: match.start()] + block + template[match.end() :]
    return template


def main() -> int:
    path = ROOT / "template.yaml"
    current = path.read_text()
    wanted = synced(current)
    if "--check" in sys.argv[1:]:
        if wanted != current:
            print("template.yaml is out of date with amp/: run scripts/sync-template.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(wanted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
