"""The remediation policy: cluster state + observations + history -> one decision with its reasons.

Pure and deterministic (the snapshot's `now` is its only clock), so every branch is a table test.
Safety (modes, kill switch, cooldown, lock) is not decided here; see `netguard.remediate.safety`.
"""

from __future__ import annotations

from collections.abc import Sequence

from netguard.config.remediate import PolicySettings
from netguard.enriched.models import ActionKind
from netguard.remediate.models import (
    ClusterState,
    Decision,
    DisableNodeLocal,
    DropStatus,
    EnableNodeLocal,
    Escalate,
    History,
    NoAction,
    Observation,
    RevertCoreDns,
    ScaleCoreDns,
)

_MAX_NAMED = 8


def decide(
    state: ClusterState, observations: Sequence[Observation], history: History, settings: PolicySettings
) -> Decision:
    """The one thing to do now about linklocal drops on `state.cluster`, and why."""
    persisting = [o for o in observations if o.status is DropStatus.PERSISTING]
    on_dns = [o for o in persisting if state.hosts_coredns(o.node)]
    off_dns = [o for o in persisting if not state.hosts_coredns(o.node)]
    diagnosis = tuple(
        _bypass_diagnosis(o, state) if state.knows(o.node) else _unknown_node(o) for o in off_dns
    )

    if on_dns:
        return _persisting_on_coredns_nodes(state, on_dns, history, settings, diagnosis)
    if off_dns:
        return NoAction(
            (
                f"no DNS scaling: linklocal drops persist only on {_names(off_dns)}, which run no CoreDNS"
                " pod, so more CoreDNS replicas would not take load off those interfaces",
                *diagnosis,
            )
        )
    transient = [o for o in observations if o.status is DropStatus.TRANSIENT]
    if transient:
        return NoAction(
            (
                f"drops on {_names(transient)} have not yet lasted the persistence gate; waiting",
                *_evidence(transient),
            )
        )
    unknown = [o for o in observations if o.status is DropStatus.UNKNOWN]
    if unknown:
        return NoAction(
            (
                f"drop status on {_names(unknown)} is unknown"
                " (missing data is not taken as recovery); holding",
                *_evidence(unknown),
            )
        )
    return _quiet(state, observations, history, settings)


def _persisting_on_coredns_nodes(
    state: ClusterState,
    on_dns: list[Observation],
    history: History,
    settings: PolicySettings,
    diagnosis: tuple[str, ...],
) -> Decision:
    seen = _seen(state, on_dns)
    if history.verification_attempts >= settings.max_verifications:
        return Escalate(
            (
                f"drops persist after {history.verification_attempts} verification checks;"
                " handing over to on-call",
                seen,
                *_state_lines(state),
                *diagnosis,
            )
        )
    current = state.coredns_current
    at_max = current >= settings.max_replicas
    nodes = state.ready_nodes
    everywhere = nodes is not None and nodes > 0 and state.coredns_distinct_nodes >= nodes
    ineffective = _scaling_did_not_help(state, on_dns, history, settings)

    if state.nodelocal_enabled:
        if at_max or everywhere:
            where = (
                f"at its maximum of {settings.max_replicas} replicas"
                if at_max
                else f"on all {nodes} ready nodes"
            )
            return Escalate(
                (
                    f"drops persist with CoreDNS {where} and NodeLocal DNSCache already enabled;"
                    " nothing safe is left to automate",
                    seen,
                    *_state_lines(state),
                    *diagnosis,
                )
            )
        return _scale(state, on_dns, settings, seen, diagnosis)

    if at_max or ineffective or everywhere:
        if at_max:
            why = f"CoreDNS is at its maximum of {settings.max_replicas} replicas"
        elif ineffective:
            why = ineffective
        else:
            why = (
                f"CoreDNS already runs on all {nodes} ready nodes, so more replicas cannot add"
                " network interfaces"
            )
        if state.kube_proxy_mode != "iptables":
            mode = state.kube_proxy_mode or "an unknown mode"
            return Escalate(
                (
                    f"refusing NodeLocal DNSCache: kube-proxy runs in {mode}, and NodeLocal DNSCache"
                    " there needs kubelet's --cluster-dns changed on every node; that is a change for"
                    " people, not for netguard",
                    f"it would have been next because {why}",
                    seen,
                    *diagnosis,
                ),
                refused=ActionKind.ENABLE_NODELOCAL,
            )
        return EnableNodeLocal(
            (
                f"enable NodeLocal DNSCache: {why}; a per-node cache answers repeated queries locally and"
                " spreads what it forwards over every node's interface",
                seen,
                *_state_lines(state),
                *diagnosis,
            )
        )
    return _scale(state, on_dns, settings, seen, diagnosis)


