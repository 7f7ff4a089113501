"""The `netguard` command line: one subcommand module per task, each with `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module registers its subcommand(s) and sets `func` on its parser; imported only when the CLI
# runs, so Lambda cold starts never pay for them.
COMMAND_MODULES = (
    "netguard.commands.parse",
    "netguard.commands.invoke",
    "netguard.commands.cluster",
    "netguard.commands.remediation",
    "netguard.commands.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netguard", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # TODO(integration): remove once every command module exists
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
