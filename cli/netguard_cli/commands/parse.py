"""`netguard parse FILE`: print what the intake understood of an SNS event, as JSON.

FILE is a Lambda SNS event (any number of records), an SNS HTTP notification, or a raw message body.
Each message gives its groups; a message the intake cannot read gives `{"unparseable": true, ...}`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from netguard.alerts import Unparseable, load_sns_file, parse_message
from netguard.alerts.serialize import group_to_dict
from netguard.errors import NetguardError


def parse_text(text: str) -> list[dict[str, Any]]:
    """The `netguard parse` output for the contents of an event file."""
    output: list[dict[str, Any]] = []
    for message in load_sns_file(text):
        outcome = parse_message(message)
        if isinstance(outcome, Unparseable):
            output.append({"unparseable": True, "reason": outcome.reason, "subject": message.subject})
        else:
            output.extend(group_to_dict(group) for group in outcome)
    return output


def _run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        print(f"netguard parse: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        output = parse_text(text)
    except NetguardError as exc:
        print(f"netguard parse: {args.file}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(output, indent=2, ensure_ascii=False))
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("parse", help="print the alert groups an SNS event or message holds")
    parser.add_argument("file", help="a Lambda SNS event, an SNS notification, or a raw message body")
    parser.set_defaults(func=_run)
