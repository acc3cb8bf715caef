"""A stateful Stripe-compatible HTTP server for the tests, the demo and the benchmark.

It speaks Stripe's v1 wire format to the real stripe-python SDK (16.1.0, API version 2026-10-28.endive) for
customers (+ search), products, prices, coupons, promotion codes and events, and billing meter events (v1 events and
cancellations; v2 meter event sessions and streams, in v2's JSON), on the platform and on Stripe Connect connected
accounts. stripe-mock is stateless and unreachable from here, and the connector's hard parts (upsert by lookup,
idempotent retries, rate limits, lost responses, eventual search) need a server that remembers and misbehaves on
demand. The server uses only the standard library; :class:`ServerControl` (a ``requests`` client)
drives its control API::

    with StripeServer(host="127.0.0.1", port=0, latency_ms=0, latency_jitter_ms=0, seed=0) as server:
        client = stripe.StripeClient(key, base_addresses={"api": server.url, "meter_events": server.url},
                                     max_network_retries=0)
        server.control.configure(faults=[{"kind": "lost_response", "count": 1}])
        acct = server.control.create_account()
        client.v1.products.create({"name": "x"}, options={"stripe_account": acct})

CLI: ``python -m integration_tests.stripe_server --host 127.0.0.1 --port 12111 [--latency-ms 150
--latency-jitter-ms 50] [--seed-customers N --mode test] [--connect-rate-limits platform]`` prints
``listening on http://HOST:PORT``.

Module map: :mod:`.pipeline` (the order of checks), :mod:`.routes` (endpoints), :mod:`.accounts` (Connect),
:mod:`.store` + :mod:`.customers` (customers), :mod:`.catalog` + :mod:`.catalog_data` + :mod:`.products`,
:mod:`.prices`, :mod:`.coupons`, :mod:`.promotion_codes` (the catalog; each object module's docstring states its
rules and their sources), :mod:`.meters` + :mod:`.meter_events` (v1) + :mod:`.meter_stream` (v2) (meter events),
:mod:`.events`, :mod:`.idempotency`, :mod:`.limits`, :mod:`.faults`, :mod:`.schemas` +
:mod:`.catalog_schemas` (parameters, equal to the SDK's TypedDicts) checked by :mod:`.validation`.

Error codes. Stripe's own codes where Stripe documents one: ``parameter_unknown``, ``parameter_missing``,
``parameter_invalid_integer`` (also for ``limit`` outside 1..100 and ``next_invoice_sequence`` < 1),
``parameter_invalid_empty`` (``""`` for something that cannot be unset), ``email_invalid``, ``resource_missing``
(404 with param ``id``; 400 with param ``starting_after``/``ending_before`` for an unknown cursor, and 400 with the
parameter's name for an unknown referenced object: ``product``, ``promotion[coupon]``, ``customer``,
``default_price``, ``applies_to[products][i]``), ``resource_already_exists`` (a taken product or coupon ``id``),
``parameters_exclusive`` (``starting_after`` with ``ending_before``; ``type`` with ``types``; ``ids`` with a cursor;
``product`` with ``product_data``; ``unit_amount`` with ``unit_amount_decimal``; ``amount_off`` with
``percent_off``), ``account_invalid`` (403, a Connect account the key cannot use), ``rate_limit``, ``lock_timeout``,
``idempotency_key_in_use`` (409), and on the v2 stream ``billing_meter_event_session_expired`` (401, type
``temporary_session_expired``, v2's body ``{"error": {"type", "code", "message", "doc_url"}}``). Stripe sends no
code or an undocumented one for the rest, so this server chose:

* ``parameter_invalid_string``: a value outside the allowed set (``tax_exempt``, other enums, booleans), a hash
  or array where the schema wants something else, a malformed currency, decimal or number, a string over its
  documented length, a malformed search ``query`` or ``page``, an over-long ``Idempotency-Key``, more than 20
  event ``types`` or 10 price ``lookup_keys``;
* ``parameter_invalid_metadata``: more than 50 keys (checked on the request and on the merged result), a key
  empty, over 40 characters or containing ``[``/``]`` (param ``metadata``), a value over 500 characters or not a
  string (param ``metadata[key]``). Messages copy Stripe's wording;
* no code at all (like Stripe for these): a product with prices refused deletion, a taken price ``lookup_key``, a
  duplicate active promotion ``code``, and this server's business-rule refusals (``tax_behavior`` already set,
  tier rules, coupon duration/amount rules, ``expires_at``/``redeem_by`` bounds, a promotion ``code`` with other
  characters than letters, digits and ``-``, a code's ``max_redemptions`` above its coupon's, reactivating a code
  whose coupon is deleted or no longer valid or which has expired), each with its param; for v1 meter events: a
  repeated ``identifier`` ("An event already exists with identifier <id>.", ``Stripe-Should-Retry: false``, as
  public reports of Stripe's answer show it), an unknown or inactive meter, a value that is not a whole number, a
  timestamp outside the window, a cancellation refused, and the 409 for a concurrent call on one (customer, meter).

401 (``Invalid API Key provided: sk_test_****...abcd``), 403, ``idempotency_error`` and ``api_error`` bodies carry no
code, like Stripe. Bodies omit absent keys instead of nulling them; every answer has a ``Request-Id`` header.

Checked against Stripe's public material (sources in the object modules): product delete with prices (400, no code,
"This product cannot be deleted because it has one or more user-created prices."), the lookup-key conflict ("A
price (`price_x`) already uses that lookup key.") and ``transfer_lookup_key``, promotion-code uniqueness among
active codes regardless of case, ``tax_behavior`` fixed once ``inclusive``/``exclusive``, the unknown-account 403,
the price list showing only active prices unless ``active`` is sent, and (stripe-python 16.1.0's parameter docs) the
promotion-code character set, ``max_redemptions`` bound and reactivation rule.
Not verifiable from here, so chosen (and said so where implemented): the exact wording of the refusals listed
above as this server's; how promotion-code uniqueness "for a specific customer" treats customer-restricted codes;
whether a deleted product's or coupon's id may be reused (here: yes); whose rate limits a connected-account request
spends (default: the connected account's own, see :mod:`.limits`); that idempotency keys are scoped per account;
the answer to ``Stripe-Account`` and ``Stripe-Context`` naming different accounts (400 here); whether the price
list's active-only default also holds with ``lookup_keys`` (here: yes, so an archived key holder needs
``active=false``); whether ``_`` is allowed in a promotion code (here: no); whether deleting a coupon deactivates its
promotion codes (here: no). Meter events (details in :mod:`.meter_events`, :mod:`.meter_stream`): the wording of
every refusal except the duplicate and the expired session; the 409 body for concurrent (customer, meter) calls and
that the rule holds in test mode too (one public report of sandbox behaviour); whether Stripe checks the customer
synchronously on v1; the at most 19 value digits; the stream's synchronous shape checks and its 400 bodies; the
answer to an unknown stream token; whether a Connect header on a stream request matters (here: ignored, the session
decides); whether an errored v2 event takes its identifier (here: no); the error-report ids, texts and grouping.

What differs from Stripe (users of the server must know):

* Meter events. Meters exist only once seeded (``ServerControl.seed_meters``; ``GET /v1/billing/meters`` lists them,
  :mod:`.meter_list`, but nothing creates or changes them through the API; no event
  summaries, nothing is aggregated or invoiced). v1 validates synchronously (meter, customer, whole-number value,
  timestamp within 35 days past / 5 minutes ahead, identifier unique for 24 hours, shared with v2) and allows one
  call at a time per (customer, meter) (409). Live mode: v1 has its own 1,000/s bucket and the stream its own
  10,000 requests/s, outside the global limit; test mode: both count toward the basic limit (25/s), as Stripe's
  usage-recording page says. The stream (``base_addresses["meter_events"]``, JSON, authenticated by the session
  token, which fixes mode and account) takes 1 to 100 events; shape errors fail the request, everything else is
  validated "asynchronously": bad events are listed as ``errored`` and summarised in
  ``v1.billing.meter.error_report_triggered``/``no_meter_found`` events readable at once through
  ``ServerControl.meter_error_reports`` (Stripe batches them over windows and sends them to event destinations;
  here one per request and meter, sent nowhere). Repeated stream identifiers are dropped silently
  (``deduplicated``). Cancellations answer ``status: pending`` and take effect at once. Sessions last 15 minutes
  (``meter_session_ttl_s``; ``expire_meter_sessions()`` ends them all now).
* Only customers, products, prices, coupons, promotion codes, meter events and their events exist. Customers:
  ``payment_method``, ``source``, ``tax_id_data``, ``test_clock``, ``cash_balance``, ``tax``, ``validate``,
  ``expand`` and (update) ``default_source`` are validated and then ignored, not stored; ``expand[]=total_count`` on
  search is the one customer expansion honoured. Catalog objects honour ``expand`` only for their includable
  fields (a price's ``tiers``/``currency_options``, a coupon's ``applies_to``/``currency_options``) and two
  references (a product's ``default_price``, a price's ``product``); expanding other references
  (``promotion.coupon``, ``customer``) is accepted and ignored. ``/v1/products/search`` and
  ``/v1/prices/search`` answer 404. Nothing is ever redeemed: ``times_redeemed`` stays 0, ``max_redemptions`` is
  stored, not enforced.
* Update merges nested objects field by field (``address``, ``shipping``, ``invoice_settings`` and its
  ``rendering_options``), not only metadata; ``custom_fields`` and ``preferred_locales`` are replaced whole.
  ``""`` sets plain strings (``name``, ``phone``, ``description``, ``email``, ...) to null, ``address=``/``shipping=``
  to null, ``preferred_locales=`` to ``[]``, ``tax_exempt=`` to ``"none"``, ``metadata=`` to ``{}``.
* ``invoice_prefix`` is generated (8 random upper-case alphanumerics) like Stripe's, but not validated when sent.
* Search: ``email``, ``name``, ``phone``, ``description``, ``metadata['k']``, ``created``; string ``:`` matches
  are case-insensitive "words in order" (so ``bob@x.com`` also hits ``bob@x.com.au``: re-check hits). The index
  lags ``search_lag_s`` (default 0) behind writes: matching uses each customer's version of that age, results show
  the *current* object, customers deleted since are left out. Lag changes beyond 60 s are approximate.
* Key conventions (Stripe has none of these): restricted ``rk_`` keys containing ``readonly`` cannot write,
  containing ``nocustomers`` cannot touch customers (likewise ``noproducts``, ``noprices``, ``nocoupons``,
  ``nopromotion_codes``, ``nometer_events`` for the meter event endpoints and ``nobilling_meters`` for the meter
  list), containing ``noevents`` cannot read events; ``sk_`` keys are never restricted. Keys need
  at least 8 characters of ``[A-Za-z0-9_]`` after ``sk_test_`` etc.
* Connect: connected accounts exist only once created with ``ServerControl.create_account`` (for both modes by
  default); ``set_account_state`` makes one ``disconnected`` or ``deleted``. Each account (and the platform) has
  its own customers, catalog, events, idempotency keys, ids and, by default, rate-limit buckets. There are no
  Account objects (``/v1/accounts`` answers 404), no organisations and no ``Stripe-Context`` paths beyond
  ``<platform id>/<account id>``; the platform's own id is ``acct_1LocalStripeServer``.
* Idempotency keys never expire; their scope is the account and key mode.
* Rate limits are exact token buckets (burst = one second's worth); there is no concurrency limiter and no read
  allocation, only their 429 reasons through injected ``rate_limit`` faults.
* ``stats()["calls"]`` counts every request routed to an endpoint, whatever its outcome (the customer endpoints
  always appear, the others once called); ``stats()`` also has ``calls_by_account``, ``in_flight`` and
  ``responses_by_status`` (``"dropped"`` for connections closed on purpose).
* ``reset()`` returns to the settings the server was started with (constructor or CLI), not to global defaults,
  and forgets connected accounts; ``configure(revoked_keys=...)`` replaces the revoked set, including keys revoked
  with ``revoke_key``.
* Injected ``error_500`` defaults to ``applied: false`` (nothing written); 500s carry ``Stripe-Should-Retry: false``.
* Events (``GET /v1/events``, ``GET /v1/events/{id}``): ``customer.created/updated/deleted``,
  ``product.created/updated/deleted``, ``price.created/updated``, ``coupon.created/updated/deleted``,
  ``promotion_code.created/updated``, recorded for writes made through the API that really happened, including a
  create answered by an injected 500 ``applied: true`` or a ``lost_response`` (that is how a client proves such a
  write was applied); a 500 not applied, a failed write, an update that changes nothing and an idempotent replay
  record none, and neither does control-API seeding. One request may record several (a price created with
  ``product_data`` records ``product.created`` then ``price.created``; ``transfer_lookup_key`` also records the old
  holder's ``price.updated``). ``request`` is ``{"id": <the Request-Id the write answered with>,
  "idempotency_key": <the key sent, or null>}``; ``data.object`` is the object after the write, as a plain
  retrieve shows it (for ``*.deleted``, its last state, with no ``deleted`` field); ``*.updated`` has
  ``data.previous_attributes`` (changed fields' prior values, hashes such as ``metadata`` reduced to their changed
  keys, ``null`` for added ones). A connected account's events are listed only with its ``Stripe-Account`` and
  carry ``"account": "acct_..."``; platform events have no ``account``, and no event has ``context``.
  ``api_version`` is always this server's version, ``pending_webhooks`` always 0 (no webhook endpoints exist), so
  ``delivery_success=true`` lists everything and ``false`` nothing. Events never expire (Stripe keeps them 30 days).
  Order is newest first by ``created``, ties (same second) broken by recording order, later first; Stripe does not
  document its tie order. ``type`` matches exactly or with ``*`` wildcards (``customer.*``; ``*`` spans dots);
  ``types`` are exact names. Unknown type names are not refused: they match nothing. ``expand`` is accepted and
  ignored. An event becomes listable ``event_visibility_delay_s`` (default 0) after its write: Stripe promises no
  moment (see :mod:`.events`).
"""

from .control import ControlError, ServerControl
from .server import StripeServer

__all__ = ["ControlError", "ServerControl", "StripeServer"]
