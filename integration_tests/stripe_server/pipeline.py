"""One API request, checked in Stripe's order.

1. route (404 for unknown URLs), then count the call;
2. authentication (401): an API key, or for the v2 meter event stream a meter event session token, which also
   fixes the scope (step 3 is skipped for it);
3. the Connect account (``Stripe-Account`` / ``Stripe-Context``): 403 ``account_invalid`` for an account the key
   cannot use (see :mod:`.accounts`); from here on everything acts on the request's scope (mode and account);
4. rate limits (429 with ``Stripe-Rate-Limited-Reason``, answered at once, nothing stored), the connected account's
   own buckets or the platform's (``connect_rate_limits``, see :mod:`.limits`);
5. pre-execution faults (see :mod:`.faults`);
6. restricted-key permissions (403);
7. parameter validation (400, nothing stored); v2 endpoints take JSON, which their handlers validate (still before
   anything is stored) and answer errors in v2's body shape;
8. idempotency, keys scoped to the account: replay, mismatch (400 ``idempotency_error``), in use (409), or reserve;
9. the simulated latency, slept *after* the reservation so concurrent duplicates really meet the 409; a v1 meter
   event holds its (customer, meter) slot over the latency and execution (409 for a second concurrent call);
10. execution, with the execution faults; the answer is stored under the key (404s and injected 500s included).
    A write that really happens (a 200, an injected 500 ``applied: true``, a ``lost_response``) records its
    events with this request's ``Request-Id`` and ``Idempotency-Key``; a replay executes nothing.

Every answer except a 429 waits for the simulated latency once; locks are never held while sleeping.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from typing import Any

from .accounts import Scope
from .auth import ACCOUNT_ID, check_permission
from .errors import API_ERROR, ApiError, unknown_param, v2_body
from .events import RequestOrigin
from .faults import DURING_EXECUTION, PRE_EXECUTION, FaultRule
from .messages import API_VERSION, Outcome, Request
from .meter_events import one_per_customer_and_meter
from .params import decode, fingerprint, parse_pairs
from .rng import random_id
from .routes import Route, execute, match_route, unrecognized_url
from .state import ServerState
from .validation import validate

_LOG = logging.getLogger(__name__)


class _Context:
    """Per-request facts the answer needs, and whether the latency was already spent."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.request_id = random_id("req_")
        self.livemode = False
        self.account = ACCOUNT_ID
        self.slept = False
        self.v2 = False

    def sleep(self, state: ServerState) -> None:
        if not self.slept:
            self.slept = True
            delay = state.latency_s()
            if delay > 0:
                time.sleep(delay)

    @property
    def idempotency_key(self) -> str | None:
        """The key sent, for the methods where Stripe honours one (``None`` for GETs and when absent)."""
        if self.request.method not in ("POST", "DELETE"):
            return None
        return self.request.headers.get("idempotency-key") or None

    def origin(self) -> RequestOrigin:
        """What an event recorded by this request shows under ``request``."""
        return RequestOrigin(self.request_id, self.idempotency_key)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {
            "Request-Id": self.request_id,
            "Stripe-Version": self.request.headers.get("stripe-version") or API_VERSION,
            "Cache-Control": "no-cache, no-store",
        }
        key = self.idempotency_key
        if key:
            headers["Idempotency-Key"] = key
        headers.update(extra or {})
        return headers

    def error(self, err: ApiError) -> Outcome:
        body = v2_body(err) if self.v2 else err.body(self.request_id, self.livemode)
        return Outcome(err.status, body, self.headers(err.headers))


def _rate_limited(reason: str) -> ApiError:
    return ApiError(
        429,
        "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.",
        code="rate_limit",
        headers={"Stripe-Rate-Limited-Reason": reason},
        fast=True,
    )


def _server_error() -> ApiError:
    return ApiError(
        500,
        "Something went wrong on Stripe's end. (This local server injected the error.)",
        type_=API_ERROR,
        headers={"Stripe-Should-Retry": "false"},
    )


