"""A stateful Stripe-compatible HTTP server (customers and their events) for the tests, the demo and the benchmark.

stripe-mock is stateless and unreachable from here, and the connector's hard parts (upsert by lookup, idempotent
retries, rate limits, lost responses, eventual search) need a server that remembers and misbehaves on demand.
The server uses only the standard library; :class:`ServerControl` (a ``requests`` client) drives its control API::

    with StripeServer(host="127.0.0.1", port=0, latency_ms=0, latency_jitter_ms=0, seed=0) as server:
        client = stripe.StripeClient(key, base_addresses={"api": server.url}, max_network_retries=0)
        server.control.configure(faults=[{"kind": "lost_response", "count": 1}])

CLI: ``python -m integration_tests.stripe_server --host 127.0.0.1 --port 12111 [--latency-ms 150
--latency-jitter-ms 50] [--seed-customers N --mode test]`` prints ``listening on http://HOST:PORT``.

Error codes. Stripe's own codes where Stripe documents one: ``parameter_unknown``, ``parameter_missing``,
``parameter_invalid_integer`` (also for ``limit`` outside 1..100 and ``next_invoice_sequence`` < 1),
``parameter_invalid_empty`` (``""`` for something that cannot be unset), ``email_invalid``, ``resource_missing``
(404 with param ``id``; 400 with param ``starting_after``/``ending_before`` for an unknown cursor; customers and
events alike), ``parameters_exclusive`` (``starting_after`` with ``ending_before``; ``type`` with ``types``),
``rate_limit``, ``lock_timeout``, ``idempotency_key_in_use`` (409). Stripe sends no code
or an undocumented one for the rest, so this server chose:

* ``parameter_invalid_string``: a value outside the allowed set (``tax_exempt``, other enums, booleans), a hash
  or array where the schema wants something else, a malformed search ``query`` or ``page``, an over-long
  ``Idempotency-Key``, more than 20 event ``types``;
* ``parameter_invalid_metadata``: more than 50 keys (checked on the request and on the merged result), a key
  empty, over 40 characters or containing ``[``/``]`` (param ``metadata``), a value over 500 characters or not a
  string (param ``metadata[key]``). Messages copy Stripe's wording.

401 (``Invalid API Key provided: sk_test_****...abcd``), 403, ``idempotency_error`` and ``api_error`` bodies carry no
code, like Stripe. Bodies omit absent keys instead of nulling them; every answer has a ``Request-Id`` header.

What differs from Stripe (users of the server must know):

* Only customers and their events exist. ``payment_method``, ``source``, ``tax_id_data``, ``test_clock``,
  ``cash_balance``, ``tax``, ``validate``, ``expand`` and (update) ``default_source`` are validated and then
  ignored, not stored; ``expand[]=total_count`` on search is the one expansion honoured.
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
  containing ``nocustomers`` cannot touch customers, containing ``noevents`` cannot read events; ``sk_`` keys are
  never restricted. Keys need at least 8 characters of ``[A-Za-z0-9_]`` after ``sk_test_`` etc.
* Idempotency keys never expire; their scope is the key mode (Stripe scopes them to the account).
* Rate limits are exact token buckets (burst = one second's worth); there is no concurrency limiter and no read
  allocation, only their 429 reasons through injected ``rate_limit`` faults.
* ``stats()["calls"]`` counts every request routed to an endpoint, whatever its outcome (the event endpoints
  appear once called, the customer ones always); ``stats()`` also has ``in_flight`` and ``responses_by_status``
  (``"dropped"`` for connections closed on purpose).
* ``reset()`` returns to the settings the server was started with (constructor or CLI), not to global defaults;
  ``configure(revoked_keys=...)`` replaces the revoked set, including keys revoked with ``revoke_key``.
* Injected ``error_500`` defaults to ``applied: false`` (nothing written); 500s carry ``Stripe-Should-Retry: false``.
* Events (``GET /v1/events``, ``GET /v1/events/{id}``): only ``customer.created``, ``customer.updated`` and
  ``customer.deleted`` exist, recorded for writes made through the API that really happened, including a create
  answered by an injected 500 ``applied: true`` or a ``lost_response`` (that is how a client proves such a write
  was applied); a 500 not applied, a failed write, an update that changes nothing and an idempotent replay record
  none, and neither does control-API seeding. ``request`` is ``{"id": <the Request-Id the write answered with>,
  "idempotency_key": <the key sent, or null>}``; ``data.object`` is the customer after the write (for
  ``customer.deleted``, its last state, with no ``deleted`` field); ``customer.updated`` has
  ``data.previous_attributes`` (changed fields' prior values, hashes such as ``metadata`` reduced to their changed
  keys, ``null`` for added ones). ``api_version`` is always this server's version, ``pending_webhooks`` always 0
  (no webhook endpoints exist), so ``delivery_success=true`` lists everything and ``false`` nothing; there is no
  ``account``/``context``. Events never expire (Stripe keeps them 30 days) and belong to the key mode. Order is
  newest first by ``created``, ties (same second) broken by recording order, later first; Stripe does not document
  its tie order. ``type`` matches exactly or with ``*`` wildcards (``customer.*``; ``*`` spans dots); ``types``
  are exact names. Unknown type names are not refused: they match nothing. ``expand`` is accepted and ignored.
"""

from .control import ControlError, ServerControl
from .server import StripeServer

__all__ = ["ControlError", "ServerControl", "StripeServer"]
