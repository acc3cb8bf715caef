"""Many requests in flight from one thread: an asyncio loop driving the SDK's own async methods over aiohttp.

Usage events are small calls sent by the hundred at once (v1: about 200 in flight to reach Stripe's 1,000 calls/s
at 0.15-0.2 s a call). A thread per request costs about 1.4 ms of CPU per call (requests, plus the GIL handed
between 200 threads), which caps a process near 500 calls/s; the SDK's `*_async` methods over
`stripe.AIOHTTPClient` cost about 0.6 ms (measured on this project's 2-core machine, 2026-12-03), so one process
reaches Stripe's ceiling. Sync code hands the lane coroutines (`submit`) and gets concurrent futures back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ssl
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import aiohttp
import stripe

T = TypeVar("T")


class AsyncLane:
    """An event loop in its own thread with one aiohttp connection pool; StripeClients made on it share the pool."""

    def __init__(self, *, api_key: str, api_base: str, meter_base: str, timeout_s: float, connections: int) -> None:
        self._bases = {"api": api_base, "meter_events": meter_base}
        self._timeout_s = timeout_s
        self._connections = connections
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="stripe-async", daemon=True)
        self._thread.start()
        # aiohttp's connector belongs to the loop it was made in: make it there.
        self.http: stripe.AIOHTTPClient = self.run(self._http_client())
        self.client = self.client_for(api_key)

    async def _http_client(self) -> stripe.AIOHTTPClient:
        connector = aiohttp.TCPConnector(limit=self._connections, ssl=ssl.create_default_context(
            cafile=stripe.ca_bundle_path))
        timeout = aiohttp.ClientTimeout(total=self._timeout_s, connect=10.0)
        return stripe.AIOHTTPClient(timeout=timeout, connector=connector)

    def client_for(self, api_key: str) -> stripe.StripeClient:
        """A client for `api_key` (the platform's key, or a meter event session's token) on the shared pool."""
        return stripe.StripeClient(api_key, base_addresses=self._bases, max_network_retries=0, http_client=self.http)

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run `coroutine` on the lane (from another thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def call_soon(self, callback: Callable[..., object], *args: Any) -> None:
        """Call `callback(*args)` on the lane's thread (from any thread)."""
        self._loop.call_soon_threadsafe(callback, *args)

    def start(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run `coroutine` as a task (on the lane's thread); the lane keeps it until it ends."""
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)  # the loop keeps only weak references to its tasks
        task.add_done_callback(self._tasks.discard)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the lane and wait for it (never from the lane's own thread)."""
        return self.submit(coroutine).result()

    async def _shutdown(self) -> None:
        """Tasks still running (a sync ending on a failure) are cancelled, then the connections closed."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.http.close_async()

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self.run(self._shutdown())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self._loop.close()
