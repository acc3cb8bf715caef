"""The one table from stripe-python's exceptions to what happens next, and the translation of each SDK error.

    config      401/403: the key is wrong or lacks permission         -> ConfigurationError
    retry       429, 409, 502-504, network errors                     -> Retryable (same idempotency key)
    uncertain   a 500 on a write: Stripe stored it under the key      -> WriteOutcomeUnknown (caller reconciles)
    reject      400/402/404 other than "no such object"               -> RowRejected
    fatal       anything we cannot interpret                          -> FatalError
    (404 resource_missing is NotFound: a normal answer, the object does not exist)

A 500 is special because Stripe replays it to every retry with the same idempotency key: the writer must find out
whether the write happened and only then write again under a new key. `unit_tests/test_error_table.py` walks every
subclass of `stripe.StripeError` and fails on one this table forgets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import stripe
from stripe.oauth_error import OAuthError

from destination_stripe.errors import ConfigurationError, FatalError, RowRejected
from destination_stripe.stripe_client.retry import Retryable

Consequence = Literal["config", "retry", "uncertain", "reject", "fatal"]

ERROR_TABLE: dict[type[stripe.StripeError], Consequence] = {
    stripe.AuthenticationError: "config",
    stripe.PermissionError: "config",
    stripe.RateLimitError: "retry",
    stripe.APIConnectionError: "retry",
    stripe.APIError: "retry",  # refined by status in `consequence_of`
    stripe.IdempotencyError: "fatal",  # our keys are unique per intended write: a mismatch is our bug
    stripe.InvalidRequestError: "reject",
    stripe.CardError: "reject",
    stripe.SignatureVerificationError: "fatal",  # webhooks only; never raised by the calls we make
    stripe.StripeErrorWithParamCode: "reject",
    OAuthError: "fatal",  # Connect OAuth only; never raised by the calls we make
    stripe.StripeError: "fatal",
}
# Errors of Stripe's v2 API: the Customers v1 endpoints never raise them, so meeting one is unexpected.
_V2_ERRORS = (
    "AlreadyCanceledError", "BlockedByStripeError", "CannotProceedError", "CapabilityNotEnabledError",
    "ControlledByAlternateResourceError", "FeatureNotEnabledError", "FinancialAccountNotOpenError",
    "FxQuoteNeedsRefreshError", "InsufficientFundsError", "InvalidPaymentMethodError", "InvalidPayoutMethodError",
    "InvalidVaultedCredentialError", "NotCancelableError", "QuotaExceededError", "RecipientNotNotifiableError",
    "TemporarySessionExpiredError", "VerificationAttemptFailedError", "VerificationExpiredError",
    "VerificationNotInitiatedError",
)
ERROR_TABLE.update({getattr(stripe, name): "fatal" for name in _V2_ERRORS if hasattr(stripe, name)})


def consequence_of(error: stripe.StripeError, *, write: bool) -> Consequence:
    """What to do about an SDK exception: the nearest class in ERROR_TABLE, refined by HTTP status."""
    consequence: Consequence = "fatal"
    for cls in type(error).__mro__:
        if cls in ERROR_TABLE:
            consequence = ERROR_TABLE[cls]  # type: ignore[index]
            break
    status = error.http_status
    if isinstance(error, stripe.APIError) and status is not None:
        if status == 500 and write:
            return "uncertain"
        if status != 409 and status < 500:
            return "fatal"
    if _should_retry_header(error) == "false" and consequence == "retry" and status is not None:
        # Stripe says the same request will fail again. A read may still be repeated safely; a write
        # may have happened, so the writer must find out and then write under a new key.
        if status >= 500:
            return "uncertain" if write else "retry"
        return "reject"
    return consequence


@dataclass
class WriteOutcomeUnknown(Exception):
    """Stripe answered 500 to a write: it may or may not have been applied."""

    request_id: str | None


class NotFound(Exception):
    """404 resource_missing: the object does not exist (a normal outcome, not an error)."""


def _header(error: stripe.StripeError, name: str) -> str | None:
    headers = error.headers or {}
    return headers.get(name) or headers.get(name.lower())


def _should_retry_header(error: stripe.StripeError) -> str | None:
    value = _header(error, "Stripe-Should-Retry")
    return value.lower() if value else None


def _error_code(error: stripe.StripeError) -> str | None:
    return error.code or (error.error.code if error.error is not None else None)


def _describe(error: stripe.StripeError, endpoint: str) -> str:
    status = error.http_status
    code = _error_code(error)
    if isinstance(error, stripe.APIConnectionError):
        return f"network error on {endpoint} ({type(error).__name__})"
    detail = f"HTTP {status}" + (f" {code}" if code else "")
    if error.request_id:
        detail += f", request {error.request_id}"
    return f"{detail} on {endpoint}"


def rate_limit_reason(error: stripe.StripeError) -> str | None:
    """Which budget a 429 exceeded (`Stripe-Rate-Limited-Reason`); None for a lock timeout."""
    return _header(error, "Stripe-Rate-Limited-Reason")


def is_lock_timeout(error: stripe.StripeError) -> bool:
    return _error_code(error) == "lock_timeout"


_KEY_IN_TEXT = re.compile(r"\b[sr]k_(?:test|live)_[*A-Za-z0-9]+")


def _message(error: stripe.StripeError) -> str:
    """Stripe's message for the user, without the (masked) key some messages quote."""
    text = error.user_message or (error.error.message if error.error else None) or str(error)
    return _KEY_IN_TEXT.sub("[the API key]", text)


def translate(error: stripe.StripeError, endpoint: str, *, write: bool) -> Exception:
    """The exception the rest of the connector sees for an SDK error on `endpoint`."""
    code = _error_code(error)
    if error.http_status == 404 and code == "resource_missing":
        return NotFound()
    if code == "account_invalid":  # Connect: this account only (disconnected, unknown); other accounts go on
        return RowRejected(_message(error), code, request_id=error.request_id)
    consequence = consequence_of(error, write=write)
    if consequence == "retry":
        return Retryable(_describe(error, endpoint), cause=error)
    if consequence == "uncertain":
        return WriteOutcomeUnknown(error.request_id)
    if consequence == "config":
        what = "is not valid" if isinstance(error, stripe.AuthenticationError) else "lacks permission"
        return ConfigurationError(
            f"Stripe refused the API key: it {what} for {endpoint} ({_describe(error, endpoint)}). "
            "Use a secret key, or a restricted key with read and write permission on the objects synced.",
        )
    if consequence == "reject":
        param = error.error.param if error.error is not None else None
        return RowRejected(_message(error), code or "stripe_error", param=param, request_id=error.request_id)
    return FatalError(f"Unexpected answer from Stripe: {_describe(error, endpoint)}")
