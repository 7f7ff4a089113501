"""AMP JSON maps: the fast reading of plain maps agrees with the search-based reading of any map."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netguard.alerts.ampjson import _plain_pairs, pairs, searched_pairs
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
