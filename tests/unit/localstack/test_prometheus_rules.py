"""Scaling amp/'s rules for the local stack: durations, range selectors, annotations; promtool agrees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from netguard_cli.localstack.prometheus import (
    RuleScale,
    alert_for_durations,
    format_duration,
    parse_duration,
    scale_expr,
    scale_rules,
)

DEMO = RuleScale(factor=1 / 30)


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [("5m", 300), ("90s", 90), ("1h30m", 5400), ("500ms", 0.5), ("2d", 172800), ("0s", 0)],
    )
    def test_parse(self, text: str, seconds: float) -> None:
        """Prometheus durations, compound ones included, become seconds."""
        assert parse_duration(text) == seconds

    @pytest.mark.parametrize("text", ["", "5", "5 m", "m5", "5mm", "1.5m"])
    def test_parse_rejects(self, text: str) -> None:
        """Anything Prometheus would reject is rejected, not guessed."""
        with pytest.raises(ValueError, match="not a Prometheus duration"):
            parse_duration(text)

    @pytest.mark.parametrize(("seconds", "text"), [(10, "10s"), (9.6, "10s"), (0.25, "250ms"), (600, "600s")])
    def test_format(self, seconds: float, text: str) -> None:
        """Whole seconds, milliseconds below one second."""
        assert format_duration(seconds) == text


class TestScaleExpr:
    @pytest.mark.parametrize(
        ("expr", "scaled"),
        [
            ("rate(x[5m]) > 0", "rate(x[10s]) > 0"),
            ("rate(x[1m])", "rate(x[10s])"),  # 2 s would be below the 10 s floor
            ("max_over_time(rate(x[30m])[1h:5m])", "max_over_time(rate(x[60s])[120s:10s])"),
            ("max_over_time(y[1h:])", "max_over_time(y[120s:])"),
            ('rate(x{type="a[5m]"}[5m])', 'rate(x{type="a[5m]"}[10s])'),  # label values stay as written
            ("x{a='[1h]', b=`[1h]`}[1h]", "x{a='[1h]', b=`[1h]`}[120s]"),
            ('x{a="q\\"[1h]"}[1h]', 'x{a="q\\"[1h]"}[120s]'),
            ("absent(x)", "absent(x)"),
        ],
    )
    def test_ranges(self, expr: str, scaled: str) -> None:
        """Range selectors and subquery windows shrink with the factor, never below the floors."""
        assert scale_expr(expr, DEMO) == scaled


RULES: dict[str, Any] = {
    "groups": [
        {
            "name": "g",
            "interval": "30s",
            "rules": [
                {"record": "r", "expr": "rate(x[1m])"},
                {
                    "alert": "Persisting",
                    "expr": "r > 0",
                    "for": "5m",
                    "annotations": {"for": "5m", "summary": "lasted 5m"},
                },
                {"alert": "Instant", "expr": "r > 0"},
            ],
        }
    ]
}


class TestScaleRules:
    def test_for_interval_and_annotation(self) -> None:
        """`for:`, the group interval and a `for` annotation scale; free text does not."""
        scaled = scale_rules(RULES, DEMO)
        group = scaled["groups"][0]
        assert group["interval"] == "1s"
        persisting = group["rules"][1]
        assert persisting["for"] == "10s"
        assert persisting["annotations"] == {"for": "10s", "summary": "lasted 5m"}
        assert "for" not in group["rules"][2]

    def test_original_untouched(self) -> None:
        """Scaling returns a copy."""
        scale_rules(RULES, DEMO)
        assert RULES["groups"][0]["rules"][1]["for"] == "5m"

    def test_identity(self) -> None:
        """A factor of 1 keeps every duration as Prometheus reads it."""
        scaled = scale_rules(RULES, RuleScale(factor=1.0, min_range_seconds=0, min_interval_seconds=0))
        assert scaled["groups"][0]["rules"][1]["for"] == "300s"
        assert scaled["groups"][0]["rules"][0]["expr"] == "rate(x[60s])"

    def test_alert_for_durations(self) -> None:
        """Only alerting rules with a `for:` are listed."""
        assert alert_for_durations(scale_rules(RULES, DEMO)) == {"Persisting": "10s"}

    def test_remediation_rules_of_the_shipped_file(self) -> None:
        """With a label, only the rules that set it: amp/rules.yaml's remediation rule, scaled."""
        shipped = yaml.safe_load((Path(__file__).parents[3] / "amp" / "rules.yaml").read_text())
        label = ("netguard_remediate", "dns")
        assert alert_for_durations(scale_rules(shipped, DEMO), label=label) == {
            "LinklocalAllowanceExceededPersisting": "10s"
        }
