"""Settings readers name the variable and what it should be."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import pytest

from netguard.config import EnvReader
from netguard.errors import ConfigError


class Mode(Enum):
    ENFORCE = "enforce"
    DRY_RUN = "dry-run"


@pytest.mark.parametrize(
    ("env", "read", "message"),
    [
        ({}, lambda r: r.str("TABLE"), "TABLE is required"),
        ({"N": "ten"}, lambda r: r.int("N", 1), "N='ten' is not a whole number"),
        ({"N": "0"}, lambda r: r.int("N", 1, minimum=1), "N=0 is below the minimum of 1"),
        ({"N": "11"}, lambda r: r.int("N", 1, maximum=10), "N=11 is above the maximum of 10"),
        ({"B": "maybe"}, lambda r: r.bool("B", False), "B='maybe' must be true or false"),
        (
            {"M": "yolo"},
            lambda r: r.enum("M", Mode, Mode.ENFORCE),
            "M='yolo' must be one of: enforce, dry-run",
        ),
        ({"J": "{"}, lambda r: r.json_object("J"), "J is not valid JSON"),
        ({"J": "[]"}, lambda r: r.json_object("J"), "J must be a JSON object, got list"),
    ],
)
def test_errors_say_which_setting_and_what_it_should_be(
    env: dict[str, str], read: Callable[[EnvReader], object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read(EnvReader(env))


def test_defaults_and_parsing() -> None:
    reader = EnvReader({"N": " 7 ", "B": "Yes", "M": "DRY-RUN", "L": "a, b,,c", "J": '{"a": 1}'})
    assert reader.int("N", 1) == 7
    assert reader.bool("B", False) is True
    assert reader.enum("M", Mode, Mode.ENFORCE) is Mode.DRY_RUN
    assert reader.csv("L") == ("a", "b", "c")
    assert reader.json_object("J") == {"a": 1}
    assert reader.str("MISSING", "fallback") == "fallback"
    assert reader.optional("MISSING") is None
