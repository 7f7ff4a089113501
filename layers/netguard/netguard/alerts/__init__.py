"""Alert intake: SNS messages in every format AMP's alert manager sends, as one normalized model.

Names are imported on first use (PEP 562): a notifier that reads only `models` does not load (and
compile the patterns of) every parser at cold start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "Alert": "netguard.alerts.models",
    "AlertGroup": "netguard.alerts.models",
    "AllowanceKind": "netguard.alerts.models",
    "FormatError": "netguard.alerts.errors",
    "IntakeError": "netguard.alerts.errors",
    "NotAnSnsEvent": "netguard.alerts.errors",
    "ParseOutcome": "netguard.alerts.models",
    "SnsMessage": "netguard.alerts.models",
    "SourceFormat": "netguard.alerts.models",
    "Status": "netguard.alerts.models",
    "SubjectInfo": "netguard.alerts.models",
    "Unparseable": "netguard.alerts.models",
    "alert_to_dict": "netguard.alerts.serialize",
    "allowance_kind": "netguard.alerts.allowance",
    "fingerprint": "netguard.alerts.fingerprint",
    "group_from_dict": "netguard.alerts.serialize",
    "group_identity": "netguard.alerts.fingerprint",
    "group_to_dict": "netguard.alerts.serialize",
    "is_truncated": "netguard.alerts.intake",
    "load_sns_file": "netguard.alerts.sns",
    "parse_message": "netguard.alerts.intake",
    "parse_subject": "netguard.alerts.subject",
    "sns_messages_from_event": "netguard.alerts.sns",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'netguard.alerts' has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


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
