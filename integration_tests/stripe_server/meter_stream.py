"""v2 meter event streams: ``POST /v2/billing/meter_event_session`` and ``POST /v2/billing/meter_event_stream``.

Sources: the API reference (https://docs.stripe.com/api/v2/billing-meter-stream and .../meter-event-stream/create),
stripe-python 16.1.0 (``MeterEventSessionService``: ``base_address="api"``; ``MeterEventStreamService``:
``base_address="meter_events"``, default ``https://meter-events.stripe.com``; v2 bodies are JSON) and Stripe's
OpenAPI error schema ``v2.error.billing_meter_event_session_expired`` (401, type ``temporary_session_expired``, code
``billing_meter_event_session_expired``, "The temporary session token has expired.").

* A session is created with an API key (Connect headers as for any request) and answers ``{"id", "object":
  "v2.billing.meter_event_session", "authentication_token", "created", "expires_at", "livemode"}`` with RFC 3339
  times, ``expires_at`` 15 minutes after ``created`` (``meter_session_ttl_s`` changes that, for tests). The token
  is bound to the session's scope (mode and account); a stream request is authenticated by it alone
  (``Authorization: Bearer <token>``; Connect headers on a stream request are ignored, a choice). An expired token
  answers the 401 above; an unknown token (an API key included) 401 "Invalid API Key provided".
* A stream request is ``{"events": [...]}`` with 1 to 100 events, each ``{"event_name", "payload", "identifier"?,
  "timestamp"?}`` (``timestamp`` an RFC 3339 string). The shape is checked synchronously (400
  ``invalid_request_error`` naming the field, nothing stored: more than 100 events, a missing ``event_name`` or
  ``payload``, a non-string payload value, a malformed timestamp, an unknown field). The answer is ``{}``.
* Everything else is Stripe's asynchronous validation: an event with a problem does not fail the request. It is
  listed as ``errored`` (with its code) and summarised in an error-report event, readable at once through the
  control API (``meter_error_reports``), one per meter and request: ``v1.billing.meter.error_report_triggered``
  (``related_object`` the meter) or, for an unknown ``event_name``, ``v1.billing.meter.no_meter_found``. The shape
  follows stripe-python's ``V1BillingMeterErrorReportTriggeredEvent`` (``data.reason.error_count``,
  ``error_types[].code/error_count/sample_errors[].error_message/request.identifier``, ``validation_start/end``,
  ``developer_message_summary``); at most 5 samples per code. Stripe batches reports over time windows and delivers
  them as thin events to event destinations: here each request that had errors makes its own, and nothing is sent.
* A repeated identifier (within 24 hours, shared with v1) is dropped silently and listed as ``deduplicated``; an
  errored event does not take its identifier. Events without an identifier get a generated UUID.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .accounts import Scope
from .auth import key_from_authorization, mask_key
from .errors import ApiError, missing_param, unknown_param
from .events import RequestOrigin
from .meters import DEDUPE_WINDOW_S, Meter, StoredEvent, problem
from .rng import random_id

if TYPE_CHECKING:
    from .state import ServerState

MAX_EVENTS = 100
SESSION_TTL_S = 15 * 60
MAX_SAMPLES = 5
_EVENT_FIELDS = frozenset({"event_name", "identifier", "payload", "timestamp"})


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MeterSessions:
    """Session tokens and the scope each acts for; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[Scope, float]] = {}

    def reset(self) -> None:
        with self._lock:
            self._tokens = {}

    def expire_all(self) -> int:
        """Make every session expired now (tests of renewal); how many were still valid."""
        now = time.time()
        with self._lock:
            alive = [t for t, (_, exp) in self._tokens.items() if exp > now]
            for token in alive:
                self._tokens[token] = (self._tokens[token][0], now)
            return len(alive)

    def create(self, scope: Scope, ttl_s: float) -> dict[str, Any]:
        now = time.time()
        token = random_id("mes_tok_", 40)
        with self._lock:
            self._tokens[token] = (scope, now + ttl_s)
        return {
            "id": random_id("mes_", 24),
            "object": "v2.billing.meter_event_session",
            "authentication_token": token,
            "created": rfc3339(now),
            "expires_at": rfc3339(now + ttl_s),
            "livemode": scope.livemode,
        }

    def authenticate(self, authorization: str | None) -> Scope:
        token = key_from_authorization(authorization)
        if token is None:
            raise ApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        with self._lock:
            found = self._tokens.get(token)
        if found is None:
            raise ApiError(401, f"Invalid API Key provided: {mask_key(token)}")
        if found[1] <= time.time():
            raise ApiError(
                401,
                "The temporary session token has expired.",
                type_="temporary_session_expired",
                code="billing_meter_event_session_expired",
            )
        return found[0]


