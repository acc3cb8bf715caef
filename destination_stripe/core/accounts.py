"""Stripe Connect: which account a row is written to, and each account's gateway.

A row goes to the account its `account_field` names (a dotted path reaches into nested objects: a literal key with
the dots wins, as in field_mapping). A row whose field is absent, null or empty is rejected `missing_account`, never
written to an account it did not name, unless `rows_without_account: default_account` sends it to the configured
`stripe_account`, else to the platform's own account (None). Without `account_field` every row goes there.

Stripe measures rate limits per account; whether a platform's calls for a connected account spend that account's
budget or the platform's is not documented, so `connect_rate_limits: per_account` (the default) gives each account
its own limiter (and the adaptive limiter slows down if Stripe answers 429 to a shared budget), and `shared` keeps
one limiter for all. Before an account's first row is written, one list call proves the platform may act for it:
an unknown or disconnected account rejects its rows with Stripe's reason (`account_invalid`) and the other accounts
go on. That call runs on a thread of its own (`probe`), never on the thread reading the input: an account answering
429 retries there while the other accounts' rows are read and written.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from destination_stripe.config import StripeConfig
from destination_stripe.errors import RowRejected
from destination_stripe.objects import ObjectDescription
from destination_stripe.stripe_client.gateway import StripeGateway
from destination_stripe.stripe_client.object_api import ObjectApi
from destination_stripe.stripe_client.ratelimit import RateLimiter

ACCOUNT_ID = re.compile(r"acct_[A-Za-z0-9]{1,255}")
_ABSENT: Any = object()


def account_of(record: Mapping[str, Any], field: str | None, default: str | None, *,
               missing_to_default: bool = False) -> str | None:
    """The connected account a record is written to. RowRejected when its account field is not an account id, or
    is absent (null, empty) and `missing_to_default` is False: a row never goes to an account it did not name
    unless the config says so."""
    if field is None:
        return default
    value = _at(record, field)
    if value is _ABSENT or value is None or (isinstance(value, str) and not value.strip()):
        if missing_to_default:
            return default
        raise RowRejected(f"the row has no {field} naming its connected account (account_field); set "
                          "rows_without_account: default_account to write such rows to the default account",
                          "missing_account", field)
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not ACCOUNT_ID.fullmatch(text):
        raise RowRejected(f"{field} must be a Stripe connected account id (acct_...), not {str(value)[:80]!r}",
                          "invalid_account", field)
    return text


def without_field(record: Mapping[str, Any], field: str | None) -> Mapping[str, Any]:
    """The record without its routing field: the account is where a row goes, not something written. A nested
    field is taken out of its object, and an object left empty goes with it."""
    if field is None:
        return record
    if field in record:
        return {k: v for k, v in record.items() if k != field}
    head, dot, rest = field.partition(".")
    inner = record.get(head) if dot else None
    if not isinstance(inner, Mapping):
        return record
    trimmed = without_field(inner, rest)
    if trimmed is inner:
        return record
    copy = dict(record)
    if trimmed:
        copy[head] = trimmed
    else:
        del copy[head]
    return copy


def _at(record: Mapping[str, Any], field: str) -> Any:
    """The value at a dotted path; a literal key with the dots wins. _ABSENT when the path leads nowhere."""
    if field in record:
        return record[field]
    value: Any = record
    for part in field.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _ABSENT
        value = value[part]
    return value


class AccountGateways:
    """The gateway per account (its own limiter unless limits are shared) and whether an account can be used."""

    def __init__(self, config: StripeConfig, platform: StripeGateway,
                 new_limiter: Callable[[], RateLimiter]) -> None:
        self._shared = config.connect_rate_limits == "shared"
        self._platform = platform
        self._new_limiter = new_limiter
        self._gateways: dict[str | None, StripeGateway] = {None: platform}
        self._probes: dict[str, Future[RowRejected | None]] = {}
        self._lock = threading.Lock()

    def gateway(self, account: str | None) -> StripeGateway:
        with self._lock:
            gateway = self._gateways.get(account)
            if gateway is None:
                gateway = self._platform if self._shared else self._platform.sharing(self._new_limiter())
                self._gateways[account] = gateway
            return gateway

    def probe(self, account: str | None, obj: ObjectDescription) -> Future[RowRejected | None] | None:
        """Whether rows can be written to `account`: a future of Stripe's refusal (None: they can), asked once per
        account on a thread of its own, so that its retries (429s, say) hold up only that account's rows. A failure
        that ends the sync (a key without permission, retries spent) is the future's exception. None for the
        platform, which needs no proof."""
        if account is None:
            return None
        with self._lock:
            future = self._probes.get(account)
            if future is None:
                future = self._probes[account] = Future()
                threading.Thread(target=self._ask, args=(future, account, obj), name=f"probe-{account}",
                                 daemon=True).start()
        return future

    def problem(self, account: str | None, obj: ObjectDescription) -> RowRejected | None:
        """The probe's answer, waited for (on the caller's thread)."""
        future = self.probe(account, obj)
        return None if future is None else future.result()

    def _ask(self, future: Future[RowRejected | None], account: str, obj: ObjectDescription) -> None:
        try:
            ObjectApi(self.gateway(account), obj, account).list_page(limit=1)
        except RowRejected as refused:
            future.set_result(RowRejected(f"connected account {account}: {refused.reason}", refused.code,
                                          request_id=refused.request_id))
        except BaseException as error:  # whoever waits for the answer raises it
            future.set_exception(error)
        else:
            future.set_result(None)

    @property
    def accounts(self) -> list[str | None]:
        return list(self._gateways)
