"""A sync's meter event calls, made with the SDK's async methods on an `AsyncLane`.

v1: `POST /v1/billing/meter_events` (one event) and `POST /v1/billing/meter_event_adjustments` (cancel one by
identifier). v2: a meter event session (a 15-minute token, renewed a minute early or at once when Stripe says it
expired) and the stream's batches of up to 100 events, sent with a client built on the session's token.

Every one of these calls is repeatable: Stripe keeps one event per identifier (v1 answers a repeat "An event already
exists with identifier", the stream drops it silently), a cancel names its event by identifier, and a spare session
costs nothing. So a 500 (applied or not), a lost answer or a reset is retried like a 503, by the gateway's one retry
policy (backoff, `max_retries`, `retry_max_seconds`; past them a TransientError, no STATE past the row), never a
rejection. They pass the gateway `write=False`: `write=True` turns a 500 into WriteOutcomeUnknown, which is for
writes that must be reconciled before they are repeated. Stripe stores a 500 under its idempotency key and replays
it to every retry with that key, so a v1 call takes a new key after a 5xx (the SDK makes one per v2 call anyway).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp
import stripe

from destination_stripe.errors import FatalError, RowRejected, TransientError
from destination_stripe.stripe_client.async_lane import AsyncLane
from destination_stripe.stripe_client.endpoints import ADJUSTMENTS, METER_EVENTS, SESSION, STREAM
from destination_stripe.stripe_client.gateway import StripeGateway

RENEW_BEFORE_S = 60.0
STRIPE_METER_EVENTS_BASE = "https://meter-events.stripe.com"
# Stripe's answer to a repeated v1 identifier, as public reports show it (no code: the message is all there is).
DUPLICATE_TEXT = "an event already exists with identifier"
# Stripe's answer to cancelling an event twice is not documented; a refusal saying so (either spelling) means the
# event is cancelled, which is all a cancel row asks: by an earlier run (the row is already true), or by this call's
# own attempt that had no clear answer. Any other wording after such an attempt is an outcome we cannot prove.
ALREADY_CANCELLED = ("already cancelled", "already canceled")


def rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Attempts:
    """One intended v1 write's attempts: the idempotency key of the next one, and whether an earlier one may have
    been applied (a 5xx, or no answer at all). After a 5xx the key changes, since Stripe replays a stored 500 to its
    key; after a lost answer it stays, so Stripe's replay is the real answer."""

    def __init__(self, base_key: str) -> None:
        self._base = base_key
        self._fresh = 0
        self.may_have_applied = False

    @property
    def key(self) -> str:
        return f"{self._base}-{self._fresh}"

    def failed(self, error: BaseException) -> None:
        if isinstance(error, stripe.APIError) and (error.http_status or 0) >= 500:
            self._fresh += 1
            self.may_have_applied = True
        elif isinstance(error, stripe.APIConnectionError | aiohttp.ClientError | TimeoutError):
            self.may_have_applied = True


def _unproven(what: str, refused: RowRejected) -> TransientError:
    return TransientError(f"{what} may already have been applied by an attempt that had no clear answer, and Stripe "
                          f"refused the attempt after it ({refused.code}: {refused.reason}), so what happened cannot "
                          "be proven. Nothing after the last STATE was lost; run the sync again to resume.")


class StreamSenders(Protocol):
    """Processes that send stream batches for this one (stream_processes.StreamProcesses): the calls only post."""

    @property
    def renewals(self) -> int: ...

    def post(self, events: list[dict[str, Any]]) -> concurrent.futures.Future[None]: ...

    def close(self, *, wait: bool = True) -> None: ...


