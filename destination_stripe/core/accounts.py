"""Stripe Connect: which account a row is written to, and each account's gateway.

A row goes to the account its `account_field` names, else to the configured `stripe_account`, else to the
platform's own account (None). Stripe measures rate limits per account; whether a platform's calls for a connected
account spend that account's budget or the platform's is not documented, so `connect_rate_limits: per_account`
(the default) gives each account its own limiter (and the adaptive limiter slows down if Stripe answers 429 to a
shared budget), and `shared` keeps one limiter for all. Before an account's first row is written, one list call
proves the platform may act for it: an unknown or disconnected account rejects its rows with Stripe's reason
(`account_invalid`) and the other accounts go on.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from destination_stripe.config import StripeConfig
from destination_stripe.errors import RowRejected
from destination_stripe.objects import ObjectDescription
from destination_stripe.stripe_client.gateway import StripeGateway
from destination_stripe.stripe_client.object_api import ObjectApi
from destination_stripe.stripe_client.ratelimit import RateLimiter

ACCOUNT_ID = re.compile(r"acct_[A-Za-z0-9]{1,255}")


def account_of(record: Mapping[str, Any], field: str | None, default: str | None) -> str | None:
    """The connected account a record is written to; RowRejected when its account field is not an account id."""
    if field is None:
        return default
    value = record.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not ACCOUNT_ID.fullmatch(text):
        raise RowRejected(f"{field} must be a Stripe connected account id (acct_...), not {str(value)[:80]!r}",
                          "invalid_account", field)
    return text


def without_field(record: Mapping[str, Any], field: str | None) -> Mapping[str, Any]:
    """The record without its routing field: the account is where a row goes, not something written."""
    if field is None or field not in record:
        return record
    return {k: v for k, v in record.items() if k != field}


class AccountGateways:
    """The gateway per account (its own limiter unless limits are shared) and whether an account can be used."""

    def __init__(self, config: StripeConfig, platform: StripeGateway,
                 new_limiter: Callable[[], RateLimiter]) -> None:
        self._shared = config.connect_rate_limits == "shared"
        self._platform = platform
        self._new_limiter = new_limiter
        self._gateways: dict[str | None, StripeGateway] = {None: platform}
        self._problems: dict[str, RowRejected | None] = {}
        self._lock = threading.Lock()

    def gateway(self, account: str | None) -> StripeGateway:
        with self._lock:
            gateway = self._gateways.get(account)
            if gateway is None:
                gateway = self._platform if self._shared else self._platform.sharing(self._new_limiter())
                self._gateways[account] = gateway
            return gateway

    def problem(self, account: str | None, obj: ObjectDescription) -> RowRejected | None:
        """Why rows cannot be written to `account` (Stripe's answer to one list call), or None. Asked once."""
        if account is None:
            return None
        if account not in self._problems:
            try:
                ObjectApi(self.gateway(account), obj, account).list_page(limit=1)
                self._problems[account] = None
            except RowRejected as refused:
                self._problems[account] = RowRejected(f"connected account {account}: {refused.reason}",
                                                      refused.code, request_id=refused.request_id)
        return self._problems[account]

    @property
    def accounts(self) -> list[str | None]:
        return list(self._gateways)
