"""Stripe Connect: connected accounts, and the data scope a request acts on.

Every piece of data (customers, catalog objects, events, idempotency keys, rate-limit buckets when per account)
belongs to a :class:`Scope`: the key mode plus the account. ``account`` is ``None`` for the platform (the account
that owns the API key, :data:`~.auth.ACCOUNT_ID`) and ``acct_...`` for a connected account.

A request acts on a connected account when it carries ``Stripe-Account: acct_...`` or ``Stripe-Context: acct_...``
(stripe-python 16 sends the first for ``options={"stripe_account": ...}`` and the second for ``stripe_context``;
both when both are set). ``Stripe-Context`` may be a path (``acct_parent/acct_child``); this server has no
organisations or recipients, so a path is accepted only as ``<platform id>/<connected id>``. Naming the platform's
own id means the platform. Two headers naming different accounts answer 400 (a choice: Stripe documents no rule).

Connected accounts exist only once created through the control API, for the modes given (both by default). An
unknown id, a malformed one, an account not created for the key's mode, a ``disconnected`` (platform access
revoked) or a ``deleted`` account all answer what Stripe answers for a key without access: 403, type
``invalid_request_error``, code ``account_invalid``, "The provided key 'sk_test_****...' does not have access to
account 'acct_x' (or that account does not exist). Application access may have been revoked."
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from .auth import ACCOUNT_ID, ApiKey
from .errors import ApiError
from .rng import random_id

ACCOUNT_STATES = ("active", "disconnected", "deleted")
MODES = ("test", "live")


class Scope(NamedTuple):
    """Whose data a request reads and writes: the key mode, and ``None`` (platform) or a connected account id."""

    mode: str
    account: str | None = None

    @property
    def livemode(self) -> bool:
        return self.mode == "live"

    def other_mode(self) -> Scope:
        """The same account in the other mode (for Stripe's "a similar object exists in live mode" hint)."""
        return Scope("live" if self.mode == "test" else "test", self.account)


@dataclass
class Account:
    id: str
    modes: frozenset[str]
    state: str
    created: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "modes": sorted(self.modes), "state": self.state, "created": self.created}


def no_access(key: ApiKey, target: str) -> ApiError:
    return ApiError(
        403,
        f"The provided key '{key.masked}' does not have access to account '{target}' (or that account does not "
        "exist). Application access may have been revoked.",
        code="account_invalid",
    )


class AccountRegistry:
    """The platform's connected accounts; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}

    def reset(self) -> None:
        with self._lock:
            self._accounts.clear()

    def create(self, account_id: str | None = None, modes: Iterable[str] = MODES) -> Account:
        """A new active connected account (``ValueError`` for a bad or taken id, or unknown modes)."""
        wanted = frozenset(modes)
        if not wanted or not wanted <= set(MODES):
            raise ValueError(f"modes must be a non-empty subset of {list(MODES)}, got {sorted(wanted)}")
        if account_id is not None and (
            not isinstance(account_id, str) or not account_id.startswith("acct_") or len(account_id) < 6
        ):
            raise ValueError(f"an account id must look like 'acct_...', got {account_id!r}")
        if account_id == ACCOUNT_ID:
            raise ValueError(f"{ACCOUNT_ID} is the platform's own account")
        with self._lock:
            new_id = account_id or random_id("acct_1", 15)
            if new_id in self._accounts:
                raise ValueError(f"account {new_id} already exists")
            account = self._accounts[new_id] = Account(new_id, wanted, "active", int(time.time()))
            return account

    def set_state(self, account_id: str, state: str) -> Account:
        if state not in ACCOUNT_STATES:
            raise ValueError(f"state must be one of {list(ACCOUNT_STATES)}, got {state!r}")
        with self._lock:
            account = self._accounts.get(account_id)
            if account is None:
                raise ValueError(f"no such account: {account_id!r}")
            account.state = state
            return account

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [account.to_json() for account in self._accounts.values()]

    def known(self, account_id: str) -> bool:
        with self._lock:
            return account_id in self._accounts

    def resolve(self, key: ApiKey, headers: Mapping[str, str]) -> Scope:
        """The scope a request acts on, or the 400/403 Stripe answers for its account headers."""
        header_account = (headers.get("stripe-account") or "").strip() or None
        context = (headers.get("stripe-context") or "").strip() or None
        target = header_account
        if context is not None:
            segments = context.split("/")
            if segments[0] == ACCOUNT_ID:
                segments = segments[1:]
            if len(segments) > 1 or (segments and not segments[0]):
                raise no_access(key, context)
            context_target = segments[0] if segments else ACCOUNT_ID
            if header_account is not None and _own(header_account) != _own(context_target):
                raise ApiError(
                    400,
                    f"The Stripe-Account header ('{header_account}') and the Stripe-Context header ('{context}') "
                    "name different accounts. Send one of them.",
                )
            target = context_target
        if target is None or target == ACCOUNT_ID:
            return Scope(key.mode)
        with self._lock:
            account = self._accounts.get(target)
            usable = account is not None and account.state == "active" and key.mode in account.modes
        if not usable:
            raise no_access(key, target)
        return Scope(key.mode, target)


def _own(account: str) -> str | None:
    """The platform's own id and no id at all mean the same thing."""
    return None if account == ACCOUNT_ID else account
