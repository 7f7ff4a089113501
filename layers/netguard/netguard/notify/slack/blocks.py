"""Slack messages as Block Kit payloads: pure functions from digests and reports to JSON.

Every message stays within Slack's limits (50 blocks, 3000 characters per section text, 150 per
header, 10 fields of 2000) however many alerts it summarises; the top-level `text` is the
notification fallback. Status colour is the attachment's `color`.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping, Sequence

from netguard.enriched.models import EnrichedEvent, Outcome, RemediationReport
from netguard.notify.models import AlertRow, DnsFacts, GroupDigest, Json, Links

MAX_BLOCKS = 50
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
FIELD_LIMIT = 2000
MAX_FIELDS = 10
TEXT_LIMIT = 3000
"""Our cap for the top-level fallback `text` (Slack truncates very long texts itself)."""
URL_LIMIT = 3000
"""Slack's limit for a button's `url`: a longer one makes Slack refuse the whole message."""
ROWS_SHOWN = 10
NODES_SHOWN = 8

COLOURS = {"critical": "#E01E5A", "error": "#E01E5A", "warning": "#ECB22E", "info": "#36C5F0"}
RESOLVED_COLOUR = "#2EB67D"
NEUTRAL_COLOUR = "#8D8D8D"
EMOJI = {"firing": ":red_circle:", "resolved": ":large_green_circle:"}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def esc(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def url_problem(url: str) -> str:
    """Why Slack would refuse `url` as a link or button ("" when it takes it): it must be an
    absolute http(s) URL with a host, no spaces or control characters, within URL_LIMIT."""
    if len(url) > URL_LIMIT:
        return f"longer than Slack's {URL_LIMIT} characters"
    if not url.isprintable() or any(c.isspace() for c in url):
        return "holds spaces or control characters"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is no number
    except ValueError:
        return "is not a URL"
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return "is not an http(s) URL with a host"
    return ""


def link(url: str, label: str) -> str:
    """A mrkdwn link; the label alone (escaped) when Slack would not take the URL."""
    if url_problem(url):
        return esc(label)
    safe = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe}|{esc(label)}>"


def section(text: str) -> Json:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def header(text: str) -> Json:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_LIMIT), "emoji": True}}


def context(*texts: str) -> Json:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(t, SECTION_LIMIT)} for t in texts[:10]],
    }


def fields_section(pairs: Sequence[tuple[str, str]]) -> Json:
    fields = [{"type": "mrkdwn", "text": clip(f"*{esc(k)}*\n{v}", FIELD_LIMIT)} for k, v in pairs if v]
    return {"type": "section", "fields": fields[:MAX_FIELDS]}


def colour(status: str, severity: str) -> str:
    if status == "resolved":
        return RESOLVED_COLOUR
    return COLOURS.get(severity.lower(), COLOURS["error"] if status == "firing" else NEUTRAL_COLOUR)


_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def matcher(name: str, value: str) -> str:
    """`name="value"` as Alertmanager's matcher syntax writes it (`labels.Matcher.String`): a
    backslash, a quote and a newline in the value escaped, so a value cannot add matchers."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{name}="{escaped}"'


def silence_url(alertmanager_url: str, labels: Mapping[str, str]) -> str:
    """Alertmanager UI's "new silence" page pre-filled with the group's labels, one matcher each
    (a name that is no label name cannot be one: left out)."""
    if not alertmanager_url or not labels:
        return ""
    matchers = ",".join(matcher(k, v) for k, v in sorted(labels.items()) if _LABEL_NAME.fullmatch(k))
    if not matchers:
        return ""
    query = urllib.parse.quote("{" + matchers + "}", safe="")
    return f"{alertmanager_url.rstrip('/')}/#/silences/new?filter={query}"


def link_buttons(pairs: Sequence[tuple[str, str]]) -> list[Json]:
    """Buttons for the links Slack takes (see `url_problem`; the notifier warns of the others)."""
    return [
        {"type": "button", "text": {"type": "plain_text", "text": text}, "url": href}
        for text, href in pairs
        if not url_problem(href)
    ][:5]


def _counts(counts: Mapping[str, int], limit: int) -> str:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{esc(k)} ({v})" for k, v in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f} pkt/s"


def _row_line(row: AlertRow) -> str:
    where = esc(row.node or row.instance_id or "unknown node")
    instance = ", ".join(
        esc(p) for p in (row.instance_id if row.node else "", row.instance_type, row.zone) if p
    )
    parts = [f"• `{where}`" + (f" ({instance})" if instance else ""), esc(row.kind)]
    if row.drop_rate is not None:
        parts.append(_rate(row.drop_rate))
    if row.status == "resolved":
        parts.append("resolved")
    if row.ambiguous:
        parts.append(":warning: ambiguous")
    line = " — ".join(parts)
    return line + (
        f" {link(row.graph_url, 'graph')}" if row.graph_url and not url_problem(row.graph_url) else ""
    )


