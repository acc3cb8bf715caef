"""A sync's meter event calls, made with the SDK's async methods on an `AsyncLane`.

v1: `POST /v1/billing/meter_events` (one event) and `POST /v1/billing/meter_event_adjustments` (cancel one by
identifier). v2: a meter event session (a 15-minute token, renewed a minute early or at once when Stripe says it
expired) and the stream's batches of up to 100 events, sent with a client built on the session's token.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import stripe

from destination_stripe.errors import FatalError
from destination_stripe.stripe_client.async_lane import AsyncLane
from destination_stripe.stripe_client.gateway import StripeGateway

if TYPE_CHECKING:
    from destination_stripe.stripe_client.stream_processes import StreamProcesses

METER_EVENTS = "POST /v1/billing/meter_events"
ADJUSTMENTS = "POST /v1/billing/meter_event_adjustments"
SESSION = "POST /v2/billing/meter_event_session"
STREAM = "POST /v2/billing/meter_event_stream"
RENEW_BEFORE_S = 60.0
STRIPE_METER_EVENTS_BASE = "https://meter-events.stripe.com"


def rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MeterEventCalls:
    """One account's meter event calls (coroutines: run them on `lane`)."""

    def __init__(self, gateway: StripeGateway, lane: AsyncLane, account: str | None,
                 processes: StreamProcesses | None = None) -> None:
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

    async def send(self, params: dict[str, Any], idempotency_key: str) -> None:
        options = {"idempotency_key": idempotency_key, **self._options}
        await self._gateway.call_async(METER_EVENTS, lambda: self._events.create_async(params, options),  # type: ignore[arg-type]
                                       write=True)

    async def cancel(self, event_name: str, identifier: str, idempotency_key: str) -> None:
        request = {"event_name": event_name, "type": "cancel", "cancel": {"identifier": identifier}}
        options = {"idempotency_key": idempotency_key, **self._options}
        await self._gateway.call_async(ADJUSTMENTS, lambda: self._adjustments.create_async(request, options),  # type: ignore[arg-type]
                                       write=True)

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

            if await self._gateway.call_async(STREAM, request, write=True):
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
                                                         write=True)
                self._expires = datetime.fromisoformat(str(session.expires_at).replace("Z", "+00:00")).timestamp()
                self._session_client = self._lane.client_for(session.authentication_token)
                self._renewals += 1
            assert self._session_client is not None
            return self._session_client
