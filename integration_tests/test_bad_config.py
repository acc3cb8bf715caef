"""Every config mistake a user can make fails `check` and `write` at once, with a message naming the field, without
calling Stripe and without quoting the key.

`check` answers CONNECTION_STATUS FAILED (exit 0, the protocol's way); `write` answers a `config_error` TRACE and a
non-zero exit, echoes no STATE and writes nothing.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from integration_tests.connector import TEST_KEY, catalog, record, state

MISSING = object()
FAST_S = 10.0  # generous for a loaded 2-core CI machine; a config error needs no network at all

# id -> (config changes, the field the message must name, other words it must contain)
CASES: dict[str, tuple[dict[str, Any], str, tuple[str, ...]]] = {
    "missing_key": ({"api_key": MISSING}, "api_key", ("required",)),
    "empty_key": ({"api_key": ""}, "api_key", ("sk_test_",)),
    "key_not_text": ({"api_key": 12345678901234}, "api_key", ()),
    "publishable_key": ({"api_key": "pk_test_" + "Publishable0123456789"}, "api_key", ("publishable", "sk_test_")),
    "publishable_live_key": ({"api_key": "pk_live_" + "Publishable0123456789"}, "api_key", ("publishable",)),
    "malformed_short_key": ({"api_key": "sk_test_bad"}, "api_key", ("sk_test_", "too short", "3")),
    "malformed_mode_key": ({"api_key": "sk_prod_" + "Abcdefghijklmnop"}, "api_key", ("sk_live_",)),
    "webhook_secret_as_key": ({"api_key": "whsec_" + "Abcdefghijklmnop1234"}, "api_key", ()),
    "key_with_bearer_prefix": ({"api_key": "Bearer " + TEST_KEY}, "api_key", ()),
    "key_with_inner_space": ({"api_key": TEST_KEY[:12] + " " + TEST_KEY[12:]}, "api_key", ()),
    "unknown_match_on": ({"match_on": "phone"}, "match_on", ("email", "metadata.<key>")),
    "match_on_empty_metadata_key": ({"match_on": "metadata."}, "match_on", ("empty",)),
    "match_on_metadata_key_with_brackets": ({"match_on": "metadata.a[b]"}, "match_on", ("[",)),
    "match_on_metadata_key_too_long": ({"match_on": "metadata." + "k" * 41}, "match_on", ("40",)),
    "mapping_to_a_non_customer_field": ({"field_mapping": {"nick": "nickname"}}, "field_mapping", ("nickname",)),
    "mapping_to_an_unknown_nested_field": ({"field_mapping": {"s": "address.street"}}, "field_mapping",
                                           ("address.street",)),
    "mapping_to_the_customer_id": ({"field_mapping": {"cid": "id"}}, "field_mapping", ("id",)),
    "mapping_to_a_create_only_field_in_update_mode": (
        {"default_operation": "update", "field_mapping": {"pm": "payment_method"}}, "field_mapping",
        ("payment_method", "created")),
    "mapping_tax_ids_in_update_mode": ({"default_operation": "update", "field_mapping": {"vat": "tax_id_data"}},
                                       "field_mapping", ("tax_id_data",)),
    "mapping_an_update_only_field_in_create_mode": (
        {"default_operation": "create", "field_mapping": {"src": "default_source"}}, "field_mapping",
        ("default_source",)),
    "mapping_to_a_metadata_key_too_long": ({"field_mapping": {"x": "metadata." + "k" * 41}}, "field_mapping",
                                           ("40",)),
    "mapping_not_an_object": ({"field_mapping": ["email"]}, "field_mapping", ()),
    "plain_http_remote_api_base": ({"api_base": "http://api.stripe.com"}, "api_base", ("loopback",)),
    "plain_http_private_network_api_base": ({"api_base": "http://10.0.0.5:12111"}, "api_base", ("loopback",)),
    "plain_http_loopback_lookalike": ({"api_base": "http://127.0.0.1.nip.io"}, "api_base", ("loopback",)),
    "plain_http_localhost_lookalike": ({"api_base": "http://localhost.example.com"}, "api_base", ("loopback",)),
    "api_base_not_http": ({"api_base": "ftp://api.stripe.com"}, "api_base", ("https",)),
    "unknown_default_operation": ({"default_operation": "merge"}, "default_operation", ("upsert",)),
    "zero_concurrency": ({"max_concurrency": 0}, "max_concurrency", ()),
    "negative_rate": ({"requests_per_second": -5}, "requests_per_second", ()),
    "retries_not_a_number": ({"max_retries": "many"}, "max_retries", ()),
}


def _config(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **changes}
    return {k: v for k, v in merged.items() if v is not MISSING}


def _assert_no_secret_quoted(result, changes: dict[str, Any]) -> None:
    key = changes.get("api_key")
    if isinstance(key, str) and len(key) >= 8:
        assert key not in result.stdout + result.stderr, "the key (even a wrong one) must never be quoted"


@pytest.mark.parametrize(("changes", "field", "words"), CASES.values(), ids=CASES.keys())
def test_check_fails_naming_the_field_without_calling_stripe(connector, config, server, changes, field, words):
    started = time.monotonic()
    result = connector.run("check", config=_config(config, changes))
    elapsed = time.monotonic() - started
    assert result.returncode == 0
    [status] = [m["connectionStatus"] for m in result.of_type("CONNECTION_STATUS")]
    assert status["status"] == "FAILED"
    assert field in status["message"], status["message"]
    for word in words:
        assert word in status["message"], (word, status["message"])
    assert result.error is None and result.stderr == ""
    assert sum(server.stats()["calls"].values()) == 0
    assert elapsed < FAST_S
    _assert_no_secret_quoted(result, changes)


@pytest.mark.parametrize(("changes", "field", "words"), CASES.values(), ids=CASES.keys())
def test_write_fails_with_a_config_error_naming_the_field_without_calling_stripe(
        connector, config, server, changes, field, words):
    started = time.monotonic()
    result = connector.run("write", config=_config(config, changes), catalog=catalog(),
                           messages=[record({"email": "never@example.com"}), state(1)])
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert result.error["failure_type"] == "config_error"
    assert field in result.error["message"], result.error["message"]
    for word in words:
        assert word in result.error["message"], (word, result.error["message"])
    assert result.states == [] and result.stderr == ""
    assert sum(server.stats()["calls"].values()) == 0
    assert server.customers(mode="test") == []
    assert elapsed < FAST_S
    _assert_no_secret_quoted(result, changes)


def test_write_refuses_a_create_only_mapping_for_a_stream_in_update_mode(connector, config, server):
    """The config alone is fine (upsert); the catalog's `update` stream makes the mapping impossible."""
    cfg = {**config, "field_mapping": {"pm": "payment_method"}}
    result = connector.run("write", config=cfg, catalog=catalog(mode="update"),
                           messages=[record({"email": "never@example.com", "pm": "pm_123"}), state(1)])
    assert result.returncode != 0 and result.error["failure_type"] == "config_error"
    message = result.error["message"]
    assert "field_mapping" in message and "payment_method" in message and "customers" in message
    assert result.states == [] and sum(server.stats()["calls"].values()) == 0