class ApiPipeline:
    """Turns a :class:`Request` into an :class:`Outcome` against one :class:`ServerState`."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def handle(self, request: Request) -> Outcome:
        stats = self.state.stats
        stats.request_started()
        ctx = _Context(request)
        outcome: Outcome | None = None
        try:
            try:
                outcome = self._run(ctx)
            except ApiError as err:
                if not err.fast:
                    ctx.sleep(self.state)
                outcome = ctx.error(err)
            except Exception:
                _LOG.exception("stripe_server: unexpected failure in %s %s", request.method, request.path)
                outcome = ctx.error(ApiError(500, "An unexpected error occurred.", type_=API_ERROR))
            return outcome
        finally:
            stats.request_finished(None if outcome is None or outcome.drop else outcome.status)

    def _run(self, ctx: _Context) -> Outcome:
        state, request = self.state, ctx.request
        route = match_route(request.method, request.path)
        if route is None:
            raise unrecognized_url(request.method, request.path)
        state.stats.call(route.endpoint)
        ctx.v2 = route.api == "v2"
        key = None
        if route.session_auth:  # a meter event session token names the scope itself
            scope = state.meter_sessions.authenticate(request.headers.get("authorization"))
            ctx.livemode = scope.livemode
        else:
            key = state.keys.authenticate(request.headers.get("authorization"))
            ctx.livemode = key.livemode
            scope = state.accounts.resolve(key, request.headers)
        ctx.account = scope.account or ACCOUNT_ID
        if scope.account is not None:
            state.stats.account_call(scope.account)
        if state.settings.enforce_rate_limits:
            reason = state.limiter.acquire(scope, route.endpoint)
            if reason is not None:
                state.stats.rate_limited(reason)
                raise _rate_limited(reason)
        fault = state.faults.draw(route.endpoint, PRE_EXECUTION, ctx.account)
        if fault is not None:
            return self._pre_execution_fault(fault, ctx)
        if key is not None:
            check_permission(key, route.write, route.resource, ctx.account)
        params, request_print = self._params(route, request)
        idem_key = ctx.idempotency_key
        if idem_key:
            stored = state.idempotency.begin(scope, idem_key, request_print)
            if stored is not None:
                state.stats.replay()
                ctx.sleep(state)
                extra = {**stored.headers, "Idempotent-Replayed": "true", "Original-Request": stored.request_id}
                return Outcome(stored.status, stored.body, ctx.headers(extra))
        guard = (
            one_per_customer_and_meter(state, scope, params)
            if route.one_per_customer_and_meter
            else contextlib.nullcontext()
        )
        try:
            with guard:
                ctx.sleep(state)
                sent, answer = self._execute(ctx, scope, route, params)
        except BaseException:
            if idem_key:
                state.idempotency.release(scope, idem_key)
            raise
        if idem_key:
            state.idempotency.complete(
                scope, idem_key, answer.status, _as_dict(answer.body), _storable(answer.headers), ctx.request_id
            )
        return sent

    @staticmethod
    def _params(route: Route, request: Request) -> tuple[Any, str]:
        """The request's parameters (v1: form-decoded and validated against the route's schema; v2: the JSON body,
        which the handler validates) and its idempotency fingerprint."""
        if route.api == "v2":
            try:
                params = json.loads(request.body or b"{}")
            except ValueError:
                raise ApiError(400, "The request body is not valid JSON.") from None
            digest = hashlib.sha256(b"%s %s " % (request.method.encode(), request.path.encode()) + request.body)
            return params, digest.hexdigest()
        pairs = parse_pairs(request.query)
        if request.method == "POST":
            pairs += parse_pairs(request.body.decode("utf-8", "replace"))
        assert route.schema is not None
        return validate(decode(pairs), route.schema), fingerprint(request.method, request.path, pairs)

    def _pre_execution_fault(self, fault: FaultRule, ctx: _Context) -> Outcome:
        stats = self.state.stats
        stats.fault(fault.kind)
        if fault.kind == "rate_limit":
            stats.rate_limited(fault.reason)
            raise _rate_limited(fault.reason)
        if fault.kind == "lock_timeout":
            stats.lock_timeout()
            raise ApiError(
                429,
                "This object cannot be accessed right now because another API request or Stripe process is "
                "currently accessing it. If you see this error intermittently, retry the request. If you see this "
                "error frequently and are making multiple concurrent requests to a single object, make your "
                "requests serially or at a lower rate. See https://stripe.com/docs/rate-limits for more details.",
                code="lock_timeout",
                fast=True,
            )
        if fault.kind == "error_503":
            raise ApiError(503, "Stripe is temporarily unavailable. Please try again later.", type_=API_ERROR)
        if fault.kind == "refused_400":
            # What a Stripe-compatible server answers to a parameter it does not implement (a fake without the
            # `created` filter, say): the request is refused before it runs, never stored.
            raise unknown_param("created")
        if fault.kind == "not_found":  # a Stripe-compatible server that does not serve this endpoint at all
            raise unrecognized_url(ctx.request.method, ctx.request.path)
        if fault.kind == "idempotency_in_use":
            raise ApiError(
                409,
                "There is currently another in-progress request using this Idempotent Key (that probably means you "
                "submitted twice, and the other request is still going through). Please try again later.",
                code="idempotency_key_in_use",
            )
        ctx.sleep(self.state)
        return Outcome(0, drop="reset")

    def _execute(self, ctx: _Context, scope: Scope, route: Route, params: Any) -> tuple[Outcome, Outcome]:
        """Run the operation with the execution faults: (what to send, what to store under the key).

        404s become stored answers; 400s (checks only the store can make) propagate and the key is released."""
        state = self.state
        fault = state.faults.draw(route.endpoint, DURING_EXECUTION, ctx.account)
        if fault is not None and fault.kind == "error_500":
            state.stats.fault("error_500")
            if fault.applied:
                with contextlib.suppress(ApiError):  # the event, if any, is recorded: the write happened
                    execute(state, scope, route, params, ctx.origin())
            failed = ctx.error(_server_error())
            return failed, failed
        try:
            body = execute(state, scope, route, params, ctx.origin())
            outcome = Outcome(200, body, ctx.headers())
        except ApiError as err:
            if err.status == 400:
                if fault is not None:  # nothing was written, so nothing could be lost: the fault stays due
                    state.faults.give_back(fault)
                raise
            outcome = ctx.error(err)
        if fault is not None:  # lost_response: the write happened and its answer is stored, but never sent
            state.stats.fault("lost_response")
            return Outcome(0, drop="close"), outcome
        return outcome, outcome


def _as_dict(body: Any) -> dict[str, Any]:
    return body if isinstance(body, dict) else {}


def _storable(headers: dict[str, str]) -> dict[str, str]:
    """Headers worth replaying: not the per-request ones the replay sets afresh."""
    return {k: v for k, v in headers.items() if k not in ("Request-Id", "Idempotency-Key", "Stripe-Version")}
