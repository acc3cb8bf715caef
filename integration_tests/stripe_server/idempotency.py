"""Idempotency keys, keyed by (:class:`~.accounts.Scope`, ``Idempotency-Key``), with Stripe's rules.

Keys are scoped to the account a request acts on: the same key sent for the platform and for a connected account (or
for two connected accounts) names two independent requests, and test and live keys never meet. Stripe's idempotency
page (https://docs.stripe.com/api/idempotent_requests) does not say how keys are scoped across Connect accounts;
per account is this server's choice.

* A key is *reserved* when a request that passed rate limiting and validation starts executing; a second request
  with it meanwhile answers 409 ``idempotency_key_in_use`` (nothing stored for that second request).
* When execution ends its answer is stored, including 404s and injected 500s: a retry with the same key and the
  same method, path and parameters replays status and body with ``Idempotent-Replayed: true``, forever (Stripe keeps
  keys at least 24 h; this server never expires them). Other parameters answer 400 ``idempotency_error``.
* A request that fails before executing (429, 400 validation) releases the reservation and stores nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .accounts import Scope
from .errors import IDEMPOTENCY_ERROR, ApiError

MAX_KEY_LENGTH = 255


@dataclass
class StoredResult:
    fingerprint: str
    done: bool = False
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    request_id: str = ""


class IdempotencyStore:
    """Thread-safe map of reservations and stored answers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[Scope, str], StoredResult] = {}

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()

    def begin(self, scope: Scope, key: str, fingerprint: str) -> StoredResult | None:
        """Reserve ``key`` (``None``), or return the stored answer to replay; raises 409/400 on conflicts."""
        if len(key) > MAX_KEY_LENGTH:
            raise ApiError(
                400,
                f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters long.",
                code="parameter_invalid_string",
            )
        with self._lock:
            entry = self._entries.get((scope, key))
            if entry is None:
                self._entries[(scope, key)] = StoredResult(fingerprint)
                return None
            if not entry.done:
                raise ApiError(
                    409,
                    "There is currently another in-progress request using this Idempotent Key (that probably means "
                    "you submitted twice, and the other request is still going through): "
                    f"{key}. Please try again later.",
                    code="idempotency_key_in_use",
                )
            if entry.fingerprint != fingerprint:
                raise ApiError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters they were first used "
                    f"with. Try using a key other than '{key}' if you meant to execute a different request.",
                    type_=IDEMPOTENCY_ERROR,
                )
            return entry

    def complete(
        self, scope: Scope, key: str, status: int, body: dict[str, Any], headers: dict[str, str], request_id: str
    ) -> None:
        """Store the answer of the request holding the reservation."""
        with self._lock:
            entry = self._entries.get((scope, key))
            if entry is not None:
                entry.done, entry.status, entry.body = True, status, body
                entry.headers, entry.request_id = dict(headers), request_id

    def release(self, scope: Scope, key: str) -> None:
        """Forget a reservation whose request failed before executing."""
        with self._lock:
            entry = self._entries.get((scope, key))
            if entry is not None and not entry.done:
                del self._entries[(scope, key)]
