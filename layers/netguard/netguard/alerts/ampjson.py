"""AMP's documented JSON template (user guide page "AMP-alertmanager-receiver-JSON"), read by layout.

Called by `intake` for every message in this layout, valid JSON or not. The template pastes values
between quotes unescaped, so any value may hold the template's own punctuation and a message can be
read more than one way. This reader is linear: a few str.find passes collect where alerts can end
(`","fingerprint": "…"}`), where times can stand and where annotations can start; each alert is then
read from those positions, never by a backtracking pattern. Where several readings exist, the one
whose labels reproduce the fingerprint Alertmanager carried wins (the fingerprint covers labels only);
an alert that stays in doubt is kept with `ambiguity` saying why (see docs/intake.md).
`from_json` takes json.loads's reading only where it provably is the layout's (a fast path).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from netguard.alerts import readings
from netguard.alerts.assemble import RawAlert, build_group, common
from netguard.alerts.errors import FormatError
from netguard.alerts.fingerprint import fingerprints, is_fingerprint
from netguard.alerts.models import AlertGroup, SourceFormat, Status, SubjectInfo
from netguard.alerts.readings import clean, natural, pairs, searched, sorted_names
from netguard.alerts.times import parse_time

__all__ = ["from_json", "looks_like", "pairs", "parse", "searched"]

_RECEIVER_OPEN = '{"receiver": "'
_LIST_OPEN = {status: f'","status": "{status.value}","alerts": [' for status in Status}
_ALERT_OPEN = {status: f'{{"status": "{status.value}"' for status in Status}
_NEXT_ALERT = tuple(f", {opening}" for opening in _ALERT_OPEN.values())
_LABELS_OPEN = ',"labels": {'
_ANNOTATIONS_OPEN = ',"annotations": {'
_SPLIT = '"},"annotations": {"'
"""Where labels end and annotations start (the `"` before and after included)."""
_STARTS_OPEN = ',"startsAt": "'
_ENDS_OPEN = '","endsAt": "'
_URL_OPEN = '","generatorURL": "'
_FINGERPRINT_OPEN = '","fingerprint": "'
_TAIL_KEYS = ("groupLabels", "commonLabels", "commonAnnotations")

LAYOUT_LIMIT = 16
"""Ways to place an alert's times and annotations (and so its URL) considered before it is in doubt."""
READING_LIMIT = 256
"""Readings of one alert's labels hashed before the alert is in doubt (each layout's labels text
read every way its separators allow, every distinct text once)."""
MERGE_LIMIT = 3
"""Earlier alerts an alert may turn out to be part of (a value holding the text of whole alerts)."""
TAIL_TRIES = 3
"""Places the alert list may close (shaped like it) checked against the alerts before the last resort."""
LAST_RESORTS = 2
"""The last places to close tried, when no place was taken, before the message counts as cut."""
HASH_FACTOR = 2
_HEX = re.compile(r"[0-9a-f]*")
"""Characters read again or hashed to choose between readings: at most this many times the
message, plus 32 KB (then the alerts still undecided are in doubt)."""


def _head(text: str) -> tuple[str, Status, int] | None:
    """Receiver, group status and where the alert list starts; None when not this layout."""
    start = len(text) - len(text.lstrip())
    if not text.startswith(_RECEIVER_OPEN, start):
        return None
    at = start + len(_RECEIVER_OPEN)
    found = [(text.find(opening, at), status) for status, opening in _LIST_OPEN.items()]
    found = [(index, status) for index, status in found if index != -1]
    if not found:
        return None
    index, status = min(found)
    return text[at:index], status, index + len(_LIST_OPEN[status])


def looks_like(text: str) -> bool:
    return _head(text) is not None


@dataclass(frozen=True, slots=True)
class _End:
    """A place an alert can end: `","fingerprint": "F"}` followed by another alert or `]`."""

    joint: int
    """Where `","fingerprint": "` starts (the URL ends there)."""
    fingerprint: str
    after: int
    """Just past the alert's `}`."""
    closes: bool
    """`]` follows (the list may close here); else `, {"status": "…"` does."""


