"""The kill switch: an SSM parameter read at every decision, strictly parsed, failing closed.

Called by `service.RemediationService` before it looks at a cluster and by `netguard remediation
pause/resume`. Read through Powertools parameters with max_age 0, so a change needs no redeploy; a value
that cannot be read or that means anything but the documented forms pauses everything.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KillSwitchState:
    engaged: bool
    reason: str = ""


KILL_SWITCH_MAX_AGE_SECONDS = 0
"""How long a warm container may reuse the kill switch's value: none. The switch is read through
Powertools' SSMProvider once per decision (a handful per invocation, never per alert), so caching
saves almost nothing, while any cache would let an operator's pause miss invocations already warm;
0 makes Powertools skip its cache, so a change applies to the very next decision without a redeploy."""


@dataclass(frozen=True)
class KillSwitchValue:
    """What the kill switch's value says; `problem` is set when it cannot be trusted (then
    everything is paused, and the reason says why)."""

    paused_all: bool
    clusters: frozenset[str] = frozenset()
    problem: str = ""


_ON = frozenset({"on", "true", "paused", "pause", "all", "1", "yes"})
_OFF = frozenset({"", "off", "false", "none", "0", "no"})
_KEYS = frozenset({"all", "clusters"})


def parse_kill_switch(value: str, known: Collection[str]) -> KillSwitchValue:
    """The documented forms only: `on`/`off`, a comma list of configured cluster names, or JSON
    `{"all": bool, "clusters": [names]}`. Anything else (wrong types, unknown keys, names that are not
    configured clusters) pauses everything: a value that parses but means something else must never
    leave a cluster running that the operator meant to pause."""
    text = value.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return _unreadable(f"not valid JSON ({exc.msg})")
        if not isinstance(data, dict):
            return _unreadable("not a JSON object")
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            return _unreadable(f"unknown keys {unknown} (allowed: all, clusters)")
        paused_all = data.get("all", False)
        if not isinstance(paused_all, bool):
            return _unreadable(f'"all" must be true or false, not {type(paused_all).__name__}')
        names = data.get("clusters", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return _unreadable('"clusters" must be a list of cluster names')
        return _named(paused_all, names, known)
    lowered = text.lower()
    if lowered in _ON:
        return KillSwitchValue(True)
    if lowered in _OFF:
        return KillSwitchValue(False)
    return _named(False, [part.strip() for part in text.split(",") if part.strip()], known)


def _named(paused_all: bool, names: Iterable[str], known: Collection[str]) -> KillSwitchValue:
    clusters = frozenset(names)
    strangers = sorted(clusters - set(known))
    if strangers:
        return _unreadable(
            f"names clusters that are not configured: {strangers} (configured: {sorted(known)})"
        )
    return KillSwitchValue(paused_all, clusters)


def _unreadable(problem: str) -> KillSwitchValue:
    return KillSwitchValue(True, frozenset(), problem)


class KillSwitch:
    """The SSM parameter that pauses remediation, for all clusters or some, without a redeploy.

    Value: JSON `{"all": bool, "clusters": ["name", ...]}`, `on`/`off`, or a comma-separated list of
    configured cluster names. A missing parameter pauses nothing; an unreadable one, or a value that
    is not one of those forms, pauses everything (fail closed) and the report says why.
    """

    def __init__(self, ssm: Any, parameter: str, *, clusters: Collection[str]) -> None:
        self._ssm = ssm
        self._provider = SSMProvider(boto3_client=ssm)
        self.parameter = parameter
        self._known = frozenset(clusters)

    def read(self, cluster: str) -> KillSwitchState:
        try:
            value = self._read_value()
        except (ClientError, BotoCoreError, GetParameterError) as exc:
            return KillSwitchState(
                True,
                f"kill switch {self.parameter} could not be read ({_code(exc)});"
                " acting without it would be unsafe",
            )
        parsed = parse_kill_switch(value, self._known)
        if parsed.problem:
            return KillSwitchState(
                True,
                f"kill switch {self.parameter} {parsed.problem}; all clusters paused until it is fixed",
            )
        if parsed.paused_all:
            return KillSwitchState(True, f"kill switch {self.parameter} pauses remediation for all clusters")
        if cluster in parsed.clusters:
            return KillSwitchState(True, f"kill switch {self.parameter} pauses remediation for {cluster}")
        return KillSwitchState(False)

    def set(self, cluster: str | None, *, paused: bool) -> dict[str, Any]:
        """Pause or resume one cluster (or all when `cluster` is None); returns the new value. A value
        that cannot be trusted counts as "all paused": only resuming all clusters clears it."""
        if cluster is not None and cluster not in self._known:
            raise ValueError(f"cluster {cluster!r} is not configured (configured: {sorted(self._known)})")
        try:
            parsed = parse_kill_switch(self._read_value(), self._known)
        except ClientError as exc:
            raise RuntimeError(f"cannot read kill switch {self.parameter}: {_code(exc)}") from exc
        paused_all, clusters = parsed.paused_all, set(parsed.clusters)
        if cluster is None:
            paused_all = paused
            if not paused:
                clusters = set()
        elif paused:
            clusters.add(cluster)
        else:
            clusters.discard(cluster)
        value = {"all": paused_all, "clusters": sorted(clusters)}
        self._ssm.put_parameter(Name=self.parameter, Value=json.dumps(value), Type="String", Overwrite=True)
        return value

    def _read_value(self) -> str:
        try:
            return str(self._provider.get(self.parameter, max_age=KILL_SWITCH_MAX_AGE_SECONDS))
        except GetParameterError as exc:
            # Powertools wraps the boto3 error without `from`; the original is the context.
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ClientError) and _code(cause) == "ParameterNotFound":
                return ""
            if isinstance(cause, (ClientError, BotoCoreError)):
                raise cause from exc
            raise


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "error"))
    return type(exc).__name__
