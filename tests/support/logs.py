"""Reading what a handler's Powertools Logger wrote, whatever test ran first.

Powertools configures one stdlib logger per service once and binds its handler to the `sys.stdout`
of that moment, so pytest's capsys misses it in later tests. This swaps the handler's stream instead.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger


@contextmanager
def powertools_lines(service: str) -> Iterator[list[dict[str, Any]]]:
    """The JSON lines the service's logger writes inside the block (filled when the block ends)."""
    Logger(service=service)  # configures the service's stdlib logger if nothing has yet
    handler = logging.getLogger(service).powertools_handler  # type: ignore[attr-defined]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        handler.setStream(previous)
        lines.extend(json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{"))