def _ends(text: str, start: int) -> list[_End]:
    """Every place an alert can end. Linear: a fingerprint holds no `"`, so the scans from two
    `","fingerprint": "` never overlap."""
    found: list[_End] = []
    joint = text.find(_FINGERPRINT_OPEN, start)
    while joint != -1:
        value = joint + len(_FINGERPRINT_OPEN)
        quote = text.find('"', value)
        if quote == -1:
            break
        if text.startswith("}", quote + 1):
            after = quote + 2
            if text.startswith("]", after):
                found.append(_End(joint, text[value:quote], after, closes=True))
            elif text.startswith(_NEXT_ALERT, after) or (
                len(text) - after < len(_NEXT_ALERT[0])
                and any(o.startswith(text[after:]) for o in _NEXT_ALERT)
            ):
                # Another alert follows, or the message was cut where one would.
                found.append(_End(joint, text[value:quote], after, closes=False))
        joint = text.find(_FINGERPRINT_OPEN, joint + 1)
    return found


@dataclass(frozen=True, slots=True)
class _Times:
    """A place an alert's times can stand: `,"startsAt": "T","endsAt": "T","generatorURL": "`."""

    at: int
    url: int
    """Where the generator URL starts."""
    starts_at: datetime | None
    ends_at: datetime | None


def _times(text: str, start: int) -> list[_Times]:
    """Every place times can stand, with Go times that parse. Linear: a time holds no `"`."""
    found: list[_Times] = []
    at = text.find(_STARTS_OPEN, start)
    while at != -1:
        starts = at + len(_STARTS_OPEN)
        quote = text.find('"', starts)
        if quote != -1 and text.startswith(_ENDS_OPEN, quote):
            ends = quote + len(_ENDS_OPEN)
            end_quote = text.find('"', ends)
            if end_quote != -1 and text.startswith(_URL_OPEN, end_quote):
                try:
                    starts_at, ends_at = parse_time(text[starts:quote]), parse_time(text[ends:end_quote])
                except ValueError:
                    pass
                else:
                    found.append(_Times(at, end_quote + len(_URL_OPEN), starts_at, ends_at))
        at = text.find(_STARTS_OPEN, at + 1)
    return found


def _all(text: str, literal: str, start: int) -> list[int]:
    found = []
    at = text.find(literal, start)
    while at != -1:
        found.append(at)
        at = text.find(literal, at + 1)
    return found


_UNREAD: Any = object()


@dataclass(slots=True, eq=False)
class _Layout:
    """One way to read an alert's text: where its maps, times and URL are, and (once asked) the
    natural readings of its maps, kept: the chain, the tail and the choice all ask for them."""

    labels: str
    """The labels map's body (between the braces), "" when the alert has none."""
    annotations: str
    times: _Times
    _labels: Any = _UNREAD
    _annotations: Any = _UNREAD

    def natural_labels(self) -> dict[str, str] | None:
        if self._labels is _UNREAD:
            self._labels = natural(self.labels)
        return self._labels  # type: ignore[no-any-return]

    def natural_annotations(self) -> dict[str, str] | None:
        if self._annotations is _UNREAD:
            self._annotations = natural(self.annotations)
        return self._annotations  # type: ignore[no-any-return]


@dataclass(slots=True)
class _Scan:
    """What one pass over the message found, shared by every alert's reading."""

    text: str
    times: list[_Times]
    times_at: list[int]
    splits: list[int]
    hash_budget: int

    def spend(self, size: int) -> bool:
        """Whether reading or hashing `size` more characters to choose between readings fits the
        budget (and take them from it)."""
        self.hash_budget -= size
        return self.hash_budget >= 0


@dataclass(slots=True)
class _Piece:
    """The text of one alert, from its `{"status": ` to an end, and how it can be laid out."""

    start: int
    status: Status
    end: _End
    layouts: list[_Layout] = field(default_factory=list)
    over: bool = False
    """More than LAYOUT_LIMIT layouts."""


def _map_spans(scan: _Scan, at: int, until: int) -> Iterator[tuple[str, str]]:
    """The ways `text[at:until]` reads as `,"labels": {…}` and/or `,"annotations": {…}`, the
    nearest end of the labels first (a generator: the caller takes only as many as it keeps)."""
    text = scan.text
    if at == until:
        yield "", ""
        return
    if until - at < 4 or not text.startswith('"}', until - 2):
        return
    if text.startswith(_ANNOTATIONS_OPEN + '"', at):
        yield "", text[at + len(_ANNOTATIONS_OPEN) : until - 1]
        return
    if not text.startswith(_LABELS_OPEN + '"', at):
        return
    body = at + len(_LABELS_OPEN)
    first, last = bisect.bisect_left(scan.splits, body), bisect.bisect_left(scan.splits, until)
    for split in scan.splits[first:last]:
        if split + len(_SPLIT) < until:
            yield text[body : split + 1], text[split + len(_SPLIT) - 1 : until - 1]
    yield text[body : until - 1], ""