def _dns_lines(dns: DnsFacts) -> list[str]:
    lines = []
    if dns.coredns_replicas is not None:
        ready = f", {dns.coredns_ready} ready" if dns.coredns_ready is not None else ""
        spread = f" on {dns.coredns_distinct_nodes} node(s)" if dns.coredns_distinct_nodes is not None else ""
        owner = f" (replicas set by {esc(dns.replica_owner)})" if dns.replica_owner else ""
        lines.append(f"CoreDNS: {dns.coredns_replicas} replica(s){ready}{spread}{owner}")
    if dns.nodelocal_dns_enabled is not None:
        lines.append(f"NodeLocal DNSCache: {'enabled' if dns.nodelocal_dns_enabled else 'not enabled'}")
    if dns.kube_proxy_mode:
        lines.append(f"kube-proxy mode: {esc(dns.kube_proxy_mode)}")
    if dns.bypass_pods:
        examples = ", ".join(f"`{esc(p)}`" for p in dns.bypass_examples)
        more = (
            f" and {dns.bypass_pods - len(dns.bypass_examples)} more"
            if dns.bypass_pods > len(dns.bypass_examples)
            else ""
        )
        lines.append(f"Pods using the VPC resolver directly: {examples}{more}")
    return lines


def title(digest: GroupDigest) -> str:
    status = digest.status.upper() or "ALERT"
    name = digest.alertname or "alert group"
    count = f" ({digest.total})" if digest.total > 1 else ""
    return f"{status}: {name}{count} on {digest.cluster or 'unknown cluster'}"


def alert_message(digest: GroupDigest, links: Links, *, footer: str = "") -> Json:
    """The one message of an alert group (posted when it fires, edited as parts arrive and on resolve)."""
    blocks: list[Json] = [header(f"{EMOJI.get(digest.status, ':warning:')} {title(digest)}")]
    lead = [esc(digest.summary)] if digest.summary else []
    if digest.description and digest.description != digest.summary:
        lead.append(esc(digest.description))
    if lead:
        blocks.append(section("\n".join(lead)))
    if digest.diagnoses:
        diagnosis = "\n".join(
            f"• {esc(k)}" + (f" ({v} alerts)" if v > 1 else "") for k, v in list(digest.diagnoses.items())[:5]
        )
        details = "\n".join(f"  – {esc(d)}" for d in digest.diagnosis_details)
        blocks.append(section(f"*Diagnosis*\n{diagnosis}" + (f"\n{details}" if details else "")))
    counts = f"{digest.firing} firing" + (f", {digest.resolved} resolved" if digest.resolved else "")
    blocks.append(
        fields_section(
            [
                ("Cluster", esc(digest.cluster)),
                ("Severity", esc(digest.severity)),
                ("Alerts", counts),
                ("Kinds", _counts(digest.kinds, 6)),
                ("Max drop rate", _rate(digest.max_drop_rate)),
                ("Availability zones", _counts(digest.zones, 6)),
                ("Instance types", _counts(digest.instance_types, 6)),
                ("Nodes", str(digest.node_count) if digest.node_count > 1 else ""),
                ("Remediable", "yes (DNS throttling)" if digest.remediable else ""),
            ]
        )
    )
    rows = digest.rows[:ROWS_SHOWN]
    if rows:
        more = digest.total - len(rows)
        text = "*Where*\n" + "\n".join(_row_line(r) for r in rows)
        if more > 0:
            text += f"\n…and {more} more alert(s)"
        blocks.append(section(text))
    if digest.total > ROWS_SHOWN and digest.nodes:
        hidden = max(0, digest.node_count - min(NODES_SHOWN, len(digest.nodes)))
        top = ", ".join(f"`{esc(k)}` ({v})" for k, v in list(digest.nodes.items())[:NODES_SHOWN])
        blocks.append(section(f"*Top nodes*\n{top}" + (f"\n…and {hidden} more node(s)" if hidden else "")))
    if digest.dns is not None and (dns := _dns_lines(digest.dns)):
        blocks.append(section("*Cluster DNS*\n" + "\n".join(dns)))
    buttons = link_buttons(links.as_pairs())
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    notes = []
    if digest.ambiguous:
        notes.append(
            f":warning: {digest.ambiguous} alert(s) could not be read for sure from the message"
            + (f" ({esc(digest.ambiguity_example)})" if digest.ambiguity_example else "")
            + "; they are shown as read and never remediated"
        )
    if digest.enrichment_errors:
        notes.append(
            f":warning: {digest.enrichment_errors} enrichment error(s): "
            + "; ".join(esc(e) for e in digest.enrichment_error_examples[:2])
        )
    if digest.truncated:
        notes.append(":scissors: the alert manager truncated this notification; some alerts may be missing")
    if digest.part_count > 1 and len(digest.parts) < digest.part_count:
        notes.append(f"showing {len(digest.parts)} of {digest.part_count} parts")
    notes.append(esc(footer or f"netguard · {digest.group_id}"))
    blocks.append(context(*notes))
    return {
        "text": clip(
            esc(f"{title(digest)}: {digest.summary}" if digest.summary else title(digest)), TEXT_LIMIT
        ),
        "attachments": [{"color": colour(digest.status, digest.severity), "blocks": blocks[:MAX_BLOCKS]}],
    }