def _scale(
    state: ClusterState,
    on_dns: list[Observation],
    settings: PolicySettings,
    seen: str,
    diagnosis: tuple[str, ...],
) -> Decision:
    current = state.coredns_current
    if current >= settings.max_replicas:
        return NoAction((f"CoreDNS is already at its maximum of {settings.max_replicas} replicas", seen))
    target = min(current + settings.step, settings.max_replicas)
    nodes = state.ready_nodes
    if nodes is not None and current < nodes:
        target = min(target, nodes)  # aim at distinct nodes: no more replicas than interfaces
    reasons = [
        f"raise CoreDNS from {current} to {target} replicas (step {target - current}, maximum"
        f" {settings.max_replicas}) so queries to the VPC resolver spread over more nodes' interfaces",
        seen,
        *_state_lines(state),
    ]
    if nodes is not None and target > nodes:
        reasons.append(
            f"the cluster has only {nodes} ready nodes, so some of the {target} replicas will share"
            " a node (and its 1024 packets/s linklocal allowance)"
        )
    reasons.extend(diagnosis)
    return ScaleCoreDns(current=current, target=target, step=target - current, reasons=tuple(reasons))


def _scaling_did_not_help(
    state: ClusterState, on_dns: list[Observation], history: History, settings: PolicySettings
) -> str | None:
    """Why the last applied raise did not help, once its verification window has passed; else None."""
    last = history.last_scale
    if last is None or not last.applied:
        return None
    if state.now - last.at < settings.verify_seconds:
        return None
    now_rate = _rate(on_dns)
    if last.drop_rate_before is None or now_rate is None:
        return None  # cannot tell; scaling further is the cheaper, reversible step
    if now_rate < last.drop_rate_before:
        return None
    return (
        f"raising CoreDNS to {last.replicas_after} replicas did not reduce the drops"
        f" ({last.drop_rate_before:.1f}/s before, {now_rate:.1f}/s {int(state.now - last.at)} s later)"
    )


def _quiet(
    state: ClusterState, observations: Sequence[Observation], history: History, settings: PolicySettings
) -> Decision:
    recovered = [o for o in observations if o.status is DropStatus.RECOVERED]
    first = f"linklocal drops stopped on {_names(recovered)}" if recovered else "no linklocal drops are known"
    if not history.changed_anything:
        return NoAction((f"{first}; netguard changed nothing, so there is nothing to revert",))
    quiet_since = history.resolved_at if history.resolved_at is not None else state.now
    quiet_for = state.now - quiet_since
    if quiet_for < settings.quiet_seconds_before_revert:
        wanted = revert_wanted(history, settings)
        if not wanted:
            return NoAction((f"{first}; resolved, and revert is off (changes stay in place)",))
        return NoAction(
            (
                f"{first}; quiet for {int(quiet_for)} s, revert of {wanted} is considered after"
                f" {settings.quiet_seconds_before_revert} s",
            )
        )
    if settings.revert_nodelocal and history.nodelocal_enabled_by_netguard and state.nodelocal_enabled:
        return DisableNodeLocal(
            (
                f"{first}; quiet for {int(quiet_for)} s, so NodeLocal DNSCache (enabled by netguard)"
                " is removed (REVERT_NODELOCAL=true)",
            )
        )
    if settings.revert_coredns and history.original_coredns is not None:
        return RevertCoreDns(
            history.original_coredns,
            (
                f"{first}; quiet for {int(quiet_for)} s, so the CoreDNS replica floor goes back to its value"
                " before netguard raised it (REVERT_COREDNS=true)",
            ),
        )
    return NoAction(
        (
            f"{first}; resolved, nothing left to revert automatically"
            " (REVERT_COREDNS / REVERT_NODELOCAL decide what is reverted)",
        )
    )


