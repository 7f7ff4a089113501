"""The summary table of bench.json: one row per figure, its baseline from the same run, and the goal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FUNCTIONS = ("enrich", "notify_slack", "notify_pagerduty", "remediate")


def _ratio(value: Any) -> str:
    return "" if value is None else f"{value:.2f}x"


def _rows(figures: Mapping[str, Any]) -> list[tuple[str, str, str, str, str]]:
    rows: list[tuple[str, str, str, str, str]] = []
    intake = figures.get("intake", {})
    goal = intake.get("goal_ratio_valid_json")
    for key, row in intake.items():
        if isinstance(row, Mapping) and "json_loads_ms" in row:
            same = row["baseline"].endswith("same bytes")
            rows.append(
                (
                    f"parse {key.replace('_', ' ')}",
                    f"{row['parse_ms']:.1f} ms",
                    f"json.loads {row['json_loads_ms']:.2f} ms" + ("" if same else " (netguard JSON)"),
                    _ratio(row["ratio"]),
                    f"<= {goal}x" if same and goal else "",
                )
            )
    hostile = intake.get("slowest_hostile")
    if isinstance(hostile, Mapping) and "ratio" in hostile:
        rows.append(
            (
                f"slowest hostile message <= 256 KB vs a valid 256 KB storm ({hostile['case']})",
                f"{hostile['parse_ms']:.1f} ms",
                f"{hostile['baseline']} {hostile['baseline_ms']:.1f} ms",
                _ratio(hostile["ratio"]),
                f"<= {hostile['goal_ratio']}x",
            )
        )
    cold = figures.get("package", {}).get("cold_start", {})
    for function in FUNCTIONS:
        row = cold.get(function)
        if isinstance(row, Mapping):
            rows.append(
                (
                    f"cold start {function} (import + settings), wall (CPU)",
                    f"{row['handler_ms']:.0f} ({row.get('handler_cpu_ms', 0):.0f}) ms",
                    f"`{row['baseline']}` {row['baseline_ms']:.0f} ({row.get('baseline_cpu_ms', 0):.0f}) ms",
                    f"{_ratio(row['ratio'])} ({_ratio(row.get('cpu_ratio'))})",
                    f"<= {row['goal_ratio']}x",
                )
            )
    from_layer = figures.get("package", {}).get("cold_start_from_layer", {})
    for function in FUNCTIONS:
        row = from_layer.get(function)
        if isinstance(row, Mapping) and row.get("ratio"):
            rows.append(
                (
                    f"cold start {function} from the built layer, no caches kept, wall (CPU)",
                    f"{row['handler_ms']:.0f} ({row.get('handler_cpu_ms', 0):.0f}) ms",
                    f"`{row.get('baseline', 'baseline')}` from the layer {row['baseline_ms']:.0f}"
                    f" ({row.get('baseline_cpu_ms', 0):.0f}) ms",
                    f"{_ratio(row['ratio'])} ({_ratio(row.get('cpu_ratio'))})",
                    "",
                )
            )
    size = figures.get("package", {}).get("size", {})
    if "layer_mb" in size:
        rows.append(
            (
                "layer, unzipped",
                f"{size['layer_mb']} MB ({size.get('layer_mib')} MiB)",
                f"plain pip --target {size.get('plain_pip_target_mb')} MB",
                _ratio(size["layer_mb"] / size["plain_pip_target_mb"])
                if size.get("plain_pip_target_mb")
                else "",
                "",
            )
        )
        rows.append(
            (
                "layer + all functions, unzipped",
                f"{size['total_mb']} MB",
                f"Lambda limit {size['lambda_unzipped_limit_mb']} MB",
                _ratio(size["total_mb"] / size["lambda_unzipped_limit_mb"]),
                f"<= {size['goal_total_mb']} MB",
            )
        )
    functions = {
        **figures.get("enrich", {}),
        **figures.get("notify_storm", {}).get("functions", {}),
    }
    for function in FUNCTIONS:
        row = functions.get(function)
        if not isinstance(row, Mapping) or "warm_1_alert_ms" not in row:
            continue
        rows.append(
            (
                f"{function} warm 1 / 1000 alerts",
                f"{row['warm_1_alert_ms']:.0f} / {row['warm_1000_alerts_ms']:.0f} ms",
                f"cold invoke {row['cold_invoke_ms']:.0f} ms",
                "",
                "",
            )
        )
        rows.append(
            (
                f"{function} peak RSS 1 / 1000 alerts",
                f"{row['peak_rss_1_alert_mib']:.0f} / {row['peak_rss_1000_alerts_mib']:.0f} MiB",
                f"MemorySize {row['memory_size_mb']} MB" if "memory_size_mb" in row else "",
                "",
                "",
            )
        )
        steady = functions.get(f"{function}_without_legacy_reads")
        if isinstance(steady, Mapping):
            rows.append(
                (
                    f"{function} DynamoDB calls, 1000 alerts, reading the previous key scheme",
                    str(_dynamodb_calls(row)),
                    f"LEGACY_STATE_READS=false {_dynamodb_calls(steady)}",
                    _ratio(_dynamodb_calls(row) / max(1, _dynamodb_calls(steady))),
                    "",
                )
            )
        calls = row["aws_calls_per_1000_alerts"] + row["kubernetes_calls_per_1000_alerts"]
        calls += sum(row.get("receiver_calls_per_1000_alerts", {}).values())
        rows.append(
            (
                f"{function} calls per 1000 alerts (AWS + Kubernetes + receiver)",
                f"{row['aws_calls_per_1000_alerts']} + {row['kubernetes_calls_per_1000_alerts']} + "
                f"{sum(row.get('receiver_calls_per_1000_alerts', {}).values())}",
                f"one per alert: {row['calls_if_one_per_alert']}",
                _ratio(calls / row["calls_if_one_per_alert"]),
                "",
            )
        )
    return rows


def _dynamodb_calls(row: Mapping[str, Any]) -> int:
    by_operation: Mapping[str, int] = row.get("aws_calls_1000_alerts_by_operation", {})
    return sum(count for operation, count in by_operation.items() if operation.startswith("dynamodb "))


def table(report: Mapping[str, Any]) -> str:
    """Markdown, so the README can hold it as printed."""
    machine = report.get("machine", {})
    header = ("figure", "measured", "baseline (same run)", "ratio", "goal")
    rows = [header, *_rows(report.get("figures", {}))]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [f"| {' | '.join(c.ljust(w) for c, w in zip(r, widths, strict=True))} |" for r in rows]
    lines.insert(1, f"|{'|'.join('-' * (w + 2) for w in widths)}|")
    return (
        f"{report.get('measured_at', '')}: {machine.get('cores')} cores, "
        f"Python {machine.get('python_version')}, load {machine.get('load_average_1min')}\n"
        + "\n".join(lines)
    )
