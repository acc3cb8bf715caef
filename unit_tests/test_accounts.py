"""Stripe Connect routing: which account a row goes to, and which request budget each account spends."""

from __future__ import annotations

import io

import pytest

from destination_stripe.config import load_config
from destination_stripe.core.accounts import account_of, without_field
from destination_stripe.core.sync import Sync
from destination_stripe.errors import ConfigurationError, RowRejected
from destination_stripe.output import Emitter

KEY = "sk_test_UnitTestKey0123456789abcdef"


def _sync(**options: object) -> Sync:
    config = load_config({"api_key": KEY, "api_base": "http://127.0.0.1:9", **options})
    return Sync(config, Emitter(io.StringIO()), lambda *args: None)


def test_each_connected_account_gets_its_own_limiter_by_default() -> None:
    sync = _sync(account_field="acct")
    first, second = sync.accounts.gateway("acct_1"), sync.accounts.gateway("acct_2")
    assert first._limiter is not second._limiter and first._limiter is not sync.gateway._limiter
    assert sync.accounts.gateway("acct_1") is first  # one per account, kept for the sync
    assert first.stats is sync.gateway.stats  # calls are still counted once for the summary


def test_shared_limits_keep_one_limiter_for_every_account() -> None:
    sync = _sync(account_field="acct", connect_rate_limits="shared")
    assert sync.accounts.gateway("acct_1") is sync.accounts.gateway("acct_2") is sync.gateway


def test_a_row_goes_to_its_field_and_without_it_to_the_default_account_only_when_the_config_says_so() -> None:
    assert account_of({"acct": "acct_9"}, "acct", "acct_1") == "acct_9"
    assert account_of({"t": {"acct": "acct_9"}}, "t.acct", None) == "acct_9"
    assert account_of({"acct": "  "}, "acct", "acct_1", missing_to_default=True) == "acct_1"
    assert account_of({}, "acct", None, missing_to_default=True) is None
    assert account_of({"acct": "acct_9"}, None, "acct_1") == "acct_1"
    for record in ({}, {"acct": None}, {"acct": "  "}, {"t": "acct_9"}):
        with pytest.raises(RowRejected) as missing:
            account_of(record, "acct" if "t" not in record else "t.acct", "acct_1")
        assert missing.value.code == "missing_account"
    with pytest.raises(RowRejected) as refused:
        account_of({"acct": 42}, "acct", None)
    assert refused.value.code == "invalid_account"


def test_the_routing_field_is_not_part_of_what_is_written() -> None:
    record = {"acct": "acct_9", "email": "a@x.com"}
    assert without_field(record, "acct") == {"email": "a@x.com"}
    assert without_field(record, None) is record
    nested = {"t": {"acct": "acct_9", "plan": "gold"}, "u": {"acct": "acct_9"}, "email": "a@x.com"}
    assert without_field(nested, "t.acct") == {"t": {"plan": "gold"}, "u": {"acct": "acct_9"}, "email": "a@x.com"}
    assert without_field(nested, "u.acct") == {"t": {"acct": "acct_9", "plan": "gold"}, "email": "a@x.com"}
    assert without_field(nested, "v.acct") is nested


def test_stripe_account_must_look_like_an_account_id() -> None:
    with pytest.raises(ConfigurationError, match="stripe_account"):
        load_config({"api_key": KEY, "stripe_account": "acme"})
