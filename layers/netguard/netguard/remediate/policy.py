"""The remediation policy: cluster state + observations + history -> one decision with its reasons.

Pure and deterministic (the snapshot's `now` is its only clock), so every branch is a table test.
Safety (modes, cooldown) is not decided here; see `netguard.remediate.safety` (the kill switch and
the lock are adapters of their own).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from netguard.config.remediate import PolicySettings
from netguard.enriched.models import ActionKind
from netguard.remediate.load import (
    Load,
    add_replicas,
    describe,
    estimate,
    nodes_for,
    outlook,
    per_node_cap,
    ready_placement,
    spread,
)
from netguard.remediate.models import (
    ClusterState,
    Decision,
    DisableNodeLocal,
    DropStatus,
    EnableNodeLocal,
    Escalate,
    GiveUp,
    History,
    NoAction,
    Observation,
    RevertCoreDns,
    RevertSpread,
    ScaleCoreDns,
    SpreadCoreDns,
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
        return GiveUp(
            (
                f"gave up: drops persist after {history.verification_attempts} verification checks"
                f" (MAX_VERIFICATIONS={settings.max_verifications}); handing over to on-call",
                seen,
                *_state_lines(state),
                *diagnosis,
            )
        )
    if history.steps >= settings.max_steps:
        return GiveUp(
            (
                f"gave up: drops persist after {history.steps} changes in this incident"
                f" (MAX_STEPS={settings.max_steps}); more automatic steps could loop,"
                " handing over to on-call",
                seen,
                *_state_lines(state),
                *diagnosis,
            )
        )
    load = estimate(state, on_dns, settings.allowance_pps)
    if load is None:
        return _by_replica_count(state, on_dns, history, settings, seen=seen, diagnosis=diagnosis)
    return _by_packets(state, on_dns, history, settings, load=load, context=(seen, *diagnosis))


def _by_packets(
    state: ClusterState,
    on_dns: list[Observation],
    history: History,
    settings: PolicySettings,
    *,
    load: Load,
    context: tuple[str, ...],
) -> Decision:
    """The smallest candidate (scale, spread, scale+spread, then NodeLocal DNSCache) whose estimate
    keeps every CoreDNS node under allowance x headroom."""
    goal = settings.allowance_pps * settings.headroom
    placement = ready_placement(state)
    nodes = nodes_for(state, placement)
    current = state.coredns_current
    # Replicas desired but not Ready yet will land like new ones.
    base = add_replicas(placement, max(0, current - sum(placement.values())), nodes)
    now = outlook(placement, load.total_pps)
    step = max(0, min(settings.step, settings.max_replicas - current))
    aim = (
        f"every CoreDNS node under {goal:.0f} pkt/s ({settings.headroom:.0%} of the"
        f" {settings.allowance_pps:.0f} pkt/s link-local allowance)"
    )
    basis = load.basis(settings.allowance_pps)
    ineffective = _scaling_did_not_help(state, on_dns, history, settings)

    def scale(k: int, first: str) -> ScaleCoreDns:
        after = outlook(add_replicas(base, k, nodes), load.total_pps)
        return ScaleCoreDns(
            current=current,
            target=current + k,
            step=k,
            reasons=(first, *context[:1], basis, *describe(now, after), *_state_lines(state), *context[1:]),
        )

    def spreading(k: int, first: str) -> SpreadCoreDns:
        moved, evict = spread(add_replicas(base, k, nodes), nodes)
        after = outlook(moved, load.total_pps)
        return SpreadCoreDns(
            current=current,
            target=current + k,
            evict=evict,
            per_node=per_node_cap(moved, nodes),
            reasons=(first, *context[:1], basis, *describe(now, after), *_state_lines(state), *context[1:]),
        )

    def fits(k: int, *, move: bool) -> tuple[bool, bool]:
        """(the candidate meets the goal, it evicts something)"""
        placed = add_replicas(base, k, nodes)
        evict: Mapping[str, int] = {}
        if move:
            placed, evict = spread(placed, nodes)
        return outlook(placed, load.total_pps).worst <= goal, bool(evict)

    if not ineffective:
        for k in range(1, step + 1):
            if fits(k, move=False)[0]:
                return scale(
                    k,
                    f"raise CoreDNS from {current} to {current + k} replicas: the smallest raise that keeps"
                    f" {aim} (step {settings.step}, maximum {settings.max_replicas})",
                )
    ok, moves = fits(0, move=True)
    if ok and moves:
        return spreading(
            0,
            f"spread CoreDNS: move replicas off the nodes that carry more than one, keeping {current}"
            f" replicas, so {aim}",
        )
    for k in range(1, step + 1):
        ok, moves = fits(k, move=True)
        if ok and moves:
            return spreading(
                k,
                f"raise CoreDNS from {current} to {current + k} replicas and spread them, one node's share"
                f" each, so {aim} (raising alone would leave shared nodes over it)",
            )
    room = settings.max_replicas - current
    reachable = next((k for k in range(step + 1, room + 1) if fits(k, move=True)[0]), None)
    if reachable is not None and step > 0 and not ineffective:
        first = (
            f"no single step reaches the goal ({aim}); about {current + reachable} replicas one per node"
            f" would, so take step 1 of ~{math.ceil(reachable / step)}:"
        )
        if fits(step, move=True)[1]:
            return spreading(step, f"{first} raise CoreDNS from {current} to {current + step} and spread")
        return scale(step, f"{first} raise CoreDNS from {current} to {current + step} replicas")
    return _beyond_replicas(
        state,
        settings,
        load=load,
        goal=goal,
        nodes=nodes,
        base=base,
        ineffective=ineffective,
        context=context,
    )


def _beyond_replicas(
    state: ClusterState,
    settings: PolicySettings,
    *,
    load: Load,
    goal: float,
    nodes: list[str],
    base: Mapping[str, int],
    ineffective: str | None,
    context: tuple[str, ...],
) -> Decision:
    """No replica count within the maximum absorbs the load: NodeLocal DNSCache where allowed."""
    current = state.coredns_current
    ready = state.ready_nodes
    at_max = current >= settings.max_replicas
    best = outlook(
        spread(add_replicas(base, max(0, settings.max_replicas - current), nodes), nodes)[0], load.total_pps
    )
    if at_max:
        why = f"CoreDNS is at its maximum of {settings.max_replicas} replicas"
    elif ready is not None and ready > 0 and state.coredns_distinct_nodes >= ready:
        why = (
            f"CoreDNS already runs on all {ready} ready nodes, so more replicas cannot add network interfaces"
        )
    elif ineffective:
        why = ineffective
    else:
        why = (
            f"no replica count within the maximum of {settings.max_replicas} keeps every CoreDNS node under"
            f" {goal:.0f} pkt/s (at {best.replicas} spread replicas the busiest node still sends"
            f" ~{best.worst:.0f} pkt/s)"
        )
    lines = (load.basis(settings.allowance_pps), *_state_lines(state))
    if state.nodelocal_enabled:
        if not at_max and best.worst < outlook(base, load.total_pps).worst and not ineffective:
            return _scale(state, settings, context[0], (*lines, *context[1:]))
        return Escalate(
            (
                f"drops persist and NodeLocal DNSCache is already enabled: {why};"
                " nothing safe is left to automate",
                *context[:1],
                *lines,
                *context[1:],
            )
        )
    return _nodelocal(state, why, context[0], (*lines, *context[1:]), refused_context=context)


def _nodelocal(
    state: ClusterState, why: str, seen: str, rest: tuple[str, ...], *, refused_context: tuple[str, ...]
) -> Decision:
    """NodeLocal DNSCache, or a refusal that says why when kube-proxy is not in iptables mode."""
    if state.kube_proxy_mode != "iptables":
        mode = state.kube_proxy_mode or "an unknown mode"
        return Escalate(
            (
                f"refusing NodeLocal DNSCache: kube-proxy runs in {mode}, and NodeLocal DNSCache"
                " there needs kubelet's --cluster-dns changed on every node; that is a change for"
                " people, not for netguard",
                f"it would have been next because {why}",
                *refused_context,
            ),
            refused=ActionKind.ENABLE_NODELOCAL,
        )
    return EnableNodeLocal(
        (
            f"enable NodeLocal DNSCache: {why}; a per-node cache answers repeated queries locally and"
            " spreads what it forwards over every node's interface",
            seen,
            *rest,
        )
    )


def _by_replica_count(
    state: ClusterState,
    on_dns: list[Observation],
    history: History,
    settings: PolicySettings,
    *,
    seen: str,
    diagnosis: tuple[str, ...],
) -> Decision:
    """Without any drop rate there is no packet arithmetic: one step up, then NodeLocal DNSCache."""
    current = state.coredns_current
    at_max = current >= settings.max_replicas
    nodes = state.ready_nodes
    everywhere = nodes is not None and nodes > 0 and state.coredns_distinct_nodes >= nodes
    ineffective = _scaling_did_not_help(state, on_dns, history, settings)
    unknown = "no drop rate is known, so the step is one COREDNS_STEP, not computed from packets/s"

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
        return _scale(state, settings, seen, (unknown, *diagnosis))

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
        return _nodelocal(
            state, why, seen, (*_state_lines(state), *diagnosis), refused_context=(seen, *diagnosis)
        )
    return _scale(state, settings, seen, (unknown, *diagnosis))


def _scale(state: ClusterState, settings: PolicySettings, seen: str, rest: tuple[str, ...]) -> Decision:
    """One COREDNS_STEP up, no more replicas than ready nodes while there are free ones."""
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
    reasons.extend(rest)
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
    if settings.revert_coredns and history.original_spread is not None:
        return RevertSpread(
            history.original_spread,
            (
                f"{first}; quiet for {int(quiet_for)} s, so CoreDNS's pod spreading goes back to what it was"
                " before netguard made it durable (REVERT_COREDNS=true)",
            ),
        )
    if settings.revert_coredns and history.original_coredns is not None:
        return RevertCoreDns(
            history.original_coredns,
            (
                f"{first}; quiet for {int(quiet_for)} s, so the CoreDNS replica floor goes back to its value"
                " before netguard raised it (REVERT_COREDNS=true)",
            ),
            expected_floor=history.floor_set_by_netguard,
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
    if settings.revert_coredns and history.original_spread is not None:
        parts.append("the CoreDNS spread")
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


def finish_spread(state: ClusterState, history: History, settings: PolicySettings) -> Decision:
    """The rest of a spread whose evictions had to wait: move what still shares a node, from the
    current placement (not from drop rates, which still show the placement before the spread)."""
    placement = {node: n for node, n in state.coredns_pods_by_node.items() if n > 0}
    nodes = nodes_for(state, placement)
    moved, evict = spread(placement, nodes)
    cap = per_node_cap(placement, nodes)
    decided = f" decided by {history.last_action.decision_id}" if history.last_action else ""
    if not evict:
        return NoAction(
            (
                f"spread{decided} finished: no node carries more than {cap} CoreDNS"
                f" replica{'s' if cap > 1 else ''}",
            )
        )
    before = ", ".join(f"{node} ({n})" for node, n in sorted(placement.items()) if n > cap)
    return SpreadCoreDns(
        current=state.coredns_current,
        target=state.coredns_current,
        evict=evict,
        per_node=cap,
        reasons=(
            f"finish the spread{decided}: {before} still carr{'ies' if len(evict) == 1 else 'y'} more than"
            f" {cap} CoreDNS replica{'s' if cap > 1 else ''}; after: at most"
            f" {max(moved.values(), default=0)} per node",
        ),
    )


def coredns_drop_rate(state: ClusterState, observations: Sequence[Observation]) -> float | None:
    """The summed drop rate on CoreDNS nodes (recorded with an action to judge later whether it helped)."""
    return _rate(
        [o for o in observations if o.status is DropStatus.PERSISTING and state.hosts_coredns(o.node)]
    )