def _invalid(param: str, message: str) -> ApiError:
    return ApiError(400, message, param=param)


def _shape(body: Any) -> list[tuple[str, str | None, dict[str, str], int | None]]:
    """The events as (event_name, identifier, payload, timestamp or None), or the synchronous 400."""
    if not isinstance(body, dict):
        raise _invalid("events", "The request body must be a JSON object.")
    for key in body:
        if key != "events":
            raise unknown_param(key)
    events = body.get("events")
    if events is None:
        raise missing_param("events")
    if not isinstance(events, list) or not events:
        raise _invalid("events", "events must be a non-empty array of meter events.")
    if len(events) > MAX_EVENTS:
        raise _invalid("events", f"events may contain at most {MAX_EVENTS} meter events, got {len(events)}.")
    result = []
    stamps: dict[str, int] = {}  # a batch often repeats its timestamps: parse each once
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise _invalid(f"events[{index}]", f"events[{index}] must be an object.")
        name, payload = event.get("event_name"), event.get("payload")
        identifier, stamp = event.get("identifier"), event.get("timestamp")
        bad = (
            len(event) > 4
            or not event.keys() <= _EVENT_FIELDS
            or name.__class__ is not str
            or not name
            or payload.__class__ is not dict
            or (identifier is not None and (identifier.__class__ is not str or not identifier))
        )
        if not bad:
            for value in payload.values():
                if value.__class__ is not str:
                    bad = True
                    break
        if bad:
            _refuse(event, index)
        if stamp is not None:
            seconds = stamps.get(stamp) if stamp.__class__ is str else None
            if seconds is None:
                seconds = stamps[stamp] = _timestamp(stamp, f"events[{index}].timestamp")
            stamp = seconds
        result.append((name, identifier, payload, stamp))
    return result


def _refuse(event: dict[str, Any], index: int) -> None:
    """The 400 for an event of the wrong shape (the slow path of :func:`_shape`)."""
    where = f"events[{index}]"
    unknown = sorted(event.keys() - _EVENT_FIELDS)
    if unknown:
        raise unknown_param(f"{where}.{unknown[0]}")
    name, payload = event.get("event_name"), event.get("payload")
    if name is None:
        raise missing_param(f"{where}.event_name")
    if not isinstance(name, str) or not name:
        raise _invalid(f"{where}.event_name", f"{where}.event_name must be a non-empty string.")
    if payload is None:
        raise missing_param(f"{where}.payload")
    if not isinstance(payload, dict):
        raise _invalid(f"{where}.payload", f"{where}.payload must be an object of strings.")
    for key, value in payload.items():
        if not isinstance(value, str):
            raise _invalid(f"{where}.payload.{key}", f"{where}.payload.{key} must be a string.")
    raise _invalid(f"{where}.identifier", f"{where}.identifier must be a non-empty string.")


def _timestamp(value: Any, param: str) -> int:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) and "T" in value else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _invalid(param, f"{param} must be an RFC 3339 timestamp with a time zone, got {value!r}.")
    return int(parsed.timestamp())