class MeterEventCalls:
    """One account's meter event calls (coroutines: run them on `lane`)."""

    def __init__(self, gateway: StripeGateway, lane: AsyncLane, account: str | None,
                 processes: StreamSenders | None = None) -> None:
        self._gateway = gateway
        self._processes = processes  # stream batches sent by sender processes instead of this one
        self._lane = lane
        self._options: dict[str, Any] = {"stripe_account": account} if account else {}
        billing = lane.client.v1.billing
        self._events = billing.meter_events
        self._adjustments = billing.meter_event_adjustments
        self._session_lock: asyncio.Lock | None = None  # made on the lane's loop, at first use
        self._session_client: stripe.StripeClient | None = None
        self._expires = 0.0
        self._renewals = 0

    @property
    def renewals(self) -> int:
        return self._processes.renewals if self._processes is not None else self._renewals

    def close(self, *, wait: bool) -> None:
        if self._processes is not None:
            self._processes.close(wait=wait)

    async def send(self, params: dict[str, Any], idempotency_key: str) -> bool:
        """One event. True when this call put it in Stripe; False when Stripe already held its identifier (sent by an
        earlier run). RowRejected for Stripe's refusal; TransientError past the retry budget."""
        attempts = _Attempts(idempotency_key)
        try:
            await self._repeat(METER_EVENTS, attempts, lambda key: self._events.create_async(  # type: ignore[arg-type]
                params, {"idempotency_key": key, **self._options}))
        except RowRejected as refused:
            if DUPLICATE_TEXT in refused.reason.lower():
                return attempts.may_have_applied  # after a 500 or a lost answer the copy Stripe holds is ours
            if attempts.may_have_applied:
                raise _unproven("The meter event", refused) from None
            raise
        return True

    async def cancel(self, event_name: str, identifier: str, idempotency_key: str) -> bool:
        """True when this call cancelled the event; False when it was already cancelled (by an earlier run: a re-run
        of a soft_delete row changes nothing). RowRejected for another refusal."""
        request = {"event_name": event_name, "type": "cancel", "cancel": {"identifier": identifier}}
        attempts = _Attempts(idempotency_key)
        try:
            await self._repeat(ADJUSTMENTS, attempts, lambda key: self._adjustments.create_async(  # type: ignore[arg-type]
                request, {"idempotency_key": key, **self._options}))
        except RowRejected as refused:
            if any(text in refused.reason.lower() for text in ALREADY_CANCELLED):
                return attempts.may_have_applied  # our attempt without a clear answer did it, or an earlier run
            if attempts.may_have_applied:
                raise _unproven(f"The cancellation of meter event {identifier}", refused) from None
            raise
        return True

    async def _repeat(self, endpoint: str, attempts: _Attempts,
                      request: Callable[[str], Awaitable[Any]]) -> Any:
        """`request(idempotency_key)` through the gateway's limiter and retry policy, a 500 retried like a 503."""

        async def attempt() -> Any:
            try:
                return await request(attempts.key)
            except BaseException as error:  # noted, not handled: the gateway translates it
                attempts.failed(error)
                raise

        return await self._gateway.call_async(endpoint, attempt, write=False)  # repeatable: see the module docstring

    async def post_stream(self, events: list[dict[str, Any]]) -> None:
        """One batch (at most 100 events) on the current session; a session Stripe calls expired is renewed."""
        if self._processes is not None:
            await asyncio.wrap_future(self._processes.post(events))
            return
        client = await self.session()
        for _ in range(3):
            service = client.v2.billing.meter_event_stream

            async def request(service: Any = service) -> bool:
                try:
                    await service.create_async({"events": events})
                except stripe.TemporarySessionExpiredError:
                    return False
                return True

            if await self._gateway.call_async(STREAM, request, write=False):  # repeatable (module docstring)
                return
            client = await self.session(expired=client)
        raise FatalError("Stripe refused three fresh meter event sessions in a row")

    async def session(self, *, expired: stripe.StripeClient | None = None) -> stripe.StripeClient:
        if self._session_lock is None:
            self._session_lock = asyncio.Lock()
        async with self._session_lock:
            stale = self._session_client is None or time.time() > self._expires - RENEW_BEFORE_S
            if stale or (expired is not None and expired is self._session_client):
                service = self._lane.client.v2.billing.meter_event_session
                session = await self._gateway.call_async(SESSION, lambda: service.create_async(options=self._options),  # type: ignore[arg-type]
                                                         write=False)  # repeatable (module docstring)
                self._expires = datetime.fromisoformat(str(session.expires_at).replace("Z", "+00:00")).timestamp()
                self._session_client = self._lane.client_for(session.authentication_token)
                self._renewals += 1
            assert self._session_client is not None
            return self._session_client