def revert_wanted(history: History, settings: PolicySettings) -> str:
    parts = []
    if settings.revert_nodelocal and history.nodelocal_enabled_by_netguard:
        parts.append("NodeLocal DNSCache")
    if settings.revert_coredns and history.original_coredns is not None:
        parts.append("the CoreDNS floor")
    return " and ".join(parts)


def _seen(state: ClusterState, on_dns: list[Observation]) -> str:
    parts = []
    for obs in on_dns[:_MAX_NAMED]:
        pods = state.coredns_pods_by_node.get(obs.node, 0)
        rate = f", {obs.drop_rate:.1f} drops/s" if obs.drop_rate is not None else ""
        parts.append(f"{obs.node} ({pods} CoreDNS pod{'s' if pods != 1 else ''}{rate})")
    more = f" and {len(on_dns) - _MAX_NAMED} more" if len(on_dns) > _MAX_NAMED else ""
    return "linklocal drops persist on nodes hosting CoreDNS: " + ", ".join(parts) + more


def _state_lines(state: ClusterState) -> tuple[str, ...]:
    shared = {node: n for node, n in state.coredns_pods_by_node.items() if n > 1}
    if not shared:
        return ()
    names = ", ".join(f"{node} ({n})" for node, n in sorted(shared.items())[:_MAX_NAMED])
    return (
        f"{state.coredns_desired} CoreDNS replicas run on only {state.coredns_distinct_nodes} distinct nodes;"
        f" replicas share {names}, so they share that node's interface (pod anti-affinity is only preferred)",
    )


def _bypass_diagnosis(obs: Observation, state: ClusterState) -> str:
    if obs.bypass_pods:
        pods = ", ".join(obs.bypass_pods[:_MAX_NAMED])
        more = f" and {len(obs.bypass_pods) - _MAX_NAMED} more" if len(obs.bypass_pods) > _MAX_NAMED else ""
        line = (
            f"{obs.node} runs no CoreDNS; pods there that bypass cluster DNS (hostNetwork or dnsPolicy"
            f" Default) and query the VPC resolver directly: {pods}{more}"
        )
    else:
        line = (
            f"{obs.node} runs no CoreDNS and no pod known to bypass cluster DNS; look for host processes"
            " querying the VPC resolver (169.254.169.253) directly"
        )
    if state.nodelocal_enabled:
        line += "; NodeLocal DNSCache on this node also forwards non-cluster names to the VPC resolver"
    return line


def _unknown_node(obs: Observation) -> str:
    return (
        f"{obs.node} is not a node of this cluster as far as netguard can tell (enrichment could not"
        " resolve the alert to a node), so whether it runs CoreDNS is unknown; nothing is scaled for it"
    )


def _rate(observations: Sequence[Observation]) -> float | None:
    rates = [o.drop_rate for o in observations]
    if not rates or any(r is None for r in rates):
        return None
    return sum(r for r in rates if r is not None)


def _names(observations: Sequence[Observation]) -> str:
    names = [o.node for o in observations]
    more = f" and {len(names) - _MAX_NAMED} more" if len(names) > _MAX_NAMED else ""
    return ", ".join(names[:_MAX_NAMED]) + more


def _evidence(observations: Sequence[Observation]) -> tuple[str, ...]:
    return tuple(f"{o.node}: {o.evidence}" for o in observations[:_MAX_NAMED] if o.evidence)


def coredns_drop_rate(state: ClusterState, observations: Sequence[Observation]) -> float | None:
    """The summed drop rate on CoreDNS nodes (recorded with an action to judge later whether it helped)."""
    return _rate(
        [o for o in observations if o.status is DropStatus.PERSISTING and state.hosts_coredns(o.node)]
    )
