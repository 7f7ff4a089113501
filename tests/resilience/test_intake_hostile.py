"""The intake stays linear on the adversarial corpus (tests/resilience/hostile.py).

Each case's parse time is a ratio to the parse of a valid storm of the same size, measured in the
same run: no absolute timings. A case runs in a child process, so one that stalls (as the issue's
three did: a 52 KB message took a minute) is stopped at its budget and fails, instead of hanging
the suite.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection

import pytest

from netguard.alerts import SnsMessage, Unparseable, parse_message
from tests.resilience.hostile import Case, corpus, valid

SIZE = 96 * 1024
RATIO_BUDGET = 10.0
"""Slowest allowed case / valid storm, in least CPU time of ROUNDS. `make bench` holds the goal (5x,
at 256 KB); the test leaves room for a shared machine's noise."""
ROUNDS = 3
CASES = corpus(SIZE)
_STALLS = {
    "amp-annotations-joint",
    "amp-tail-joint-in-group-label",
    "amp-six-joint-values",
    "amp-annotations-joint-redacted",
    "amp-six-joint-values-redacted",
    "amp-tail-joint-cut",
    "amp-tail-joint-trailing",
}


def _least_cpu(message: SnsMessage) -> tuple[float, str]:
    best = float("inf")
    outcome: object = None
    for _ in range(ROUNDS):
        started = time.process_time()
        outcome = parse_message(message)
        best = min(best, time.process_time() - started)
    if isinstance(outcome, Unparseable):
        return best, f"unparseable: {outcome.reason}"
    assert isinstance(outcome, list)
    alerts = [alert for group in outcome for alert in group.alerts]
    return best, f"{len(alerts)} alerts, {sum(a.ambiguous for a in alerts)} ambiguous"


def _child(message: SnsMessage, pipe: Connection) -> None:
    pipe.send(_least_cpu(message))


@pytest.fixture(scope="module")
def baseline() -> float:
    seconds, summary = _least_cpu(valid(SIZE))
    assert summary.endswith(" 0 ambiguous"), summary
    return seconds


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_message_parses_within_its_budget(case: Case, baseline: float) -> None:
    """A hostile message parses (to groups or an `Unparseable` with a reason) in at most RATIO_BUDGET
    times the CPU time of a valid storm of the same size."""
    assert abs(len(case.message.message) - SIZE) <= SIZE // 8, len(case.message.message)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(case.message, sender), daemon=True)
    child.start()
    # Wall-clock limit for the child: far above the budget, far below a stall.
    limit = max(3.0, 4 * ROUNDS * RATIO_BUDGET * baseline)
    if not receiver.poll(limit):
        child.kill()
        child.join()
        pytest.fail(f"{case.name}: still parsing after {limit:.1f} s (valid storm: {baseline * 1000:.1f} ms)")
    seconds, summary = receiver.recv()
    child.join()
    ratio = seconds / baseline
    print(f"{case.name}: {seconds * 1000:.1f} ms = {ratio:.2f}x the valid storm ({summary})")
    assert ratio <= RATIO_BUDGET, f"{case.name}: {ratio:.1f}x the valid storm's parse ({summary})"
    if case.name in _STALLS:
        # The stalls hold one alert with a long value: it is read (and read for sure when
        # its fingerprint can confirm it and the message is whole).
        sure = not case.name.endswith(("-redacted", "-cut", "-trailing"))
        assert summary == f"1 alerts, {0 if sure else 1} ambiguous", summary
