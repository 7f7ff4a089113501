"""Block Kit rendered as HTML (the report) and as text (`netguard local inspect`)."""

from __future__ import annotations

import pytest

from netguard_cli.localstack.blockkit import message_to_html, message_to_text, mrkdwn_to_html
from tests.support.localruns import slack_post


@pytest.mark.parametrize(
    ("mrkdwn", "expected"),
    [
        ("*bold* and _italic_ and ~gone~", "<b>bold</b> and <i>italic</i> and <s>gone</s>"),
        ("linklocal_allowance_exceeded stays", "linklocal_allowance_exceeded stays"),
        ("`a_b*c*`", "<code>a_b*c*</code>"),
        ("<http://x.test/a?b=1&amp;c=2|the graph>", '<a href="http://x.test/a?b=1&amp;c=2">the graph</a>'),
        ("<javascript:alert(1)|click>", "click"),
        ("a &lt;b&gt; &amp; c", "a &lt;b&gt; &amp; c"),
        ("line one\nline two", "line one<br>line two"),
        ("```x <y>```", "<pre>x &lt;y&gt;</pre>"),
        (":red_circle: firing", "🔴 firing"),
    ],
)
def test_mrkdwn_to_html(mrkdwn: str, expected: str) -> None:
    assert mrkdwn_to_html(mrkdwn) == expected


def test_message_html_has_every_block_type() -> None:
    """Header, section text and fields, divider, actions and context, in the attachment's colour."""
    page = message_to_html(slack_post())
    assert 'style="border-left-color:#E01E5A"' in page
    for css in ("bk-header", "bk-text", "bk-fields", "bk-divider", "bk-actions", "bk-context"):
        assert f'class="{css}"' in page


def test_message_text_reads_like_the_message() -> None:
    text = message_to_text(slack_post())
    assert text.splitlines()[0] == "# 🔴 FIRING: LinkLocalAllowanceExceeded"
    assert "Cluster: netguard-local" in text
    assert "[Graph] http://127.0.0.1:9090/graph" in text
    assert "  · netguard · group" in text


def test_message_without_blocks_shows_its_text() -> None:
    assert message_to_text({"text": "<http://a.test|a> b"}) == "a (http://a.test) b"
    assert "unknown" not in message_to_html({"text": "plain"})
    assert "[image block]" in message_to_html({"blocks": [{"type": "image"}]})