@dataclass(slots=True)
class _Open:
    """An alert being read from `start`: the layouts found so far, for ends further and further on.
    Each times place is examined once however often the alert goes on past an end."""

    start: int
    status: Status
    next_times: int = 0
    layouts: list[_Layout] = field(default_factory=list)
    over: bool = False

    def until(self, scan: _Scan, end: _End) -> _Piece:
        """The piece from `start` to `end`: every times place before the fingerprint whose URL
        starts before it, with each way the text before it reads as the alert's maps."""
        at = self.start + len(_ALERT_OPEN[self.status])
        if self.next_times == 0:
            self.next_times = bisect.bisect_left(scan.times_at, at)
        last = bisect.bisect_left(scan.times_at, end.joint)
        while self.next_times < last and not self.over:
            times = scan.times[self.next_times]
            self.next_times += 1
            if times.url > end.joint:
                continue
            for labels, notes in _map_spans(scan, at, times.at):
                if len(self.layouts) == LAYOUT_LIMIT:
                    self.over = True
                    break
                self.layouts.append(_Layout(labels, notes, times))
        return _Piece(self.start, self.status, end, list(self.layouts), self.over)


def _status_at(text: str, position: int) -> Status | None:
    return next(
        (status for status, opening in _ALERT_OPEN.items() if text.startswith(opening, position)), None
    )


def _shaped_like_tail(text: str, position: int, end: int) -> bool:
    """Whether `]` at `position` is followed by what starts the group's maps, or by the last `}`."""
    return text.startswith("]", position) and (
        position + 2 == end or text.startswith(_TAIL_OPENINGS, position + 1)
    )


_TAIL_OPENINGS = tuple(f',"{key}": {{"' for key in _TAIL_KEYS)


def _pieces(scan: _Scan, list_start: int, ends: Sequence[_End]) -> tuple[list[_Read], _Tail | None]:
    """The alerts from the list's start, each read from its start to the first end after which its
    text has a layout, and the group's tail (None when no place to close reads as one: a cut).

    An end whose piece has no layout lies inside a value: the piece goes on to the next end. A place
    to close is taken when the rest of the message reads as the tail of the alerts read (`_tail`);
    at most TAIL_TRIES places shaped like one are tried. When none is taken, a place after which the
    rest only has the tail's shape is, its group maps derived and its last alert in doubt."""
    text = scan.text
    end_of_text = len(text.rstrip())
    reader = _Reader(scan)
    closes: list[tuple[int, _Piece]] = []
    status = _status_at(text, list_start)
    if status is None:
        return [], None
    current = _Open(list_start, status)
    for end in ends:
        if end.joint < current.start:
            continue
        piece = current.until(scan, end)
        if not piece.layouts:
            continue
        if end.closes:
            if not _shaped_like_tail(text, end.after, end_of_text):
                continue
            if len(closes) < TAIL_TRIES:
                reads = reader.with_last(piece)
                tail = _tail(text, end.after, [read.raw for read in reads])
                if tail is not None:
                    return reads, tail
            closes.append((len(reader.pieces), piece))
            continue
        reader.pieces.append(piece)
        status = _status_at(text, end.after + 2)
        if status is None:  # the message was cut where the next alert starts
            break
        current = _Open(end.after + 2, status)
    # Last resort. The first place to close after which no other alert can start (a value that
    # swallowed later alerts would have their ends after it), then the last few places.
    continuing = max((end.joint for end in ends if not end.closes), default=-1)
    first_final = next(((n, p) for n, p in closes if p.end.joint > continuing), None)
    resorts = [*([first_final] if first_final else []), *reversed(closes[-LAST_RESORTS:])]
    for count, piece in resorts:
        same = count == len(reader.pieces)  # the alerts before it are those read: read them once
        reads = reader.with_last(piece) if same else _read_alerts(scan, [*reader.pieces[:count], piece])
        tail = _tail(text, piece.end.after, [read.raw for read in reads], shape_only=True)
        if tail is not None:
            _doubt_last(reads)
            return reads, tail
    if resorts and resorts[0][0] == len(reader.pieces):
        # No tail at all (cut, or text after it): the alert that closed there is kept, as a cut
        # message keeps its complete alerts.
        reads = reader.with_last(resorts[0][1])
        _doubt_last(reads)
        return reads, None
    return reader.settle(), None


