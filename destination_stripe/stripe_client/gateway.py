"""The Stripe gateway: the only module that imports `stripe`.

Every call goes through the rate limiter and the retry policy, and every SDK exception is turned
into one of our consequences in exactly one place, `ERROR_TABLE`:

    config      401/403: the key is wrong or lacks permission         -> ConfigurationError
    retry       429, 409, 502-504, network errors                     -> Retryable (same idempotency key)
    uncertain   a 500 on a write: Stripe stored it under the key      -> WriteOutcomeUnknown (caller reconciles)
    reject      400/402/404 other than "no such customer"             -> RowRejected
    fatal       anything we cannot interpret                          -> FatalError

A 500 is special because Stripe replays it to every retry with the same idempotency key: the writer
must find out whether the write happened and only then write again under a new key.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
import stripe
from stripe.oauth_error import OAuthError

from destination_stripe.errors import ConfigurationError, FatalError, RowRejected
from destination_stripe.stripe_client.ratelimit import RateLimiter
from destination_stripe.stripe_client.retry import Retryable, RetryPolicy

Consequence = Literal["config", "retry", "uncertain", "reject", "fatal"]

CREATE = "POST /v1/customers"
UPDATE = "POST /v1/customers/{id}"
DELETE = "DELETE /v1/customers/{id}"
LIST = "GET /v1/customers"
RETRIEVE = "GET /v1/customers/{id}"
SEARCH = "GET /v1/customers/search"
EVENTS = "GET /v1/events"
SEARCH_RATE = 20.0  # Stripe's own limit on search reads, below the general per-endpoint one

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


@dataclass
class CallStats:
    """Counters shared by all workers; the writer reports them."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    rate_limited: int = 0
    lock_timeouts: int = 0

    def count(self, endpoint: str) -> None:
        with self.lock:
            self.calls[endpoint] = self.calls.get(endpoint, 0) + 1

    @property
    def reads(self) -> int:
        return sum(n for ep, n in self.calls.items() if ep.startswith("GET"))

    @property
    def writes(self) -> int:
        return sum(n for ep, n in self.calls.items() if not ep.startswith("GET"))


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


