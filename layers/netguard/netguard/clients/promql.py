"""Cluster scoping of PromQL text: one more label matcher on every vector selector of a query.

Called by enrichment (drop rates, graph links) and remediation (the gate's fresh check, CoreDNS
forward rates) on whatever base query is configured, so a workspace shared by several clusters
answers for one cluster only. Pure string work with a linear, one-pass tokenizer (no regular
expressions over the query): braces only ever open a selector's matchers in PromQL, and a bare
metric name is an identifier that is neither a function, a keyword nor a label of a grouping list.
"""

from __future__ import annotations

import json

_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan", "by", "without", "on", "ignoring"}
    | {"group_left", "group_right", "start", "end"}
    | {"sum", "avg", "count", "min", "max", "stddev", "stdvar", "topk", "bottomk", "quantile"}
    | {"count_values", "group", "limitk", "limit_ratio"}
)
"""Words taken as never naming a metric: operators, `@ start()`/`end()`, and the aggregation
operators (which may stand before `by (...)` rather than their own parenthesis)."""
_GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
"""Words whose parenthesised list holds label names, not expressions."""


def promql_string(value: str) -> str:
    """`value` as a double-quoted PromQL string literal: JSON's escapes are a subset of PromQL's
    (`\\"`, `\\\\`, `\\n`, `\\uXXXX`), so any text, quotes and newlines included, stays one literal."""
    return json.dumps(value, ensure_ascii=False)


def matcher(label: str, value: str) -> str:
    return f"{label}={promql_string(value)}"


def _is_ident_start(char: str) -> bool:
    return char.isalpha() or char in "_:"


def _is_ident_char(char: str) -> bool:
    return char.isalnum() or char in "_:"


def _skip_string(query: str, start: int) -> int:
    """The index after the string literal opening at `start` (backquotes have no escapes)."""
    quote, i = query[start], start + 1
    while i < len(query):
        char = query[i]
        if char == "\\" and quote != "`":
            i += 2
            continue
        if char == quote:
            return i + 1
        i += 1
    return len(query)


def _skip_space(query: str, i: int) -> int:
    while i < len(query) and query[i].isspace():
        i += 1
    return i


def scope_query(query: str, label: str, value: str) -> str:
    """`query` with `label="value"` (value escaped) added to every vector selector.

    `label` must be a valid label name (configuration checks it). A selector that already names the
    label keeps its own matcher too: both must hold, so nothing outside the cluster can match.
    """
    added = matcher(label, value)
    out: list[str] = []
    stack: list[bool] = []  # per open parenthesis: True when it holds grouping labels
    i, n = 0, len(query)
    after_grouping = False
    while i < n:
        char = query[i]
        if char in "\"'`":
            end = _skip_string(query, i)
            out.append(query[i:end])
            i = end
        elif char == "#":  # a comment runs to the end of the line
            end = query.find("\n", i)
            end = n if end < 0 else end
            out.append(query[i:end])
            i = end
        elif char == "{":
            end = _selector_end(query, i)
            body = query[i + 1 : end - 1]
            out.append("{" + added + ("," + body if body.strip() else "") + "}")
            i = end
        elif char == "[":  # ranges and subquery steps: durations only
            end = query.find("]", i)
            end = n if end < 0 else end + 1
            out.append(query[i:end])
            i = end
        elif char == "(":
            stack.append(after_grouping)
            after_grouping = False
            out.append(char)
            i += 1
        elif char == ")":
            if stack:
                stack.pop()
            out.append(char)
            i += 1
        elif _is_ident_start(char) and not (i > 0 and (_is_ident_char(query[i - 1]) or query[i - 1] == ".")):
            j = i
            while j < n and _is_ident_char(query[j]):
                j += 1
            word = query[i:j]
            nxt = _skip_space(query, j)
            following = query[nxt] if nxt < n else ""
            out.append(word)
            in_labels = bool(stack) and stack[-1]
            after_grouping = word.lower() in _GROUPING
            if not in_labels and following not in ("(", "{") and word.lower() not in _KEYWORDS:
                out.append("{" + added + "}")
            i = j
        else:
            if not char.isspace():
                after_grouping = False
            out.append(char)
            i += 1
    return "".join(out)


def _selector_end(query: str, start: int) -> int:
    """The index after the `}` closing the selector that opens at `start`."""
    i = start + 1
    while i < len(query):
        char = query[i]
        if char in "\"'`":
            i = _skip_string(query, i)
            continue
        if char == "}":
            return i + 1
        i += 1
    return len(query)


def scoped(query: str, label: str | None, value: str) -> str:
    """`scope_query` when the deployment names a cluster label; the query unchanged when it does not
    (a workspace whose series carry no cluster label: every cluster's series answer)."""
    return query if label is None else scope_query(query, label, value)
