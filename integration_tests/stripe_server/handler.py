"""HTTP plumbing: a threaded HTTP/1.1 keep-alive server that feeds requests to the pipeline or the control API.

Tuned for many concurrent keep-alive clients: Nagle disabled (otherwise ~40 ms per small answer), a deep accept
queue (the default of 5 drops connections under load), daemon threads, exact ``Content-Length`` on every answer.
It is quiet on purpose: no access log (an ``Authorization`` header must never reach a log) and no tracebacks for
clients that hang up. Open connections are tracked so stopping the server really closes them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .control_api import PREFIX, handle_control
from .messages import Outcome, Request
from .pipeline import ApiPipeline
from .state import ServerState

_LOG = logging.getLogger(__name__)
MAX_BODY = 16 * 1024 * 1024


class StripeHTTPServer(ThreadingHTTPServer):
    """One listening socket, one thread per connection, shared :class:`ServerState`."""

    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: ServerState) -> None:
        self.state = state
        self.pipeline = ApiPipeline(state)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, StripeRequestHandler)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Wake every handler thread blocked on a keep-alive connection so it ends."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up is normal (and injected faults do it on purpose): no traceback on stderr."""
        _LOG.debug("stripe_server: connection from %s ended with an error", client_address, exc_info=True)


class StripeRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "stripe-local-server"
    sys_version = ""
    server: StripeHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: an access log would be noise in test output and could leak credentials."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunk = self.rfile.read(size)
                if len(chunk) < size:
                    return None  # the client went away mid-body: nothing may be performed
                chunks.append(chunk)
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length < 0 or length > MAX_BODY:
            return None
        body = self.rfile.read(length) if length else b""
        # A client killed after its headers but before its body must not get a (half-empty) write performed.
        return body if len(body) == length else None

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            body = None
        if body is None:
            self.close_connection = True
            self._send(Outcome(400, {"error": {"type": "invalid_request_error", "message": "Malformed request."}}))
            return
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=split.path,
            query=split.query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        if split.path.startswith(PREFIX):
            outcome = handle_control(self.server.state, request)
        else:
            outcome = self.server.pipeline.handle(request)
        self._send(outcome)

    def _send(self, outcome: Outcome) -> None:
        if outcome.drop is not None:
            self.close_connection = True
            if outcome.drop == "reset":  # RST instead of FIN: the client sees "connection reset by peer"
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        data = json.dumps(outcome.body).encode("utf-8")
        self.send_response(outcome.status)
        for name, value in outcome.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
