"""The readings of one map in AMP's unescaped JSON layout (`"a": "x", "b": "y"`), for `ampjson`.

A `", "name": "` inside a map is a pair separator or part of a value: the template pastes values
unescaped. Names come sorted, so only a separator whose name sorts after the previous one can be one.
`natural` takes every separator that can be one (the reading of values free of the template's
punctuation); `readings` lists the others too, up to a cap, for the carried fingerprint to choose
from. Linear scans only: str.find and an anchored name match, never a backtracking pattern.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from netguard.alerts.errors import FormatError
from netguard.alerts.fingerprint import fingerprints

_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_NAMES = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*(?:,[a-zA-Z_][a-zA-Z0-9_]*)*")
_SEPARATOR = '", "'
_COLON = '": "'
_COLONS = frozenset({": "})
_COMMAS = frozenset({", "})

JOINTS = ('", "', '"},', '","', '"}]', '"}}')
"""What the template writes after a value (a quote and what follows it). A value holding one of these
could also be read as ending there: the reading of its map, or of what follows, is in doubt."""

OVER_BUDGET = "too much text to hash every reading of its labels"
SEPARATOR_LIMIT = 48
"""Separators in one map beyond which `readings` does not list readings (the caller's cap decides)."""


def holds_joint(value: str) -> bool:
    """Whether a value, as read, holds the template's own punctuation (so it may end earlier)."""
    return '"' in value and any(joint in value for joint in JOINTS)


@dataclass(frozen=True, slots=True)
class Separator:
    start: int
    """Where the separator's `"` is (the previous value ends there)."""
    value: int
    """Where the value after `name` starts."""
    name: str


def _first(body: str) -> tuple[str, int] | None:
    """The first name and where its value starts, when `body` is `"name": "...`."""
    if len(body) < 2 or body[0] != '"' or body[-1] != '"':
        return None
    match = _NAME.match(body, 1)
    if match is None or not body.startswith(_COLON, match.end()):
        return None
    value = match.end() + len(_COLON)
    return (match.group(), value) if value <= len(body) - 1 else None


_SEPARATOR_AHEAD = re.compile(r'(?=", "([a-zA-Z_][a-zA-Z0-9_]*+)": ")')
"""A separator starting here (a lookahead, so separators that overlap are all found). Linear: the
name is a possessive run of name characters, which hold no `"`, so no two runs overlap."""


@functools.lru_cache(maxsize=16)
def separators(body: str) -> tuple[Separator, ...]:
    """Every `", "name": "` in `body` with a valid name and a value after it. Cached: choosing
    between readings asks again for the same map (its natural reading, its search, the tail)."""
    last = len(body) - 1
    found: list[Separator] = []
    for match in _SEPARATOR_AHEAD.finditer(body):
        start, name = match.start(), match.group(1)
        value = start + len(_SEPARATOR) + len(name) + len(_COLON)
        if value <= last:
            found.append(Separator(start, value, name))
    return tuple(found)


def _plain(body: str) -> dict[str, str] | None:
    """`natural` for the usual map, where every `", "` is a separator, in a few C-level passes;
    None when the map is not that plain (a `", "` inside a value), for `searched` to read.

    With no `"` inside a value, split on every `"`: the pieces alternate name, `: `, value, `, `.
    Else split on every `", "`: each piece is `name": "value`. Either way the names must be valid
    and strictly increasing."""
    if len(body) < 2 or body[0] != '"' or body[-1] != '"':
        return None
    tokens = body[1:-1].split('"')
    if len(tokens) % 4 == 3 and set(tokens[1::4]) == _COLONS and set(tokens[3::4]) <= _COMMAS:
        names = tokens[0::4]
        values = tokens[2::4]
    else:
        pieces = [piece.partition(_COLON) for piece in body[1:-1].split(_SEPARATOR)]
        if not all(colon for _, colon, _ in pieces):
            return None
        names = [name for name, _, _ in pieces]
        values = [value for _, _, value in pieces]
    if not sorted_names(tuple(names)):
        return None
    return dict(zip(names, values, strict=True))


@functools.lru_cache(maxsize=256)
def sorted_names(names: tuple[str, ...]) -> bool:
    """Valid label names in strictly increasing order. Cached: a group's alerts repeat a few sets."""
    joined = ",".join(names)
    if joined.count(",") != len(names) - 1 or _NAMES.fullmatch(joined) is None:
        return False
    return all(map(operator.lt, names, names[1:]))


def searched(body: str) -> dict[str, str] | None:
    """`natural` for any map: take each separator whose name sorts after the previous name taken."""
    first = _first(body)
    if first is None:
        return None
    name, value_start = first
    result: dict[str, str] = {}
    for separator in separators(body):
        if separator.start >= value_start and separator.name > name:
            result[name] = body[value_start : separator.start]
            name, value_start = separator.name, separator.value
    result[name] = body[value_start:-1]
    return result


def natural(body: str) -> dict[str, str] | None:
    """The reading that splits at every separator that can be one; None when `body` is no map."""
    if not body:
        return {}
    plain = _plain(body)
    return plain if plain is not None else searched(body)


def pairs(body: str) -> dict[str, str]:
    """`natural`, raising FormatError for a body that is no map."""
    result = natural(body)
    if result is None:
        raise FormatError(f"AMP JSON: malformed map {body[:60]!r}")
    return result


def clean(values: dict[str, str]) -> bool:
    """No value holds the template's punctuation: no other split of the map reads as well."""
    return not any(map(holds_joint, values.values()))


def readings(body: str) -> Iterator[dict[str, str]]:
    """Every reading of a map, the natural one first: each increasing run of separators. Nothing
    when the map has more than SEPARATOR_LIMIT separators (the caller counts that as over its cap)."""
    first = _first(body)
    if first is None:
        return
    found = separators(body)
    if len(found) > SEPARATOR_LIMIT:
        return
    end = len(body) - 1
    # Depth-first, the first eligible separator taken first: the first reading is `natural`'s.
    # A frame: the pairs so far, the current name and value start, and the next separator to try.
    stack: list[tuple[tuple[tuple[str, int, int], ...], str, int, int]] = [((), first[0], first[1], 0)]
    while stack:
        chosen, name, value_start, index = stack.pop()
        for position in range(index, len(found)):
            separator = found[position]
            if separator.start >= value_start and separator.name > name:
                # Try this one now and the later ones (skipping it) when we come back.
                stack.append((chosen, name, value_start, position + 1))
                stack.append(
                    (
                        (*chosen, (name, value_start, separator.start)),
                        separator.name,
                        separator.value,
                        position + 1,
                    )
                )
                break
        else:
            pieces = (*chosen, (name, value_start, end))
            yield {key: body[start:stop] for key, start, stop in pieces}


@dataclass(frozen=True, slots=True)
class Search:
    """What `matching` found: the readings whose fingerprint is the one wanted, and why it stopped
    before seeing every reading ("" when it saw them all)."""

    matches: tuple[dict[str, str], ...]
    stopped: str = ""
    readings: int = 0


def matching(body: str, wanted: str, *, limit: int, spend: Callable[[int], bool]) -> Search:
    """The readings of `body` (as `readings` lists them) whose fingerprint is `wanted`: at most
    `limit` readings, `spend(n)` asked before each of n characters is taken. All are hashed in one
    `fingerprints` call (every reading a lane of one integer), many times faster than one by one."""
    if _first(body) is None:
        return Search(())
    if len(separators(body)) > SEPARATOR_LIMIT:
        return Search((), f"more than {SEPARATOR_LIMIT} places its labels may split")
    taken: list[dict[str, str]] = []
    stopped = ""
    for reading in readings(body):
        if len(taken) == limit:
            stopped = f"more than {limit} readings of its labels"
            break
        if not spend(len(body)):
            stopped = OVER_BUDGET
            break
        taken.append(reading)
    hashed = fingerprints(taken)
    return Search(
        tuple(r for r, value in zip(taken, hashed, strict=True) if value == wanted), stopped, len(taken)
    )
