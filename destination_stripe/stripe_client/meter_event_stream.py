"""The v2 meter event stream's calls: a session (a 15-minute token, renewed a minute early or when Stripe says it
expired) and the stream's batches, through the SDK's own v2 services."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import stripe

from destination_stripe.errors import FatalError
from destination_stripe.stripe_client.factory import SESSION, STREAM
from destination_stripe.stripe_client.gateway import StripeGateway

RENEW_BEFORE_S = 60.0
STRIPE_METER_EVENTS_BASE = "https://meter-events.stripe.com"


def rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Sessions:
    """The current session's client, renewed before it expires (thread-safe)."""

    def __init__(self, gateway: StripeGateway, *, account: str | None, api_base: str, meter_base: str,
                 timeout_s: float) -> None:
        self._gateway = gateway
        self._options = {"stripe_account": account} if account else {}
        self._bases = {"api": api_base, "meter_events": meter_base}
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._client: stripe.StripeClient | None = None
        self._expires = 0.0
        self.renewals = 0

    def client(self, *, expired: stripe.StripeClient | None = None) -> stripe.StripeClient:
        with self._lock:
            stale = self._client is None or time.time() > self._expires - RENEW_BEFORE_S
            if stale or (expired is not None and expired is self._client):
                service = self._gateway.client.v2.billing.meter_event_session
                session = self._gateway.call(SESSION, lambda: service.create(options=self._options), write=True)
                self._expires = datetime.fromisoformat(str(session.expires_at).replace("Z", "+00:00")).timestamp()
                self._client = stripe.StripeClient(
                    session.authentication_token, base_addresses=self._bases, max_network_retries=0,
                    http_client=stripe.RequestsClient(timeout=(10.0, self._timeout_s)))
                self.renewals += 1
            return self._client


def post_events(gateway: StripeGateway, sessions: Sessions, events: list[dict[str, Any]]) -> None:
    """Send one batch (at most 100 events) on the current session; a session Stripe calls expired is renewed."""
    client = sessions.client()
    for _ in range(3):
        service = client.v2.billing.meter_event_stream

        def request(service: Any = service) -> bool:
            try:
                service.create({"events": events})
            except stripe.TemporarySessionExpiredError:
                return False
            return True

        if gateway.call(STREAM, request, write=True):
            return
        client = sessions.client(expired=client)
    raise FatalError("Stripe refused three fresh meter event sessions in a row")
