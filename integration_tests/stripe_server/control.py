"""``ServerControl``: a thin ``requests`` client for the control API, for tests, the demo and the benchmark.

It talks HTTP (not in-process calls) so it works the same against a server in another process, e.g. one started
with the CLI or inside a container. Errors from the server raise :class:`ControlError` with its message.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

import requests


class ControlError(RuntimeError):
    """The control API refused a request (bad settings, unknown endpoint, ...)."""


class ServerControl:
    """Arrange and inspect a running server at ``url`` (``http://HOST:PORT``). Safe to share between threads."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # never route a local server through an environment proxy
            self._local.session = session
        return session

    def _call(self, method: str, name: str, payload: Mapping[str, Any] | None = None, **query: str) -> Any:
        response = self._session().request(
            method, f"{self.url}/_control/{name}", json=payload, params=query or None, timeout=self.timeout
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200:
            message = body.get("error", {}).get("message") if isinstance(body, dict) else response.text
            raise ControlError(f"{method} /_control/{name} answered {response.status_code}: {message}")
        return body

    def health(self) -> bool:
        """True when the server answers (use it to wait for a server started elsewhere)."""
        try:
            return bool(self._call("GET", "health").get("ok"))
        except (requests.RequestException, ControlError):
            return False

    def reset(self) -> None:
        """Forget customers, catalog objects, connected accounts, events, idempotency keys, counters, faults and
        revoked keys; start-up settings again."""
        self._call("POST", "reset", {})

    def configure(
        self,
        *,
        latency_ms: float | None = None,
        latency_jitter_ms: float | None = None,
        search_lag_s: float | None = None,
        enforce_rate_limits: bool | None = None,
        rate_limits: Mapping[str, Mapping[str, float]] | None = None,
        faults: Iterable[Mapping[str, Any]] | None = None,
        revoked_keys: Iterable[str] | None = None,
        seed: int | None = None,
        connect_rate_limits: str | None = None,
        meter_session_ttl_s: float | None = None,
        event_visibility_delay_s: float | None = None,
    ) -> dict[str, Any]:
        """Change the given settings (others keep their values); ``faults``/``revoked_keys`` replace the lists.
        ``connect_rate_limits``: ``"per_account"`` (connected accounts have their own buckets) or ``"platform"``.
        ``meter_session_ttl_s``: how long new meter event session tokens live (Stripe: 900).
        ``event_visibility_delay_s``: how long after its write a new event becomes listable (default 0; Stripe
        promises no moment, see :mod:`.events`).
        Returns all settings (revoked keys masked)."""
        payload: dict[str, Any] = {
            "latency_ms": latency_ms,
            "latency_jitter_ms": latency_jitter_ms,
            "search_lag_s": search_lag_s,
            "enforce_rate_limits": enforce_rate_limits,
            "rate_limits": rate_limits,
            "faults": None if faults is None else [dict(f) for f in faults],
            "revoked_keys": None if revoked_keys is None else list(revoked_keys),
            "seed": seed,
            "connect_rate_limits": connect_rate_limits,
            "meter_session_ttl_s": meter_session_ttl_s,
            "event_visibility_delay_s": event_visibility_delay_s,
        }
        result: dict[str, Any] = self._call("POST", "configure", {k: v for k, v in payload.items() if v is not None})
        return result

    def settings(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "settings")
        return result

    def seed_customers(
        self, customers: Iterable[Mapping[str, Any]], mode: str = "test", account: str | None = None
    ) -> list[str]:
        """Create customers directly (no latency, limits, faults or counting); their ids, in order.
        Each takes the create parameters as nested JSON, plus an optional ``created`` (unix seconds)."""
        payload = {"customers": [dict(c) for c in customers], "mode": mode, "account": account}
        return list(self._call("POST", "seed_customers", payload)["ids"])

    def seed(
        self, kind: str, objects: Iterable[Mapping[str, Any]], mode: str = "test", account: str | None = None
    ) -> list[str]:
        """Create ``product``/``price``/``coupon``/``promotion_code`` objects directly, each checked like its API
        create (an optional ``created`` forces the timestamp); their ids, in order. No events are recorded."""
        payload = {"kind": kind, "objects": [dict(o) for o in objects], "mode": mode, "account": account}
        return list(self._call("POST", "seed", payload)["ids"])

    def _read(self, name: str, mode: str, account: str | None, include_deleted: bool = False) -> list[dict[str, Any]]:
        query = {"mode": mode, "include_deleted": "true" if include_deleted else "false", "account": account or ""}
        return list(self._call("GET", name, **query)["data"])

    def customers(
        self, mode: str = "test", include_deleted: bool = False, account: str | None = None
    ) -> list[dict[str, Any]]:
        """Full customer objects, oldest first; deleted ones (if asked for) carry ``"deleted": true``.
        ``account``: a connected account's data instead of the platform's."""
        return self._read("customers", mode, account, include_deleted)

    def products(
        self, mode: str = "test", include_deleted: bool = False, account: str | None = None
    ) -> list[dict[str, Any]]:
        """Full product objects, oldest first (deleted ones, if asked for, with ``"deleted": true``)."""
        return self._read("products", mode, account, include_deleted)

    def prices(self, mode: str = "test", account: str | None = None) -> list[dict[str, Any]]:
        """Full price objects, ``tiers`` and ``currency_options`` included, oldest first."""
        return self._read("prices", mode, account)

    def coupons(
        self, mode: str = "test", include_deleted: bool = False, account: str | None = None
    ) -> list[dict[str, Any]]:
        """Full coupon objects, oldest first (deleted ones, if asked for, with ``"deleted": true``)."""
        return self._read("coupons", mode, account, include_deleted)

    def promotion_codes(self, mode: str = "test", account: str | None = None) -> list[dict[str, Any]]:
        """Full promotion code objects, oldest first."""
        return self._read("promotion_codes", mode, account)

    def events(self, mode: str = "test", account: str | None = None) -> list[dict[str, Any]]:
        """Every event recorded by API writes in ``mode`` (and ``account``), full objects as ``GET /v1/events``
        shows them, oldest first (seeding records none)."""
        return self._read("events", mode, account)

    def seed_meters(
        self, meters: Iterable[Mapping[str, Any]], mode: str = "test", account: str | None = None
    ) -> list[str]:
        """Create billing meters: ``{"event_name", "customer_mapping"?: {"event_payload_key"}, "value_settings"?:
        {"event_payload_key"}, "status"?: "active"|"inactive", "id"?}``; their ids (``mtr_...``)."""
        payload = {"meters": [dict(m) for m in meters], "mode": mode, "account": account}
        return list(self._call("POST", "meters", payload)["ids"])

    def set_meter_status(
        self, event_name: str, status: str, mode: str = "test", account: str | None = None
    ) -> dict[str, Any]:
        """``"inactive"`` (a deactivated meter: its events are refused) or ``"active"``; the meter."""
        payload = {"event_name": event_name, "status": status, "mode": mode, "account": account}
        result: dict[str, Any] = self._call("POST", "meter_status", payload)
        return result

    def meters(self, mode: str = "test", account: str | None = None) -> list[dict[str, Any]]:
        """Every seeded meter, as ``billing.meter`` objects."""
        return list(self._call("GET", "meters", mode=mode, account=account or "")["data"])

    def seed_meter_events(
        self, events: Iterable[Mapping[str, Any]], mode: str = "test", account: str | None = None
    ) -> int:
        """Store accepted events directly (``{"event_name", "identifier", "payload", "timestamp"?, "created"?}``;
        ``created`` in the past puts them beyond the 24-hour dedupe and cancellation windows); how many."""
        payload = {"events": [dict(e) for e in events], "mode": mode, "account": account}
        return int(self._call("POST", "meter_events", payload)["count"])

    def meter_events(
        self, mode: str = "test", account: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Recorded meter events, each ``{"identifier", "event_name", "payload", "timestamp", "created",
        "source": "v1"|"v2"|"seed", "status"}``: accepted and cancelled events (by first arrival), then errored
        (v2, with ``code`` and ``message``) and deduplicated copies; ``status`` filters."""
        query = {"mode": mode, "account": account or "", "status": status or ""}
        return list(self._call("GET", "meter_events", **query)["data"])

    def meter_event_counts(self, mode: str = "test", account: str | None = None) -> dict[str, int]:
        """``{"accepted", "cancelled", "errored", "deduplicated"}`` counts, without listing the events."""
        return dict(self._call("GET", "meter_event_counts", mode=mode, account=account or "")["data"][0])

    def meter_error_reports(self, mode: str = "test", account: str | None = None) -> list[dict[str, Any]]:
        """The ``v1.billing.meter.error_report_triggered`` / ``v1.billing.meter.no_meter_found`` events the v2
        stream's asynchronous validation produced, oldest first."""
        return list(self._call("GET", "meter_error_reports", mode=mode, account=account or "")["data"])

    def expire_meter_sessions(self) -> int:
        """Every meter event session token expires now (the next stream call answers 401); how many were valid."""
        return int(self._call("POST", "expire_meter_sessions", {})["expired"])

    def create_account(self, account_id: str | None = None, *, modes: Iterable[str] = ("test", "live")) -> str:
        """A new, active connected account usable with keys of ``modes``; its id (``acct_...``)."""
        payload: dict[str, Any] = {"modes": list(modes)}
        if account_id is not None:
            payload["id"] = account_id
        return str(self._call("POST", "accounts", payload)["id"])

    def set_account_state(self, account_id: str, state: str) -> dict[str, Any]:
        """``"disconnected"`` (the platform's access revoked), ``"deleted"`` or ``"active"`` again; requests for an
        account that is not active answer 403 ``account_invalid``. Its data stays readable here."""
        result: dict[str, Any] = self._call("POST", "account_state", {"account": account_id, "state": state})
        return result

    def disconnect_account(self, account_id: str) -> None:
        self.set_account_state(account_id, "disconnected")

    def delete_account(self, account_id: str) -> None:
        self.set_account_state(account_id, "deleted")

    def accounts(self) -> list[dict[str, Any]]:
        """Every connected account: ``{"id", "modes", "state", "created"}``."""
        return list(self._call("GET", "accounts")["data"])

    def stats(self) -> dict[str, Any]:
        """Counters: calls per endpoint, rate limiting, faults, replays, requests, concurrency."""
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def revoke_key(self, key: str) -> None:
        """Later requests with ``key`` answer 401."""
        self._call("POST", "revoke_key", {"key": key})

    def close(self) -> None:
        """Close this thread's connection (other threads' sessions close when they are collected)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None
