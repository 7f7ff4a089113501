"""Subcommands of the `netguard` CLI (operators' and developers' tools; not used by the Lambdas)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

Command = Callable[[argparse.Namespace], int]


def exits_on(error: type[Exception], name: str) -> Callable[[Command], Command]:
    """A subcommand that reports `error` as one line on stderr, `netguard <name>: ...`, and exits 1
    (an operator's mistake or an unreachable service, not a traceback)."""

    def wrap(command: Command) -> Command:
        def run(args: argparse.Namespace) -> int:
            try:
                return int(command(args))
            except error as exc:
                print(f"netguard {name}: {exc}", file=sys.stderr)
                return 1

        return run

    return wrap
