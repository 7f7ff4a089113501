"""Reading Alertmanager's default SNS subject."""

from __future__ import annotations

import pytest

from netguard.alerts import Status, parse_subject
from netguard.alerts.subject import alertname_in, instance_in


@pytest.mark.parametrize(
    ("subject", "status", "count", "groups", "others", "cut"),
    [
        (
            "[FIRING:2] LinkLocalAllowanceExceeded prod (eth0 ethtool)",
            Status.FIRING,
            2,
            ("LinkLocalAllowanceExceeded", "prod"),
            ("eth0", "ethtool"),
            False,
        ),
        (
            "[RESOLVED] LinkLocalAllowanceExceeded ",
            Status.RESOLVED,
            None,
            ("LinkLocalAllowanceExceeded",),
            (),
            False,
        ),
        (
            "[FIRING:1]  (PPSAllowanceExceeded 10.0.0.1:9100)",
            Status.FIRING,
            1,
            (),
            ("PPSAllowanceExceeded", "10.0.0.1:9100"),
            False,
        ),
        ("[FIRING:12]", Status.FIRING, 12, (), (), False),
        ("[FIRING:3] A " + "(" + "x" * 120, Status.FIRING, 3, ("A",), ("x" * 120,), True),
        ("ALARM: something else", None, None, (), (), False),
        ("", None, None, (), (), False),
    ],
)
def test_parse_subject(  # noqa: PLR0917 -- one parameter per table column
    subject: str,
    status: Status | None,
    count: int | None,
    groups: tuple[str, ...],
    others: tuple[str, ...],
    cut: bool,
) -> None:
    """Status, firing count, group values and other common values come out of the default form."""
    info = parse_subject(subject)
    assert (info.status, info.firing_count, info.group_values, info.other_values, info.cut) == (
        status,
        count,
        groups,
        others,
        cut,
    )


def test_subject_cut_at_100_characters_keeps_the_start() -> None:
    """AMP cuts at 100 characters; everything before the cut is still read and `cut` is set."""
    full = (
        "[FIRING:4] LinkLocalAllowanceExceeded prod-eu-west-1 "
        "(eth0 10.0.1.23:9100 ethtool-exporter linklocal_allowance_exceeded critical)"
    )
    info = parse_subject(full[:100])
    assert info.status is Status.FIRING
    assert info.firing_count == 4
    assert info.cut
    assert info.group_values == ("LinkLocalAllowanceExceeded", "prod-eu-west-1")
    assert instance_in(info.values, cut=True) == "10.0.1.23:9100"


@pytest.mark.parametrize(
    ("values", "cut", "expected"),
    [
        (("LinkLocal", "10.0.1.23:9100"), False, "10.0.1.23:9100"),
        (("[fd00::1]:9100",), False, "[fd00::1]:9100"),
        (("ip-10-0-1-23.ec2.internal:9100",), False, "ip-10-0-1-23.ec2.internal:9100"),
        (("10.0.1.23:91",), True, ""),
        (("eth0", "prod"), False, ""),
    ],
)
def test_instance_in(values: tuple[str, ...], cut: bool, expected: str) -> None:
    """An `IP:port` value is found; a possibly cut last value is not trusted."""
    assert instance_in(values, cut=cut) == expected


def test_alertname_in_prefers_a_capitalised_identifier() -> None:
    """`prod` and `eth0` are not alert names; `LinkLocalAllowanceExceeded` is."""
    assert alertname_in(("prod", "eth0", "LinkLocalAllowanceExceeded")) == "LinkLocalAllowanceExceeded"
    assert alertname_in(("prod", "10.0.0.1:9100")) == ""