def resolved_reply(digest: GroupDigest) -> Json:
    """The thread reply posted under the original message when a group resolves."""
    text = f":large_green_circle: Resolved: {esc(digest.alertname or 'alert group')} on {esc(digest.cluster)}"
    if digest.total:
        text += f" ({digest.total} alert(s))"
    return {"text": clip(text, TEXT_LIMIT), "blocks": [section(text)]}


_OUTCOME_EMOJI = {
    Outcome.APPLIED: ":wrench:",
    Outcome.DRY_RUN: ":test_tube:",
    Outcome.SKIPPED: ":pause_button:",
    Outcome.REFUSED: ":no_entry:",
    Outcome.FAILED: ":x:",
}


_PHASE_HEADLINE = {
    "watching": "watching",
    "holding": "holding",
    "verifying": "verifying",
    "spread_pending": "spreading CoreDNS",
    "reverting": "verified: drops stopped",
    "escalated": "escalated to on-call",
    "gave_up": "gave up; on-call decides",
    "closed": "closed",
    "idle": "no incident",
}


_ACTION_WORDS = {
    "scale_coredns": "raise CoreDNS replicas",
    "spread_coredns": "spread CoreDNS",
    "enable_nodelocal_dnscache": "enable NodeLocal DNSCache",
    "disable_nodelocal_dnscache": "disable NodeLocal DNSCache",
    "revert_coredns": "revert CoreDNS replicas",
    "revert_spread": "revert CoreDNS spread",
    "escalate": "escalate",
    "give_up": "give up",
}


_UNDONE = {
    "revert_coredns": "reverted the CoreDNS replica floor",
    "revert_spread": "reverted the CoreDNS spread",
    "disable_nodelocal_dnscache": "removed NodeLocal DNSCache",
}


def _headline(report: RemediationReport) -> str:
    """What happened, in words: the change (or dry-run), else the incident's new phase."""
    action = _ACTION_WORDS.get(report.action.value, report.action.value.replace("_", " "))
    if report.outcome is Outcome.DRY_RUN:
        return f"dry-run: would {action}"
    if report.outcome is Outcome.REFUSED:
        return f"refused {action}; escalated to on-call"
    if report.outcome is Outcome.FAILED:
        return f"{action} failed" if report.action.value != "none" else "could not look at the cluster"
    if report.outcome is Outcome.APPLIED and report.action.value in _UNDONE:
        return _UNDONE[report.action.value]
    if (
        report.changed
        and report.outcome is Outcome.APPLIED
        and report.action.value not in ("none", "escalate", "give_up")
    ):
        return f"{action} applied"
    return _PHASE_HEADLINE.get(report.phase, "") or (
        f"{action}: {report.outcome.value}" if report.action.value != "none" else report.outcome.value
    )


def remediation_message(report: RemediationReport) -> Json:
    """A remediation decision, as a reply in the incident's thread (or alone when there is none):
    what happened in words, before -> after, why, and what comes next. Never raw data."""
    mode = f" ({esc(report.mode)})" if report.mode and report.mode != "enforce" else ""
    head = (
        f"{_OUTCOME_EMOJI.get(report.outcome, ':robot_face:')} Remediation on `{esc(report.cluster)}`:"
        f" *{esc(_headline(report))}*{mode}"
    )
    lines = [head]
    if report.summary:
        lines.append(esc(report.summary))
    lines.extend(f"• {esc(r)}" for r in report.reasons[:6])
    if report.follow_up:
        lines.append(f"next: {esc(report.follow_up)}")
    text = "\n".join(lines)
    return {
        "text": clip(text, TEXT_LIMIT),
        "blocks": [section(text), context(f"decision {esc(report.decision_id)}")],
    }


def unparseable_message(event: EnrichedEvent) -> Json:
    """A plain message for a notification netguard could not understand."""
    info = event.unparseable
    reason = info.reason if info else "unknown reason"
    lines = [f":grey_question: netguard could not parse an alert notification: {esc(reason)}"]
    if info is not None:
        lines.append(
            f"size: {info.raw_size} bytes"
            + (f", kept at `{esc(info.raw_location)}`" if info.raw_location else "")
        )
        if info.raw_preview:
            lines.append("```" + clip(esc(info.raw_preview.replace("```", "'''")), 1500) + "```")
    if event.source.subject:
        lines.insert(1, f"subject: {esc(event.source.subject)}")
    text = "\n".join(lines)
    return {"text": clip(lines[0], TEXT_LIMIT), "blocks": [section(text)]}
