"""Slack Block Kit payloads as people would see them: HTML for the report, plain text for the terminal.

Called by `report.py` and `inspect.py` with the bodies the local Slack receiver got. Pure functions;
only the block types netguard sends (header, section with text or fields, context, divider, actions,
inside top-level `blocks` or `attachments[].blocks` with the attachment's colour bar) plus a fallback
that shows an unknown block's type, so nothing is hidden silently. Hand-written because no package
renders Block Kit outside Slack.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_CODE_BLOCK = re.compile(r"```(.*?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
# Slack formats *bold*, _italic_ and ~strike~ only at word boundaries: `linklocal_allowance_exceeded`
# stays as it is.
_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)~(?![\w~])")
EMOJI = {
    ":red_circle:": "🔴",
    ":large_green_circle:": "🟢",
    ":warning:": "⚠️",
    ":scissors:": "✂️",
    ":wrench:": "🔧",
    ":test_tube:": "🧪",
    ":pause_button:": "⏸️",
    ":no_entry:": "⛔",
    ":x:": "❌",
    ":robot_face:": "🤖",
    ":grey_question:": "❔",
}


def _slack_unescape(text: str) -> str:
    """Slack escapes only &, < and > in mrkdwn; undo exactly those."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _emoji(text: str) -> str:
    for code, char in EMOJI.items():
        text = text.replace(code, char)
    return text


def _safe_href(url: str) -> str | None:
    url = _slack_unescape(url.strip())
    return url if url.startswith(("http://", "https://", "mailto:")) else None


def _split(
    pattern: re.Pattern[str], text: str, outside: Callable[[str], str], inside: Callable[[re.Match[str]], str]
) -> str:
    """`inside(match)` for each match of `pattern`, `outside(text)` for the text between them."""
    parts: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        parts.append(outside(text[last : match.start()]))
        parts.append(inside(match))
        last = match.end()
    parts.append(outside(text[last:]))
    return "".join(parts)


def _format_html(text: str) -> str:
    escaped = html.escape(_emoji(_slack_unescape(text)), quote=False)
    escaped = _BOLD.sub(r"<b>\1</b>", escaped)
    escaped = _ITALIC.sub(r"<i>\1</i>", escaped)
    escaped = _STRIKE.sub(r"<s>\1</s>", escaped)
    return escaped.replace("\n", "<br>")


def _inline_html(text: str) -> str:
    """Escaped HTML for mrkdwn without links: code first (its content is not formatted)."""
    return _split(
        _CODE, text, _format_html, lambda m: f"<code>{html.escape(_slack_unescape(m.group(1)))}</code>"
    )


def _link_html(match: re.Match[str]) -> str:
    url, label = match.group(1), match.group(2)
    href = _safe_href(url)
    shown = _inline_html(label) if label else html.escape(_slack_unescape(url))
    return f'<a href="{html.escape(href)}">{shown}</a>' if href else shown


def mrkdwn_to_html(text: str) -> str:
    """Slack mrkdwn (links `<url|label>`, *bold*, _italic_, ~strike~, `code`, ```blocks```) as safe HTML."""
    return _split(
        _CODE_BLOCK,
        text,
        lambda part: _split(_LINK, part, _inline_html, _link_html),
        lambda m: f"<pre>{html.escape(_slack_unescape(m.group(1).strip(chr(10))))}</pre>",
    )


def mrkdwn_to_text(text: str) -> str:
    """Slack mrkdwn as terminal text: links become `label (url)`, markers stay (they read fine)."""

    def link(match: re.Match[str]) -> str:
        url, label = match.group(1), match.group(2)
        return f"{label} ({url})" if label else url

    return _emoji(_slack_unescape(_LINK.sub(link, text)))


def _text_of(obj: Any) -> tuple[str, bool]:
    """(text, is_mrkdwn) of a Block Kit text object."""
    if not isinstance(obj, Mapping):
        return "", False
    return str(obj.get("text") or ""), obj.get("type") == "mrkdwn"


def _text_html(obj: Any) -> str:
    text, mrkdwn = _text_of(obj)
    return mrkdwn_to_html(text) if mrkdwn else html.escape(_emoji(text)).replace("\n", "<br>")


