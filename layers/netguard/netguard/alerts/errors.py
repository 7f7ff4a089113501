"""Errors of the alert intake: raised only for input that is not an SNS notification at all.

A message that arrives but cannot be understood is not an error: `parse_message` returns
`Unparseable` for it, so nothing is dropped silently.
"""

from __future__ import annotations

from netguard.errors import PermanentError


class IntakeError(PermanentError):
    """The input is not something the intake reads (retrying will not change that)."""


class NotAnSnsEvent(IntakeError):
    """A Lambda event without SNS records (e.g. an S3 or SQS event sent to the wrong function)."""


class FormatError(IntakeError):
    """A parser recognised its format but the message breaks it; `parse_message` turns this into an
    `Unparseable` with this message as the reason."""