def _doubt_last(reads: list[_Read]) -> None:
    last = reads[-1].raw
    last.ambiguity = last.ambiguity or "the alert list may end elsewhere (its end is in doubt)"


@dataclass(frozen=True, slots=True)
class _Tail:
    group_labels: dict[str, str] | None
    """None: taken from the subject (the message's could not be read for sure)."""
    common_labels: dict[str, str] | None
    """None: derived from the alerts (the message's could not be checked)."""
    common_annotations: dict[str, str] | None


def _rendered(values: Mapping[str, str]) -> str:
    return ", ".join(f'"{name}": "{values[name]}"' for name in sorted(values))


def _subset(body: str, labels: Mapping[str, str]) -> dict[str, str] | None:
    """The labels (a subset of `labels`, sorted) that `body` renders, when it renders such a subset."""
    chosen: dict[str, str] = {}
    cursor = 0
    for name in sorted(labels):
        pair = f'"{name}": "{labels[name]}"'
        joint = ", " if chosen else ""
        if body.startswith(joint + pair, cursor):
            chosen[name] = labels[name]
            cursor += len(joint + pair)
    return chosen if cursor == len(body) and _rendered(chosen) == body else None


_GROUP_OPEN = ',"groupLabels": {'
_COMMON_ANNOTATIONS_OPEN = ',"commonAnnotations": {'


def _tail(text: str, position: int, raws: Sequence[RawAlert], *, shape_only: bool = False) -> _Tail | None:
    """The group's maps after the alert list's `]` at `position`, or None when the rest of the
    message is no tail for these alerts.

    As Alertmanager must have written it: the common labels are exactly what the alerts share
    (`assemble.common`), the group labels a subset of them, the common annotations (no fingerprint
    covers them) the last map, kept when no value in it holds the template's punctuation. Else each
    map to the first place the next one can start, taken only when no value holds the template's
    punctuation (a tail that swallowed alerts would). With `shape_only` (the last resort, at the
    last places the list can close), any rest that starts and ends like a tail, its maps derived."""
    end = len(text.rstrip())
    if not text.startswith("]", position) or not text.startswith("}", end - 1):
        return None
    body = position + 1
    shared = common(raw.labels for raw in raws)
    shared_annotations = common(raw.annotations for raw in raws)
    labels_map = f',"commonLabels": {{{_rendered(shared)}}}' if shared else ""
    annotations_map = (
        f"{_COMMON_ANNOTATIONS_OPEN}{_rendered(shared_annotations)}}}" if shared_annotations else ""
    )
    # The usual case, checked from the end without a search: the message ends with these maps.
    at = end - 1 - len(annotations_map) - len(labels_map)
    exact = at >= body and text.startswith(labels_map + annotations_map, at)
    if not exact:
        # The annotations are in doubt: look for the labels' map (no value holds all of it).
        at = text.find(labels_map, body, end) if shared else body
    if at != -1:
        middle = text[body:at]
        group = (
            {}
            if not middle
            else _subset(middle[len(_GROUP_OPEN) : -1], shared)
            if middle.startswith(_GROUP_OPEN) and middle.endswith("}")
            else None
        )
        rest = at + len(labels_map)
        annotations: dict[str, str] | None = None
        if exact:
            annotations = shared_annotations
        elif rest == end - 1:
            annotations = {}
        elif text.startswith(_COMMON_ANNOTATIONS_OPEN + '"', rest) and text.startswith('"}}', end - 3):
            annotations = natural(text[rest + len(_COMMON_ANNOTATIONS_OPEN) : end - 2])
            if annotations is not None and not clean(annotations):
                # In doubt unless the alerts (whose doubt they carry) share exactly these.
                annotations = annotations if annotations == shared_annotations else None
            group = group if annotations is not None or shape_only else None
        else:
            group = None
        if group is not None:
            return _Tail(group, shared, annotations)
    plain = _plain_tail(text, body, end)
    if plain is not None:
        agrees = plain.group_labels is not None and all(
            shared.get(k) == v for k, v in plain.group_labels.items()
        )
        return _Tail(
            plain.group_labels if agrees else None,
            plain.common_labels if plain.common_labels == shared else None,
            plain.common_annotations,
        )
    if shape_only and (
        text.startswith(tuple(f',"{key}": {{"' for key in _TAIL_KEYS), body) or body == end - 1
    ):
        return _Tail(None, None, None)
    return None


