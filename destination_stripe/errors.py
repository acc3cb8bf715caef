"""Errors, named by what happens next.

    ConnectorError                 the sync stops; mapped once to an Airbyte failure type
    ├── ConfigurationError         the user must fix the config or the key   -> config_error
    ├── TransientError             Stripe kept failing past the retry budget -> transient_error
    └── FatalError                 a bug or an answer we cannot interpret    -> system_error
    RowRejected                    one row cannot be written; it is reported and the sync goes on

Retryable conditions never surface as exceptions of their own outside the gateway: the retry
policy consumes them, and once its budget is spent they become a TransientError.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FailureType(StrEnum):
    """Airbyte's TRACE failure types (the protocol's values; the CDK's enum is not imported, as it costs a
    second of start-up for every command)."""

    config_error = "config_error"
    system_error = "system_error"
    transient_error = "transient_error"


class ConnectorError(Exception):
    """A failure that ends the sync. `message` is for people and must never contain a secret."""

    failure_type: FailureType = FailureType.system_error

    def __init__(self, message: str, *, internal_message: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.internal_message = internal_message or message


class ConfigurationError(ConnectorError):
    failure_type = FailureType.config_error


class TransientError(ConnectorError):
    failure_type = FailureType.transient_error


class FatalError(ConnectorError):
    failure_type = FailureType.system_error


@dataclass
class RowRejected(Exception):
    """A row that cannot be written: its reason, and Stripe's code and request id when Stripe refused it."""

    reason: str
    code: str
    param: str | None = None
    request_id: str | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"