@pytest.mark.parametrize("changes", [
    {"api_base": "http://localhost:{port}"},
    {"api_key": "  " + TEST_KEY + "\n"},
], ids=["plain_http_to_localhost_is_loopback", "surrounding_whitespace_in_the_key_is_trimmed"])
def test_the_safe_neighbours_of_the_refused_configs_are_accepted(connector, config, server, changes):
    """Controls: the checks above refuse the mistakes, not their harmless neighbours."""
    port = config["api_base"].rsplit(":", 1)[1]
    cfg = {**config, **{k: v.format(port=port) for k, v in changes.items()}}
    result = connector.run("check", config=cfg)
    [status] = [m["connectionStatus"] for m in result.of_type("CONNECTION_STATUS")]
    assert status["status"] == "SUCCEEDED", status["message"]


def test_a_misspelt_option_is_warned_about_in_check_and_write_naming_the_option_meant(connector, config, server):
    cfg = {**config, "dryrun": True}
    check = connector.run("check", config=cfg)
    assert check.returncode == 0
    write = connector.run("write", config=cfg, catalog=catalog(), messages=[record({"email": "typo@example.com"}),
                                                                           state(1)])
    assert write.returncode == 0
    for result in (check, write):
        warnings = [m["log"]["message"] for m in result.messages if m.get("type") == "LOG"
                    and m["log"]["level"] == "WARN"]
        assert any("'dryrun' (did you mean 'dry_run'?)" in w for w in warnings), result.stdout[-2000:]
    assert len(server.customers(mode="test")) == 1  # ignored means ignored: this was no dry run