def _plain_tail(text: str, position: int, end: int) -> _Tail | None:
    maps: dict[str, dict[str, str]] = {}
    keys = list(_TAIL_KEYS)
    while position < end - 1:
        key = next((k for k in keys if text.startswith(f',"{k}": {{"', position)), None)
        if key is None:
            return None
        keys = keys[keys.index(key) + 1 :]
        body = position + len(f',"{key}": {{')
        closes = [text.find(f'"}},"{later}": {{"', body, end) for later in keys]
        close = min((c + 1 for c in closes if c != -1), default=end - 2)
        if not text.startswith('"}', close - 1) or close <= body:
            return None
        values = natural(text[body:close])
        if values is None or not clean(values):
            return None
        maps[key] = values
        position = close + 1
    if position != end - 1:
        return None
    return _Tail(
        maps.get("groupLabels", {}),
        maps.get("commonLabels") if "commonLabels" in maps else None,
        maps.get("commonAnnotations") if "commonAnnotations" in maps else None,
    )


@dataclass(slots=True)
class _Read:
    """The reading chosen for one piece (or run of pieces) and why it may not be Alertmanager's."""

    first: int
    """Index of the first piece this alert spans."""
    raw: RawAlert
    verified: bool
    """Its labels reproduce the fingerprint the message carries."""
    fingerprint: str
    """The fingerprint of `raw.labels` (the carried one when verified), "" when not yet computed."""


def _raw(piece: _Piece, layout: _Layout, labels: dict[str, str], text: str, ambiguity: str) -> RawAlert:
    annotations = layout.natural_annotations()
    return RawAlert(
        status=piece.status,
        labels=labels,
        annotations=annotations or {},
        starts_at=layout.times.starts_at,
        ends_at=layout.times.ends_at,
        generator_url=text[layout.times.url : piece.end.joint],
        fingerprint=piece.end.fingerprint,
        ambiguity=ambiguity,
    )


def _rest_doubt(text: str, piece: _Piece, chosen: _Layout) -> str:
    """Why what the fingerprint does not cover (annotations, times, URL) may read otherwise."""
    if piece.over:
        return f"more than {LAYOUT_LIMIT} ways to place its annotations, times and URL"
    if any(other.labels == chosen.labels and other is not chosen for other in piece.layouts):
        return "its annotations, times and URL can be split more than one way"
    annotations = chosen.natural_annotations()
    if annotations is None or not clean(annotations):
        return "an annotation value holds the template's punctuation, so the annotations may split otherwise"
    if readings.holds_joint(text[chosen.times.url : piece.end.joint]):
        return "its generator URL holds the template's punctuation, so the alert may end elsewhere"
    return ""


def _plain_layout(text: str, piece: _Piece, layout: _Layout) -> bool:
    """No value of the layout's natural reading holds the template's punctuation."""
    labels, annotations = layout.natural_labels(), layout.natural_annotations()
    return (
        labels is not None
        and annotations is not None
        and clean(labels)
        and clean(annotations)
        and not readings.holds_joint(text[layout.times.url : piece.end.joint])
    )


def _search(scan: _Scan, piece: _Piece) -> tuple[list[tuple[_Layout, dict[str, str]]], str]:
    """The readings of a piece whose labels reproduce its fingerprint, and what cut the search short."""
    matches: list[tuple[_Layout, dict[str, str]]] = []
    left = READING_LIMIT
    searched_texts: set[str] = set()
    for layout in piece.layouts:
        if not layout.labels or layout.labels in searched_texts:
            continue
        searched_texts.add(layout.labels)
        found = readings.matching(layout.labels, piece.end.fingerprint, limit=left, spend=scan.spend)
        matches += [(layout, labels) for labels in found.matches]
        left -= found.readings
        if found.stopped:
            return matches, found.stopped
    if piece.over:
        return matches, f"more than {LAYOUT_LIMIT} ways to place its maps, times and URL"
    return matches, ""