class StripeGateway:
    """Customer calls with limits, retries and error translation. Thread-safe: one instance per sync."""

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str,
        limiter: RateLimiter,
        policy: RetryPolicy,
        timeout_s: float = 80.0,
        stats: CallStats | None = None,
    ) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=(10.0, timeout_s)),
        )
        self._limiter = limiter
        self._policy = policy
        self.stats = stats or CallStats()

    def limiter_description(self) -> str:
        return self._limiter.describe()

    # --- reads -------------------------------------------------------------------------------

    def retrieve(self, customer_id: str) -> dict[str, Any] | None:
        """The customer, or None when it does not exist or was deleted."""
        try:
            customer = self._call(RETRIEVE, lambda: self._client.v1.customers.retrieve(customer_id))
        except _NotFound:
            return None
        data = customer.to_dict()
        return None if data.get("deleted") else data

    def list_page(self, *, starting_after: str | None = None, email: str | None = None,
                  created_gte: int | None = None, created_lt: int | None = None,
                  limit: int = 100) -> tuple[list[dict[str, Any]], bool]:
        """One page of customers, newest first (strongly consistent, unlike search)."""
        params: dict[str, Any] = {"limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        if email is not None:
            params["email"] = email
        created = {k: v for k, v in (("gte", created_gte), ("lt", created_lt)) if v is not None}
        if created:
            params["created"] = created
        # The SDK's raw request (same transport, auth, errors) with the body parsed as plain JSON: building its
        # objects costs about 50 ms of CPU per page of 100, which bounds how fast an index can be read.
        response = self._call(LIST, lambda: self._client.raw_request("get", "/v1/customers", **params))
        page = orjson.loads(response.body)
        return page["data"], bool(page.get("has_more"))

    def iter_customers(self, **filters: Any) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            customers, has_more = self.list_page(starting_after=cursor, **filters)
            yield from customers
            if not has_more or not customers:
                return
            cursor = customers[-1]["id"]

    def search_emails(self, email: str, *, max_pages: int = 10) -> list[dict[str, Any]]:
        """Customers whose email search-matches `email` (case-insensitive, lagging writes by up to an hour).

        Only a hint: Stripe's "exact" string match means "these words in order", so callers re-check every hit,
        and never rely on a miss."""
        escaped = email.replace("\\", "\\\\").replace("'", "\\'")
        params: dict[str, Any] = {"query": f"email:'{escaped}'", "limit": 100}
        hits: list[dict[str, Any]] = []
        for _ in range(max_pages):
            page = self._call(SEARCH, lambda p=dict(params): self._client.v1.customers.search(p))  # type: ignore[misc]
            hits.extend(c.to_dict() for c in page.data)
            if not page.has_more or not page.next_page:
                break
            params["page"] = page.next_page
        return hits

    def find_created_by_key(self, idempotency_keys: set[str], *, since: int) -> dict[str, Any] | None:
        """The customer created by a request carrying one of `idempotency_keys`, from Stripe's own record of it.

        Stripe's `customer.created` event names the request's idempotency key: proof that a create answered 500
        was applied, for rows whose values cannot prove it (no identifier, write-only params, identical rows).
        Pages the events since `since`, newest first, stopping at the first match."""
        params: dict[str, Any] = {"type": "customer.created", "created": {"gte": since}, "limit": 100}
        while True:
            page = self._call(EVENTS, lambda p=dict(params): self._client.v1.events.list(p))  # type: ignore[misc]
            for event in (e.to_dict() for e in page.data):
                request = event.get("request") or {}
                if request.get("idempotency_key") in idempotency_keys:
                    customer: dict[str, Any] = event["data"]["object"]
                    return customer
            if not page.has_more or not page.data:
                return None
            params["starting_after"] = page.data[-1].id

    # --- writes ------------------------------------------------------------------------------

    def create(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        options = {"idempotency_key": idempotency_key}
        return self._call(CREATE, lambda: self._client.v1.customers.create(params, options), write=True).to_dict()  # type: ignore[arg-type]

    def update(self, customer_id: str, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any] | None:
        """The updated customer, or None when it no longer exists."""
        options = {"idempotency_key": idempotency_key}
        try:
            customer = self._call(
                UPDATE, lambda: self._client.v1.customers.update(customer_id, params, options), write=True  # type: ignore[arg-type]
            )
        except _NotFound:
            return None
        return customer.to_dict()

    def delete(self, customer_id: str, *, idempotency_key: str) -> bool:
        """True if deleted now, False if it was already gone."""
        options = {"idempotency_key": idempotency_key}
        try:
            self._call(DELETE, lambda: self._client.v1.customers.delete(customer_id, options=options), write=True)  # type: ignore[arg-type]
        except _NotFound:
            return False
        return True

    # --- the one place SDK exceptions are translated ----------------------------------------

    def _call(self, endpoint: str, request: Callable[[], Any], *, write: bool = False) -> Any:
        def attempt() -> Any:
            with self._limiter.request(endpoint):
                self.stats.count(endpoint)
                try:
                    result = request()
                except stripe.StripeError as error:
                    if error.http_status != 429:
                        self._limiter.on_accepted(endpoint)  # refused for another reason, not by the limiter
                    raise self._translate(error, endpoint, write=write) from None
                self._limiter.on_accepted(endpoint)
                return result

        return self._policy.call(attempt)

    def _translate(self, error: stripe.StripeError, endpoint: str, *, write: bool) -> Exception:
        code = _error_code(error)
        if error.http_status == 404 and code == "resource_missing":
            return _NotFound()
        consequence = consequence_of(error, write=write)
        if consequence == "retry":
            if error.http_status == 429:
                reason = _header(error, "Stripe-Rate-Limited-Reason")
                with self.stats.lock:
                    if code == "lock_timeout":
                        self.stats.lock_timeouts += 1
                    else:
                        self.stats.rate_limited += 1
                self._limiter.on_rate_limited(endpoint, reason)
            return Retryable(_describe(error, endpoint), cause=error)
        if consequence == "uncertain":
            return WriteOutcomeUnknown(error.request_id)
        if consequence == "config":
            what = "is not valid" if isinstance(error, stripe.AuthenticationError) else "lacks permission"
            return ConfigurationError(
                f"Stripe refused the API key: it {what} for {endpoint} ({_describe(error, endpoint)}). "
                "Use a secret key, or a restricted key with Customers write permission.",
            )
        if consequence == "reject":
            message = error.user_message or (error.error.message if error.error else None) or str(error)
            param = error.error.param if error.error is not None else None
            return RowRejected(message, code or "stripe_error", param=param, request_id=error.request_id)
        return FatalError(f"Unexpected answer from Stripe: {_describe(error, endpoint)}")


class _NotFound(Exception):
    """404 resource_missing: the customer does not exist (a normal outcome, not an error)."""


def check_key_can_write(gateway: StripeGateway) -> str | None:
    """Prove read and write permission on Customers without changing anything; a note for the log, or None.

    Listing one customer proves read access; updating an id that cannot exist answers 404 when the key may write
    (nothing changes) and 403 when it may not. Any other refusal of that update (a 400 from a server that rejects
    the empty update before looking the id up) still means the key was accepted: permission is checked first.
    """
    gateway.list_page(limit=1)
    try:
        gateway.update("cus_destinationstripecheck0", {"metadata": {}},
                       idempotency_key=f"destination-stripe-check-{uuid.uuid4()}")
    except RowRejected as refused:
        return (f"the write probe (an empty update of a customer that does not exist) was refused with "
                f"{refused.code}: {refused.reason}; the key itself was accepted")
    return None
