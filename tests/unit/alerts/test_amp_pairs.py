"""AMP JSON maps: the fast reading of plain maps agrees with the search-based reading of any map, and
the list of every reading starts with that one and holds only maps that render back to the text."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netguard.alerts.errors import FormatError
from netguard.alerts.readings import _plain, natural, pairs, readings, searched

# Pieces that make values and names tricky: the template's own separators, quotes, newlines.
_TRICKY = st.sampled_from(['"', ", ", '": "', '", "', "\n", ":", ",", " ", "a", "b", "z", "_", "1", "é"])
_NAMES = st.sampled_from(["a", "b", "c", "_x", "a1", "B", "é", "a b", "a,b", "", "job", "zone"])


def _searched_or_error(body: str) -> dict[str, str]:
    found = searched(body)
    if found is None:
        raise FormatError("no map")
    return found


def _read(reader: Callable[[str], dict[str, str]], body: str) -> dict[str, str] | str:
    try:
        return reader(body)
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
            assert _read(pairs, text) == _read(_searched_or_error, text)

    def test_plain_map_takes_the_fast_way(self) -> None:
        """Quotes inside values (a description quoting something) still read the fast way."""
        body = '"alertname": "X", "instance": "10.0.0.1:9100", "job": ""'
        assert _plain(body) == {"alertname": "X", "instance": "10.0.0.1:9100", "job": ""}
        quoted = '"a": "say "hi"", "b": "y"'
        assert _plain(quoted) == searched(quoted) == {"a": 'say "hi"', "b": "y"}

    @pytest.mark.parametrize(
        "body",
        [
            '"a": "x", "b": "y", "c, "d": "z"',  # a `", "` that is no separator, inside a value
            '"b": "x", "a": "y"',  # names out of order: `", "a": "` is part of b's value
            '"a b": "x"',  # not a label name
        ],
    )
    def test_other_maps_take_the_search(self, body: str) -> None:
        assert _plain(body) is None


def _render(values: dict[str, str]) -> str:
    return ", ".join(f'"{name}": "{value}"' for name, value in values.items())


class TestReadings:
    @given(st.lists(st.tuples(_NAMES, st.lists(_TRICKY, max_size=5).map("".join)), min_size=1, max_size=5))
    def test_every_reading_renders_the_same_text(self, items: list[tuple[str, str]]) -> None:
        """The first reading is the natural one; each is sorted and renders exactly the map's text;
        the map that was rendered is one of them (when its names are label names)."""
        sent = dict(sorted(dict(items).items()))
        body = _render(sent)
        found = list(readings(body))
        if natural(body) is None:
            assert found == []
            return
        assert found[0] == natural(body)
        for reading in found:
            assert list(reading) == sorted(reading)
            assert _render(reading) == body
        if all(name.isidentifier() and name.isascii() for name in sent):
            assert sent in found
        assert len({tuple(r.items()) for r in found}) == len(found)

    def test_a_separator_inside_a_value_gives_two_readings(self) -> None:
        body = '"a": "x", "b": "y"'
        assert list(readings(body)) == [{"a": "x", "b": "y"}, {"a": 'x", "b": "y'}]