def _decide(scan: _Scan, piece: _Piece, first: int, natural_hash: str | None) -> _Read:
    """The reading of one piece. `natural_hash`: the fingerprint of its first layout's natural
    labels (None when they do not read as a map)."""
    text = scan.text
    carried = piece.end.fingerprint
    layout = piece.layouts[0]
    labels = layout.natural_labels()
    if not is_fingerprint(carried):
        # Nothing to choose by: sure only when exactly one layout reads with no value holding the
        # template's punctuation (a layout that ends the labels elsewhere always has such a value).
        plain = [other for other in piece.layouts if _plain_layout(text, piece, other)]
        if len(plain) == 1 and not piece.over:
            layout = plain[0]
            raw = _raw(piece, layout, layout.natural_labels() or {}, text, "")
            sure_hash = natural_hash if layout is piece.layouts[0] else ""
            return _Read(first, raw, verified=False, fingerprint=sure_hash or "")
        doubt = "no usable fingerprint to choose between readings of its labels"
        raw = _raw(piece, layout, labels or {}, text, doubt)
        return _Read(first, raw, verified=False, fingerprint=natural_hash or "")
    if natural_hash == carried and labels is not None:
        return _Read(
            first, _raw(piece, layout, labels, text, _rest_doubt(text, piece, layout)), True, carried
        )
    # With the budget spent, no search: the alert is in doubt at once.
    matches, short = _search(scan, piece) if scan.hash_budget > 0 else ([], readings.OVER_BUDGET)
    if len(matches) == 1 and not short:
        chosen, found = matches[0]
        return _Read(first, _raw(piece, chosen, found, text, _rest_doubt(text, piece, chosen)), True, carried)
    if len(matches) > 1:
        doubt = f"{len(matches)} readings of its labels reproduce the fingerprint"
    elif short:
        doubt = short
    else:
        doubt = "no reading of its labels reproduces the fingerprint the message carries"
    if matches:
        layout, found = matches[0]
        return _Read(first, _raw(piece, layout, found, text, doubt), False, carried)
    return _Read(first, _raw(piece, layout, labels or {}, text, doubt), False, natural_hash or "")


def _merged(scan: _Scan, pieces: Sequence[_Piece], index: int) -> _Read | None:
    """The alert that pieces `first..index` make together, when exactly one reading of it reproduces
    the last piece's fingerprint: earlier ends were inside a value."""
    last = pieces[index]
    candidates: list[tuple[int, _Piece]] = []
    for first in range(index - 1, max(-1, index - 1 - MERGE_LIMIT), -1):
        if scan.hash_budget <= 0:
            break
        # Reading the pieces again together costs their length: taken from the budget.
        if not scan.spend(last.end.after - pieces[first].start):
            break
        piece = _Open(pieces[first].start, pieces[first].status).until(scan, last.end)
        if piece.layouts and piece.layouts[0].natural_labels() is not None:
            candidates.append((first, piece))
    hashed = fingerprints([piece.layouts[0].natural_labels() or {} for _, piece in candidates])
    for (first, piece), natural_hash in zip(candidates, hashed, strict=True):
        read = _decide(scan, piece, first, natural_hash)
        if read.verified:
            return read
    return None


@dataclass(slots=True)
class _Reader:
    """Reads the pieces the chain finds, in order: natural readings hashed in batches (one
    `fingerprints` call per batch), every other reading searched piece by piece, a piece that
    reproduces no fingerprint merged with the pieces before it when together they do."""

    scan: _Scan
    pieces: list[_Piece] = field(default_factory=list)
    reads: list[_Read] = field(default_factory=list)
    done: int = 0
    """Pieces read so far (the others wait to be hashed together)."""

    @staticmethod
    def _natural_hashes(pieces: Sequence[_Piece]) -> list[str | None]:
        """The fingerprint of each piece's natural labels (None when they read as no map)."""
        readable = [i for i, piece in enumerate(pieces) if piece.layouts[0].natural_labels() is not None]
        hashed = fingerprints([pieces[i].layouts[0].natural_labels() or {} for i in readable])
        result: list[str | None] = [None] * len(pieces)
        for i, value in zip(readable, hashed, strict=True):
            result[i] = value
        return result

    def _read(
        self, reads: list[_Read], pieces: Sequence[_Piece], index: int, natural_hash: str | None
    ) -> None:
        read = _decide(self.scan, pieces[index], index, natural_hash)
        if not read.verified and is_fingerprint(pieces[index].end.fingerprint):
            merged = _merged(self.scan, pieces, index)
            if merged is not None:
                while reads and reads[-1].first >= merged.first:
                    reads.pop()
                read = merged
        reads.append(read)

    def settle(self) -> list[_Read]:
        """The readings of every piece added."""
        waiting = self.pieces[self.done :]
        for offset, natural_hash in enumerate(self._natural_hashes(waiting)):
            self._read(self.reads, self.pieces, self.done + offset, natural_hash)
        self.done = len(self.pieces)
        return self.reads

    def with_last(self, piece: _Piece) -> list[_Read]:
        """The readings with `piece` as the last alert, the pieces added kept as they are."""
        reads = list(self.settle())
        self._read(reads, [*self.pieces, piece], len(self.pieces), self._natural_hashes([piece])[0])
        return reads


