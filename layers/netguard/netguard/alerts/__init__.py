"""Alert intake: SNS messages in every format AMP's alert manager sends, as one normalized model."""

from netguard.alerts.allowance import allowance_kind
from netguard.alerts.errors import FormatError, IntakeError, NotAnSnsEvent
from netguard.alerts.fingerprint import fingerprint, group_identity
from netguard.alerts.intake import is_truncated, parse_message
from netguard.alerts.models import (
    Alert,
    AlertGroup,
    AllowanceKind,
    ParseOutcome,
    SnsMessage,
    SourceFormat,
    Status,
    SubjectInfo,
    Unparseable,
)
from netguard.alerts.serialize import alert_to_dict, group_from_dict, group_to_dict
from netguard.alerts.sns import load_sns_file, sns_messages_from_event
from netguard.alerts.subject import parse_subject

__all__ = [
    "Alert",
    "AlertGroup",
    "AllowanceKind",
    "FormatError",
    "IntakeError",
    "NotAnSnsEvent",
    "ParseOutcome",
    "SnsMessage",
    "SourceFormat",
    "Status",
    "SubjectInfo",
    "Unparseable",
    "alert_to_dict",
    "allowance_kind",
    "fingerprint",
    "group_from_dict",
    "group_identity",
    "group_to_dict",
    "is_truncated",
    "load_sns_file",
    "parse_message",
    "parse_subject",
    "sns_messages_from_event",
]