def create_session(state: ServerState, scope: Scope, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _invalid("", "The request body must be a JSON object.")
    for key in body:
        raise unknown_param(key)
    return state.meter_sessions.create(scope, state.settings.meter_session_ttl_s)


def stream(state: ServerState, scope: Scope, body: Any, origin: RequestOrigin) -> dict[str, Any]:
    """Accept a batch: valid events are stored, the rest become error reports; always ``{}``."""
    events = _shape(body)
    now = time.time()
    now_i = int(now)
    store = state.meters
    with store.lock:
        meters = dict(store.data(scope).meters)
    wanted = set()
    for name, _, payload, _ in events:
        meter = meters.get(name)
        if meter is not None:
            wanted.add(payload.get(meter.customer_key))
    exists = state.store.existing(scope, wanted).__contains__
    errors: list[tuple[Meter | None, str, str, str, str, dict[str, str], int]] = []
    with store.lock:
        data = store.data(scope)
        stored, intern = data.events, data.intern
        for name, identifier, payload, stamp in events:
            timestamp = now_i if stamp is None else stamp
            meter = meters.get(name)
            found = problem(name, meter, payload, timestamp, now, exists)
            ident = identifier or str(uuid.uuid4())
            if found is not None:
                errors.append((meter, found[0], found[1], ident, name, payload, timestamp))
                continue
            assert meter is not None
            existing = stored.get(ident)
            if existing is not None:
                if now - existing.created < DEDUPE_WINDOW_S:
                    data.deduplicated.append(
                        {
                            "identifier": ident,
                            "event_name": name,
                            "payload": payload,
                            "timestamp": timestamp,
                            "created": now_i,
                            "source": "v2",
                            "status": "deduplicated",
                        }
                    )
                    continue
                del stored[ident]
                data.cancelled.pop(ident, None)
            ckey, vkey = meter.customer_key, meter.value_key
            extra = {k: v for k, v in payload.items() if k != ckey and k != vkey} if len(payload) > 2 else None
            stored[ident] = StoredEvent(
                intern(name), intern(payload[ckey]), int(payload[vkey]), timestamp, now_i, "v2", extra or None
            )
        if errors:
            _record_errors(data, scope, errors, now, origin)
    return {}


def _record_errors(data: Any, scope: Scope, errors: list[Any], now: float, origin: RequestOrigin) -> None:
    """One errored entry per event and one report per meter (or unknown event name) for this request."""
    groups: dict[str, list[Any]] = {}
    for meter, code, message, ident, name, payload, timestamp in errors:
        data.errored.append(
            {
                "identifier": ident,
                "event_name": name,
                "payload": payload,
                "timestamp": timestamp,
                "created": int(now),
                "source": "v2",
                "status": "errored",
                "code": code,
                "message": message,
            }
        )
        groups.setdefault(meter.id if meter is not None else "", []).append((meter, code, message, ident))
    for meter_id, items in groups.items():
        by_code: dict[str, list[Any]] = {}
        for item in items:
            by_code.setdefault(item[1], []).append(item)
        error_types = [
            {
                "code": code,
                "error_count": len(group),
                "sample_errors": [
                    {"error_message": message, "request": {"identifier": ident}}
                    for _, _, message, ident in group[:MAX_SAMPLES]
                ],
            }
            for code, group in by_code.items()
        ]
        report: dict[str, Any] = {
            "id": random_id("evt_", 24),
            "object": "v2.core.event",
            "type": "v1.billing.meter.error_report_triggered" if meter_id else "v1.billing.meter.no_meter_found",
            "created": rfc3339(now),
            "livemode": scope.livemode,
            "context": scope.account,
            "reason": {
                "type": "request",
                "request": {"id": origin.request_id, "idempotency_key": origin.idempotency_key},
            },
            "data": {
                "developer_message_summary": f"There are {len(items)} invalid meter events in this window.",
                "reason": {"error_count": len(items), "error_types": error_types},
                "validation_start": rfc3339(now),
                "validation_end": rfc3339(now),
            },
        }
        if meter_id:
            report["related_object"] = {
                "id": meter_id,
                "type": "billing.meter",
                "url": f"/v1/billing/meters/{meter_id}",
            }
        data.reports.append(report)