def _read_alerts(scan: _Scan, pieces: Sequence[_Piece]) -> list[_Read]:
    reader = _Reader(scan, list(pieces))
    return reader.settle()


def _mark_twins(reads: Sequence[_Read]) -> None:
    """Alertmanager sends an alert once per group: two readings with one fingerprint are in doubt."""
    seen: dict[str, list[_Read]] = {}
    for read in reads:
        seen.setdefault(read.raw.fingerprint, []).append(read)
    for twins in seen.values():
        if len(twins) > 1 and is_fingerprint(twins[0].raw.fingerprint):
            for read in twins:
                read.raw.ambiguity = (
                    read.raw.ambiguity or "the message holds an alert with this fingerprint twice"
                )


def parse(text: str, *, subject: SubjectInfo | None, truncated: bool, valid_json: bool = False) -> AlertGroup:
    head = _head(text)
    if head is None:
        raise FormatError("AMP JSON: the message does not start like AMP's JSON template")
    receiver, status, list_start = head
    warnings: list[str] = (
        []
        if valid_json
        else ["message is not valid JSON (AMP's template does not escape values); read by layout"]
    )
    times = _times(text, list_start)
    scan = _Scan(
        text=text,
        times=times,
        times_at=[t.at for t in times],
        splits=_all(text, _SPLIT, list_start),
        hash_budget=HASH_FACTOR * len(text) + 32768,
    )
    reads: list[_Read]
    if text.startswith("]", list_start):
        reads, tail = [], _tail(text, list_start, [])
    else:
        reads, tail = _pieces(scan, list_start, _ends(text, list_start))
        _mark_twins(reads)
    cut = tail is None
    if cut and not truncated:
        warnings.append("message ends before its alert list closes although it is not marked truncated")
    if cut and not reads:
        raise FormatError("AMP JSON: the message was cut before the first complete alert")
    unknown = [read for read in reads if not read.fingerprint]
    for read, value in zip(unknown, fingerprints([read.raw.labels for read in unknown]), strict=True):
        read.fingerprint = value
    for read in reads:
        carried = read.raw.fingerprint
        if carried != read.fingerprint and carried:
            name = read.raw.labels.get("alertname", "?")
            warnings.append(
                f"alert {name}: message carries fingerprint {carried}, labels give {read.fingerprint} (used)"
                if _HEX.fullmatch(carried)
                else f"alert {name}: fingerprint {carried[:40]!r} is not lowercase hex; ignored, "
                "computed from the labels"
            )
        read.raw.fingerprint = read.fingerprint
    raws = [read.raw for read in reads]
    return build_group(
        raws,
        source_format=SourceFormat.AMP_JSON,
        warnings=warnings,
        status=status,
        receiver=receiver,
        group_labels=tail.group_labels if tail else None,
        common_labels=tail.common_labels if tail else None,
        common_annotations=tail.common_annotations if tail else None,
        truncated=truncated or cut,
        subject=subject,
        fingerprints_checked=True,
    )


# --- the fast path: json.loads's reading, where it is provably the layout's -------------------------

_ALERT_KEYS = frozenset(
    ("status", *labels, *annotations, "startsAt", "endsAt", "generatorURL", "fingerprint")
    for labels in ((), ("labels",))
    for annotations in ((), ("annotations",))
)
_STATUS_OF = {status.value: status for status in Status}


def _rendered_map(values: Mapping[str, str]) -> str:
    """A map as the template writes it, values pasted between quotes (in the map's order: whether
    that is the template's sorted order is checked once per name set by `sorted_names`)."""
    return '{"' + '", "'.join(map('": "'.join, values.items())) + '"}' if values else "{}"


