"""A real Alertmanager (Debian's `prometheus-alertmanager`) on loopback, for tests and the local stack.

`start_alertmanager` writes a config and its template files into a work directory, starts the binary
on a free port with gossip off (`--cluster.listen-address=`), waits until it is ready, and returns a
handle that posts alerts to `/api/v2/alerts` and stops the process.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from netguard_cli.localstack.processes import (
    Managed,
    StartupError,
    free_port,
    start_ready,
    stop,
)

BINARY_CANDIDATES = ("prometheus-alertmanager", "alertmanager")


@dataclass
class RunningAlertmanager:
    url: str
    """e.g. `http://127.0.0.1:40123`"""
    managed: Managed
    workdir: Path

    def post_alerts(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """POST alerts in the API v2 shape: `{labels, annotations, startsAt, endsAt, generatorURL}`."""
        body = json.dumps(list(alerts)).encode()
        request = urllib.request.Request(  # noqa: S310 -- loopback only
            f"{self.url}/api/v2/alerts",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 -- loopback only
            if not 200 <= int(response.status) < 300:
                raise StartupError(f"alertmanager refused the alerts: HTTP {response.status}")

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as response:  # noqa: S310
            data: list[dict[str, Any]] = json.loads(response.read())
            return data

    def log(self) -> str:
        return self.managed.log_tail(200)

    def stop(self) -> None:
        stop(self.managed)


def find_binary() -> str:
    for name in BINARY_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise StartupError("no Alertmanager binary on PATH (install Debian's prometheus-alertmanager)")


def amp_definition_files(definition: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Split an AMP alert manager definition (`template_files:` + `alertmanager_config:`) into the
    Alertmanager config (a dict) and its template files (name -> text)."""
    data = yaml.safe_load(definition)
    config_text = data.get("alertmanager_config", "")
    config = yaml.safe_load(config_text) if isinstance(config_text, str) else config_text
    templates = {str(k): str(v) for k, v in (data.get("template_files") or {}).items()}
    return dict(config or {}), templates


def start_alertmanager(
    config: Mapping[str, Any],
    *,
    workdir: Path,
    templates: Mapping[str, str] | None = None,
    binary: str | None = None,
    timeout: float = 30.0,
    die_with_parent: bool = False,
) -> RunningAlertmanager:
    """Start Alertmanager with `config`; template files named in `templates` are written to `workdir`
    and `config["templates"]` entries naming them (as AMP does) are rewritten to their paths."""
    workdir.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    for name, text in (templates or {}).items():
        path = workdir / f"template-{Path(name).name}"
        path.write_text(text)
        written[name] = str(path)
    conf = dict(config)
    listed = [str(t) for t in conf.get("templates") or []]
    conf["templates"] = [written.get(t, t) for t in listed] + [
        p for n, p in written.items() if n not in listed
    ]
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(yaml.safe_dump(conf, sort_keys=False))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary or find_binary(),
        f"--config.file={config_path}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=debug",
    ]
    managed = start_ready(
        "alertmanager",
        argv,
        ready_url=f"{url}/-/ready",
        log_dir=workdir,
        timeout=timeout,
        die_with_parent=die_with_parent,
    )
    return RunningAlertmanager(url=url, managed=managed, workdir=workdir)
