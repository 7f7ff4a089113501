"""The `netguard` command line: one subcommand module per task, each with `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module registers its subcommand(s) and sets `func` on its parser; imported only when the CLI
# runs, so Lambda cold starts never pay for them.
COMMAND_MODULES = (
    "netguard_cli.commands.parse",
    "netguard_cli.commands.invoke",
    "netguard_cli.commands.cluster",
    "netguard_cli.commands.remediation",
    "netguard_cli.commands.nodelocal",
    "netguard_cli.commands.demo",
    "netguard_cli.commands.local",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netguard",
        description="EC2 network-allowance alerts from AMP, enriched, notified and remediated on EKS.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
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