def message_blocks(body: Mapping[str, Any]) -> Iterator[tuple[str, Sequence[Mapping[str, Any]]]]:
    """(colour or "", blocks) for the message's own blocks, then each attachment's."""
    own = body.get("blocks")
    if isinstance(own, list) and own:
        yield "", own
    for attachment in body.get("attachments") or []:
        if isinstance(attachment, Mapping):
            yield str(attachment.get("color") or ""), attachment.get("blocks") or []


def block_to_html(block: Mapping[str, Any]) -> str:
    kind = str(block.get("type", ""))
    if kind == "header":
        return f'<div class="bk-header">{_text_html(block.get("text"))}</div>'
    if kind == "section":
        parts = []
        if block.get("text"):
            parts.append(f'<div class="bk-text">{_text_html(block.get("text"))}</div>')
        fields = block.get("fields") or []
        if fields:
            cells = "".join(f'<div class="bk-field">{_text_html(f)}</div>' for f in fields)
            parts.append(f'<div class="bk-fields">{cells}</div>')
        return f'<div class="bk-section">{"".join(parts)}</div>'
    if kind == "context":
        items = "".join(f"<span>{_text_html(e)}</span>" for e in block.get("elements") or [])
        return f'<div class="bk-context">{items}</div>'
    if kind == "divider":
        return '<hr class="bk-divider">'
    if kind == "actions":
        buttons = []
        for element in block.get("elements") or []:
            label = html.escape(_text_of(element.get("text"))[0])
            href = _safe_href(str(element.get("url") or ""))
            buttons.append(
                f'<a class="bk-button" href="{html.escape(href)}">{label}</a>'
                if href
                else f'<span class="bk-button">{label}</span>'
            )
        return f'<div class="bk-actions">{"".join(buttons)}</div>'
    return f'<div class="bk-unknown">[{html.escape(kind or "block")} block]</div>'


def message_to_html(body: Mapping[str, Any]) -> str:
    """One Slack message: its blocks (attachments with their colour bar), or its `text` if none."""
    groups = []
    for colour, blocks in message_blocks(body):
        inner = "".join(block_to_html(b) for b in blocks if isinstance(b, Mapping))
        style = f' style="border-left-color:{html.escape(colour)}"' if _is_colour(colour) else ""
        groups.append(f'<div class="bk-attachment"{style}>{inner}</div>' if colour else inner)
    if not groups:
        groups.append(f'<div class="bk-text">{mrkdwn_to_html(str(body.get("text") or ""))}</div>')
    return f'<div class="bk-message">{"".join(groups)}</div>'


def _is_colour(value: str) -> bool:
    return bool(re.fullmatch(r"#[0-9A-Fa-f]{3,8}|[a-z]+", value))


def block_to_text(block: Mapping[str, Any]) -> list[str]:
    kind = str(block.get("type", ""))
    if kind == "header":
        return [f"# {_emoji(_text_of(block.get('text'))[0])}"]
    if kind == "section":
        lines = []
        if block.get("text"):
            lines.extend(mrkdwn_to_text(_text_of(block.get("text"))[0]).splitlines())
        for field in block.get("fields") or []:
            name, _, value = mrkdwn_to_text(_text_of(field)[0]).partition("\n")
            lines.append(f"{name.strip('*')}: {value.replace(chr(10), ' ')}" if value else name)
        return lines
    if kind == "context":
        return ["  · " + " | ".join(mrkdwn_to_text(_text_of(e)[0]) for e in block.get("elements") or [])]
    if kind == "divider":
        return ["─" * 40]
    if kind == "actions":
        return [
            f"[{_text_of(e.get('text'))[0]}] {e.get('url', '')}".rstrip() for e in block.get("elements") or []
        ]
    return [f"[{kind or 'block'} block]"]


def message_to_text(body: Mapping[str, Any]) -> str:
    """One Slack message as terminal lines (what a reader sees, links spelled out)."""
    lines: list[str] = []
    for _, blocks in message_blocks(body):
        for block in blocks:
            if isinstance(block, Mapping):
                lines.extend(block_to_text(block))
    if not lines:
        lines = mrkdwn_to_text(str(body.get("text") or "")).splitlines()
    return "\n".join(lines)
