"""Every Stripe exception class has a consequence, and statuses refine it the way stripe.md says."""

from __future__ import annotations

import stripe

from destination_stripe.stripe_client.errors import ERROR_TABLE, consequence_of


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found.add(sub)
        found |= _all_subclasses(sub)
    return found


def test_every_stripe_error_class_is_classified_on_purpose():
    # OAuth errors are defined in a module the SDK imports lazily: load it so the walk sees them.
    import stripe.oauth_error

    forgotten = []
    for cls in _all_subclasses(stripe.StripeError):
        direct = next(c for c in cls.__mro__ if c in ERROR_TABLE)
        if direct is stripe.StripeError:
            forgotten.append(f"{cls.__module__}.{cls.__name__}")
    assert forgotten == []


def _error(cls: type[stripe.StripeError], status: int | None, code: str | None = None, headers=None):
    body = {"error": {"type": "api_error", "code": code, "message": "m"}}
    if issubclass(cls, stripe.StripeErrorWithParamCode):
        return cls("m", None, code=code, http_status=status, json_body=body, headers=headers or {})
    return cls("m", http_status=status, json_body=body, headers=headers or {}, code=code)


def test_a_500_on_a_write_is_uncertain_but_on_a_read_is_retried():
    error = _error(stripe.APIError, 500)
    assert consequence_of(error, write=True) == "uncertain"
    assert consequence_of(error, write=False) == "retry"


def test_503_409_429_and_network_errors_are_retried():
    assert consequence_of(_error(stripe.APIError, 503), write=True) == "retry"
    assert consequence_of(_error(stripe.APIError, 409, "idempotency_key_in_use"), write=True) == "retry"
    assert consequence_of(_error(stripe.RateLimitError, 429, "rate_limit"), write=True) == "retry"
    assert consequence_of(_error(stripe.RateLimitError, 429, "lock_timeout"), write=True) == "retry"
    assert consequence_of(stripe.APIConnectionError("reset"), write=True) == "retry"


def test_auth_and_permission_errors_are_configuration_problems():
    assert consequence_of(_error(stripe.AuthenticationError, 401), write=False) == "config"
    assert consequence_of(_error(stripe.PermissionError, 403), write=True) == "config"


def test_invalid_requests_reject_the_row():
    assert consequence_of(_error(stripe.InvalidRequestError, 400, "email_invalid"), write=True) == "reject"


def test_should_retry_false_stops_a_retry_with_the_same_key():
    error = _error(stripe.APIError, 503, headers={"Stripe-Should-Retry": "false"})
    assert consequence_of(error, write=True) == "uncertain"
    assert consequence_of(error, write=False) == "retry"  # a read is safe to repeat


def test_idempotency_mismatch_is_our_bug():
    assert consequence_of(_error(stripe.IdempotencyError, 400, "idempotency_error"), write=True) == "fatal"