def _rendered_alert(alert: Mapping[str, Any]) -> str:
    labels = f',"labels": {_rendered_map(alert["labels"])}' if "labels" in alert else ""
    annotations = f',"annotations": {_rendered_map(alert["annotations"])}' if "annotations" in alert else ""
    return (
        f'{{"status": "{alert["status"]}"{labels}{annotations},"startsAt": "{alert["startsAt"]}"'
        f',"endsAt": "{alert["endsAt"]}","generatorURL": "{alert["generatorURL"]}"'
        f',"fingerprint": "{alert["fingerprint"]}"}}'
    )


def _reads_as_layout(data: Any, text: str) -> bool:
    """Whether json.loads's reading of `text` is the one `parse` would make, so it can be used.

    It is when the text has no backslash (then every JSON string is the characters between its
    quotes, and no value holds a `"`, so none holds the template's punctuation), is exactly what the
    template writes for the decoded data (keys in its order, strings only, sorted names, the same
    spacing, non-empty maps), and every alert's labels reproduce its carried fingerprint: a value
    such as `x", "node": "y` is valid JSON too, but read as two labels its fingerprint fails.
    """
    if "\\" in text or type(data) is not dict or tuple(data)[:3] != ("receiver", "status", "alerts"):
        return False
    alerts = data["alerts"]
    tail = tuple(data)[3:]
    if (
        type(alerts) is not list
        or tail != tuple(key for key in _TAIL_KEYS if key in tail)
        or not all(type(alert) is dict and tuple(alert) in _ALERT_KEYS for alert in alerts)
    ):
        return False
    maps = [data[key] for key in tail]
    maps += [alert[key] for alert in alerts for key in ("labels", "annotations") if key in alert]
    if not all(type(values) is dict and values for values in maps):
        return False
    try:
        rendered = (
            f'{{"receiver": "{data["receiver"]}","status": "{data["status"]}","alerts": ['
            + ", ".join(map(_rendered_alert, alerts))
            + "]"
            + "".join(f',"{key}": {_rendered_map(data[key])}' for key in tail)
            + "}"
        )
    except TypeError:
        return False  # a map value that is no string
    if rendered != text.strip():
        return False
    # Equal text: every value the template quotes is a string, and no name came twice (json.loads
    # would have kept one). Now what the layout demands of statuses, names and fingerprints.
    if not (
        data["status"] in _STATUS_OF
        and {alert["status"] for alert in alerts} <= _STATUS_OF.keys()
        and all(sorted_names(tuple(values)) for values in maps)
        and all(is_fingerprint(alert["fingerprint"]) for alert in alerts)
    ):
        return False
    carried = [alert["fingerprint"] for alert in alerts]
    if fingerprints([alert.get("labels", {}) for alert in alerts]) != carried:
        return False
    return len(set(carried)) == len(carried)


def from_json(data: Any, text: str, *, subject: SubjectInfo | None, truncated: bool) -> AlertGroup | None:
    """`parse` of a message in this layout that is also valid JSON, from what json.loads made of it;
    None when that may read differently (then `parse` reads it by layout)."""
    if not _reads_as_layout(data, text):
        return None
    raws: list[RawAlert] = []
    for alert in data["alerts"]:
        try:
            starts, ends = parse_time(alert["startsAt"]), parse_time(alert["endsAt"])
        except ValueError as exc:
            raise FormatError(f"AMP JSON: alert {len(raws) + 1}: {exc}") from exc
        raws.append(
            RawAlert(
                status=_STATUS_OF[alert["status"]],
                # json.loads made these dicts and nothing else keeps them: handed over (RawAlert).
                labels=alert.get("labels", {}),
                annotations=alert.get("annotations", {}),
                starts_at=starts,
                ends_at=ends,
                generator_url=alert["generatorURL"],
                fingerprint=alert["fingerprint"],
            )
        )
    return build_group(
        raws,
        source_format=SourceFormat.AMP_JSON,
        warnings=[],
        status=Status(data["status"]),
        receiver=data["receiver"],
        group_labels=data.get("groupLabels", {}),
        common_labels=data.get("commonLabels", {}),
        common_annotations=data.get("commonAnnotations", {}),
        truncated=truncated,
        subject=subject,
    )
