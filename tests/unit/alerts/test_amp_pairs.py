"""AMP JSON maps: the fast reading of plain maps agrees with the search-based reading of any map."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netguard.alerts.ampjson import _alert_at, _alert_by_regex, _plain_pairs, pairs, searched_pairs
from netguard.alerts.errors import FormatError

# Pieces that make values and names tricky: the template's own separators, quotes, newlines.
_TRICKY = st.sampled_from(['"', ", ", '": "', '", "', "\n", ":", ",", " ", "a", "b", "z", "_", "1", "é"])
_NAMES = st.sampled_from(["a", "b", "c", "_x", "a1", "B", "é", "a b", "a,b", "", "job", "zone"])


def _read(reader: object, body: str) -> object:
    try:
        return reader(body)  # type: ignore[operator]
    except FormatError:
        return "FormatError"


class TestPairs:
    @given(
        st.lists(st.tuples(_NAMES, st.lists(_TRICKY, max_size=5).map("".join)), min_size=1, max_size=5),
        st.integers(min_value=0, max_value=200),
    )
    def test_plain_reading_agrees_with_search(self, items: list[tuple[str, str]], cut: int) -> None:
        """Whatever the names and values, `pairs` gives what the search-based reader gives."""
        body = ", ".join(f'"{name}": "{value}"' for name, value in sorted(dict(items).items()))
        for text in filter(None, (body, body[:cut])):  # `pairs` reads "" as {} before either way
            assert _read(pairs, text) == _read(searched_pairs, text)

    def test_plain_map_takes_the_fast_way(self) -> None:
        body = '"alertname": "X", "instance": "10.0.0.1:9100", "job": ""'
        assert _plain_pairs(body) == {"alertname": "X", "instance": "10.0.0.1:9100", "job": ""}

    @pytest.mark.parametrize(
        "body",
        [
            '"a": "say "hi"", "b": "y"',  # a quote in a value
            '"b": "x", "a": "y"',  # names out of order: `", "a": "` is part of b's value
            '"a b": "x"',  # not a label name
        ],
    )
    def test_other_maps_take_the_search(self, body: str) -> None:
        assert _plain_pairs(body) is None


# What could end a lazy group early or late: the template's own text after labels, annotations and
# the generator URL, braces and quotes.
_LAYOUT = st.sampled_from(
    ['},"annotations": {', '},"startsAt": "', '","fingerprint": "', '"}, {"status": ', '"}]', "}", '"', "x"]
)
_PIECE = st.one_of(_LAYOUT, st.sampled_from(["a", "0", " ", "\n", "é"]))


class TestAlertLayout:
    @given(
        status=st.sampled_from(["firing", "resolved", "other"]),
        values=st.lists(st.lists(_PIECE, max_size=4).map("".join), min_size=3, max_size=3),
        has_labels=st.booleans(),
        has_annotations=st.booleans(),
        fingerprint=st.sampled_from(["0123456789abcdef", "", "zz"]),
        after=st.sampled_from([", ", "]", "", "x"]),
    )
    def test_find_reading_agrees_with_the_regex(
        self,
        *,
        status: str,
        values: list[str],
        has_labels: bool,
        has_annotations: bool,
        fingerprint: str,
        after: str,
    ) -> None:
        """Whatever the values hold, `_alert_at` reads what `_ALERT` reads, or leaves it to the regex."""
        labels, annotations, url = values
        text = (
            f'{{"status": "{status}"'
            + (f',"labels": {{"a": "{labels}"}}' if has_labels else "")
            + (f',"annotations": {{"b": "{annotations}"}}' if has_annotations else "")
            + f',"startsAt": "2026-11-25 20:36:41 +0000 UTC","endsAt": "","generatorURL": "{url}"'
            + f',"fingerprint": "{fingerprint}"}}{after}{{"status": "firing"}}'
        )
        fast = _alert_at(text, 0)
        if fast is not None:
            assert fast == _alert_by_regex(text, 0)

    def test_a_plain_alert_takes_the_fast_way(self) -> None:
        text = (
            '{"status": "firing","labels": {"a": "1"},"startsAt": "x","endsAt": "y"'
            ',"generatorURL": "u","fingerprint": "0f"}]'
        )
        assert _alert_at(text, 0) == ("firing", '"a": "1"', None, "x", "y", "u", "0f", len(text) - 1)
        assert _alert_at(text, 0) == _alert_by_regex(text, 0)
