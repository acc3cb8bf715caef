"""The local server's meter list (``GET /v1/billing/meters``, its meter_list.py), driven through the real SDK's
``client.v1.billing.meters.list``: seeded meters listed with the status filter and cursor paging of Stripe's "List
billing meters", and a restricted key without the meters permission refused with a 403."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from integration_tests.stripe_server import ServerControl, StripeServer

TEST_KEY = "sk_test_localServerMeterList01"


@pytest.fixture(scope="module")
def server() -> Iterator[StripeServer]:
    with StripeServer(host="127.0.0.1", port=0, seed=7) as running:
        yield running


@pytest.fixture(autouse=True)
def control(server: StripeServer) -> ServerControl:
    server.control.reset()
    return server.control


def _client(server: StripeServer, key: str = TEST_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": server.url}, max_network_retries=0)


def test_meters_are_listed_with_their_status_and_paged_by_cursor(server, control):
    control.seed_meters([{"event_name": "a"}, {"event_name": "b", "status": "inactive"}, {"event_name": "c"}])
    client = _client(server)
    first = client.v1.billing.meters.list({"limit": 2})
    rest = client.v1.billing.meters.list({"limit": 2, "starting_after": first.data[-1].id})
    assert first.has_more and not rest.has_more
    assert sorted(m.event_name for m in [*first.data, *rest.data]) == ["a", "b", "c"]
    assert {m.object for m in first.data} == {"billing.meter"}
    active = client.v1.billing.meters.list({"status": "active"})
    assert sorted(m.event_name for m in active.data) == ["a", "c"]


def test_an_unknown_cursor_is_a_400_naming_it(server, control):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        _client(server).v1.billing.meters.list({"starting_after": "mtr_nosuchmeter"})
    assert refused.value.http_status == 400 and refused.value.param == "starting_after"


def test_a_restricted_key_without_the_meters_permission_is_refused(server, control):
    control.seed_meters([{"event_name": "a"}])
    with pytest.raises(stripe.PermissionError) as refused:
        _client(server, "rk_test_nobilling_meters0123456").v1.billing.meters.list()
    assert refused.value.http_status == 403
    assert [m.event_name for m in _client(server, "rk_test_readonly0123456789").v1.billing.meters.list().data] == ["a"]
