"""``StripeServer``: start the local Stripe-compatible server in a background thread, in-process.

Used as a context manager by tests and the demo; the CLI (``python -m integration_tests.stripe_server``) wraps it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import TracebackType

from .control import ServerControl
from .handler import StripeHTTPServer
from .limits import DEFAULT_RATE_LIMITS, merge_rate_limits
from .state import ServerState, Settings


class StripeServer:
    """A stateful Stripe-compatible HTTP server on ``host:port`` (port 0 picks a free one).

    The constructor's settings are also what ``control.reset()`` returns to.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
        latency_jitter_ms: float = 0,
        seed: int = 0,
        *,
        search_lag_s: float = 0.0,
        enforce_rate_limits: bool = True,
        rate_limits: Mapping[str, Mapping[str, float]] | None = None,
        connect_rate_limits: str = "per_account",
    ) -> None:
        self._host = host
        self._port = port
        self.state = ServerState(
            Settings(
                latency_ms=float(latency_ms),
                latency_jitter_ms=float(latency_jitter_ms),
                search_lag_s=float(search_lag_s),
                enforce_rate_limits=enforce_rate_limits,
                connect_rate_limits=connect_rate_limits,
                seed=seed,
                rate_limits=merge_rate_limits(DEFAULT_RATE_LIMITS, rate_limits or {}),
            )
        )
        self._httpd: StripeHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._control: ServerControl | None = None

    def start(self) -> StripeServer:
        """Bind and serve in a daemon thread; returns self. Raises ``OSError`` if the port is taken."""
        if self._httpd is not None:
            return self
        self._httpd = StripeHTTPServer((self._host, self._port), self.state)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="stripe-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close open keep-alive connections, release the port."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._control is not None:
            self._control.close()
            self._control = None

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """``http://HOST:PORT``; a wildcard bind address is reported as 127.0.0.1 so the URL is usable."""
        if self._httpd is None:
            raise RuntimeError("StripeServer is not running: use it as a context manager or call start()")
        host = "127.0.0.1" if self._host in ("", "0.0.0.0") else self._host
        return f"http://{host}:{self._port}"

    @property
    def control(self) -> ServerControl:
        if self._control is None:
            self._control = ServerControl(self.url)
        return self._control

    def __enter__(self) -> StripeServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
