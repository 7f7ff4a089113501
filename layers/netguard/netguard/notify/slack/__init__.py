"""Slack: Block Kit formatting (pure), Web API and webhook senders, and the state-backed notifier."""

from netguard.notify.slack.api import SlackApi, SlackWebhook, check_api_answer
from netguard.notify.slack.blocks import (
    alert_message,
    remediation_message,
    resolved_reply,
    silence_url,
    unparseable_message,
)
from netguard.notify.slack.notifier import SlackNotifier, slack_permalink

__all__ = [
    "SlackApi",
    "SlackNotifier",
    "SlackWebhook",
    "alert_message",
    "check_api_answer",
    "remediation_message",
    "resolved_reply",
    "silence_url",
    "slack_permalink",
    "unparseable_message",
]
