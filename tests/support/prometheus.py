"""A real Prometheus (Debian's) for integration tests, set up as the local stack sets it up: each
cluster's simulated exporter scraped through amp/scrape.yaml's relabelling (which sets `cluster`), and
the shipped amp/rules.yaml recorded at the local stack's scale, so queries read the normalized series."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from netguard_cli.localstack.exporter import EthtoolExporter
from netguard_cli.localstack.prometheus import (
    RuleScale,
    RunningPrometheus,
    local_scrape_jobs,
    render_config,
    scale_rules,
    start_prometheus,
)

AMP = Path(__file__).resolve().parents[2] / "amp"

TEST_SCALE = RuleScale(1 / 30)
"""The local stack's scale: the rules' 2m windows become 10 s, so rates settle within seconds."""

NO_ALERTMANAGER = "http://127.0.0.1:9"
"""Nothing listens there: these tests read recorded series, not alerts."""


def _scrape_jobs(exporters: Mapping[str, EthtoolExporter], workdir: Path) -> list[dict[str, Any]]:
    """amp/scrape.yaml's jobs once per cluster. With several clusters each copy's job name gets the
    cluster's index (Prometheus wants them unique); one cluster keeps the shipped names."""
    scrapes: list[dict[str, Any]] = []
    for index, (cluster, exporter) in enumerate(exporters.items()):
        jobs = local_scrape_jobs(
            exporter, amp_dir=AMP, cluster=cluster, targets_dir=workdir / f"targets-{index}"
        )
        if len(exporters) > 1:
            jobs = [{**job, "job_name": f"{job['job_name']}-{index}"} for job in jobs]
        scrapes.extend(jobs)
    return scrapes


@contextmanager
def amp_prometheus(exporters: Mapping[str, EthtoolExporter], workdir: Path) -> Iterator[RunningPrometheus]:
    """Prometheus scraping each cluster's (started) exporter with the shipped relabelling and rules,
    stopped on exit; the exporters stay the caller's to stop."""
    rules = workdir / "rules.yaml"
    rules.write_text(
        yaml.safe_dump(scale_rules(yaml.safe_load((AMP / "rules.yaml").read_text()), TEST_SCALE))
    )
    config = render_config(
        scrape_configs=_scrape_jobs(exporters, workdir), alertmanager_url=NO_ALERTMANAGER, rule_files=[rules]
    )
    running = start_prometheus(config, workdir=workdir)
    try:
        yield running
    finally:
        running.stop()
