"""API keys: recognising them, masking them, revoking them and enforcing restricted-key permissions.

A full key is never written anywhere (bodies, logs, settings): :func:`mask_key` keeps only the type prefix and,
when enough of the key is left hidden, the last four characters, like Stripe's own messages.

Key conventions of this server (Stripe has no such names; they let tests exercise the 401/403 paths):

* valid: ``sk_test_``/``sk_live_``/``rk_test_``/``rk_live_`` + at least 8 of ``[A-Za-z0-9_]``, and not revoked;
* a *restricted* (``rk_``) key containing ``readonly`` may read but every write answers 403;
* a restricted key containing ``nocustomers`` answers 403 on every customer endpoint;
* a restricted key containing ``noevents`` answers 403 on the event endpoints (Stripe's ``rak_event_read``);
  likewise ``noproducts``, ``noprices``, ``nocoupons``, ``nopromotion_codes``, ``nometer_events`` (the meter event
  endpoints) and ``nobilling_meters`` (``GET /v1/billing/meters``) for those objects (the message
  names ``rak_<object>_read``/``_write``; Stripe's own permission names for these objects were not checked).
  Secret (``sk_``) keys always have full access, whatever they contain.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import ApiError

_KEY_RE = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9_]{8,}$")
_PREFIX_RE = re.compile(r"^(sk|rk|pk)_(test|live)_")
ACCOUNT_ID = "acct_1LocalStripeServer"


@dataclass(frozen=True)
class ApiKey:
    """An authenticated key; ``mode`` ("test"/"live") selects the data store."""

    raw: str
    mode: str
    restricted: bool

    @property
    def livemode(self) -> bool:
        return self.mode == "live"

    @property
    def masked(self) -> str:
        return mask_key(self.raw)


def mask_key(key: str) -> str:
    """``sk_test_****...abcd``: the last four are shown only when at least eight other characters stay hidden."""
    match = _PREFIX_RE.match(key)
    prefix = match.group(0) if match else ""
    rest = key[len(prefix) :]
    if len(rest) >= 12:
        return prefix + "*" * (len(rest) - 4) + rest[-4:]
    return prefix + "*" * max(len(rest), 4)


def key_from_authorization(header: str | None) -> str | None:
    """The key from ``Bearer KEY`` or from Basic auth (key as user name), which Stripe also accepts."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return None
        return decoded.partition(":")[0] or None
    return None


class KeyRegistry:
    """Authenticates keys against the format rules and the revoked set (shared by all handler threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revoked: set[str] = set()

    def revoke(self, key: str) -> None:
        with self._lock:
            self._revoked.add(key)

    def set_revoked(self, keys: Iterable[str]) -> None:
        with self._lock:
            self._revoked = set(keys)

    def revoked_masked(self) -> list[str]:
        """For settings output: never the full keys."""
        with self._lock:
            return sorted(mask_key(k) for k in self._revoked)

    def authenticate(self, authorization: str | None) -> ApiKey:
        """The key's identity, or a 401 shaped like Stripe's (the message masks the key)."""
        key = key_from_authorization(authorization)
        if key is None:
            raise ApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        match = _KEY_RE.match(key)
        with self._lock:
            revoked = key in self._revoked
        if match is None or revoked:
            raise ApiError(401, f"Invalid API Key provided: {mask_key(key)}")
        return ApiKey(raw=key, mode=match.group(2), restricted=match.group(1) == "rk")


def check_permission(key: ApiKey, write: bool, resource: str = "customer", account: str = ACCOUNT_ID) -> None:
    """403 for restricted keys that lack the permission (``rak_{resource}_read``/``_write``) this request needs;
    ``account`` is the account the request acts on."""
    if not key.restricted:
        return
    denied = f"no{resource}s" in key.raw or (write and "readonly" in key.raw)
    if denied:
        permission = f"rak_{resource}_write" if write else f"rak_{resource}_read"
        raise ApiError(
            403,
            f"The provided key '{key.masked}' does not have the required permissions for this endpoint on account "
            f"'{account}'. Having the '{permission}' permission would allow this request to continue.",
        )
