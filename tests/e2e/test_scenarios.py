"""End to end: every named scenario (`netguard demo --scenario NAME`) reaches its expected outcome,
with either exporter dialect (node_exporter's names, the Showmax exporter's).

One local stack per dialect; each test resets it, places CoreDNS explicitly, installs the
scenario's replica owner and modes, starts its DNS load and waits for its outcome (bounded by the
scenario's timeout). A failure message is the scenario's own report: what was expected, what
happened instead, the remediation reports, actions and API calls.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netguard_cli.localstack import catalogue
from netguard_cli.localstack.catalogue import Expect
from netguard_cli.localstack.exporter import Dialect
from netguard_cli.localstack.processes import wait_until
from netguard_cli.localstack.scenario import NamedResult, NamedScenario
from netguard_cli.localstack.stack import LocalStack, StackSettings

pytestmark = [pytest.mark.integration, pytest.mark.k8s, pytest.mark.slow]


@pytest.fixture(scope="module", params=list(Dialect), ids=[d.value for d in Dialect])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = StackSettings(
        workdir=Path(tmp_path_factory.mktemp("scenarios")), exporter=request.param, die_with_parent=True
    )
    started = time.monotonic()
    with LocalStack(settings) as running:
        yield running
    took = time.monotonic() - started
    print(
        f"\n[measure] scenarios with {request.param.value}: {took:.1f}s including stack start",
        file=sys.stderr,
    )


RAW = {
    Dialect.NODE_EXPORTER: "node_ethtool_linklocal_allowance_exceeded",
    Dialect.ETHTOOL_EXPORTER: 'node_net_ethtool{type="linklocal_allowance_exceeded"}',
}


def test_the_stack_speaks_one_dialect(stack: LocalStack) -> None:
    """Prometheus stores the chosen exporter's names only, one series per node, and the rules
    normalize them: what every scenario below then alerts on."""
    running = stack.prometheus
    assert running is not None
    dialect = stack.settings.exporter
    (other,) = set(Dialect) - {dialect}
    wait_until(
        lambda: len(running.query(RAW[dialect])) == len(stack.nodes),
        what=f"{dialect.value} series scraped",
        timeout=60,
    )
    assert running.query(RAW[other]) == []
    normalized = 'netguard:ena_allowance_exceeded:rate2m{type="linklocal_allowance_exceeded"}'
    wait_until(
        lambda: len(running.query(normalized)) == len(stack.nodes),
        what="the normalized series recorded",
        timeout=60,
    )


def play(stack: LocalStack, name: str) -> NamedResult:
    result = NamedScenario(stack, catalogue.find(name)).run()
    print("\n" + "\n".join(result.lines()), file=sys.stderr)  # the numbers, whatever the outcome
    return result


def explain(result: NamedResult) -> str:
    return "\n".join(result.lines())


@pytest.mark.parametrize("name", [s.name for s in catalogue.SCENARIOS])
@pytest.mark.timeout(600)
def test_scenario_reaches_its_outcome(stack: LocalStack, name: str) -> None:
    """The scenario's expected outcome is reached within its timeout, and what was changed matches it."""
    spec = catalogue.find(name)
    result = play(stack, name)
    assert result.passed, explain(result)
    if spec.expect is Expect.DROPS_STOP:
        assert result.after != result.before, explain(result)
        assert any("-> applied" in action for action in result.actions), explain(result)
        assert result.kube_calls, explain(result)  # the audit log saw the remediation identity act
    else:
        assert (result.after.replicas, result.after.placement, result.after.nodelocal) == (
            result.before.replicas,
            result.before.placement,
            result.before.nodelocal,
        ), explain(result)
    if spec.owner is catalogue.Owner.ADDON:
        assert result.aws_calls.get("UpdateAddon"), explain(result)
