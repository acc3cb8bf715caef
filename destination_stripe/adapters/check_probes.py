"""What `check` asks Stripe: for every object the config names (the top-level `object` and each `streams` entry's),
what its streams will need, each asked in a way that changes nothing.

- an object with an identity: read (one list page) and write (an empty update of an id that cannot exist: 404 when
  the key may write, 403 when it may not);
- events read, for objects whose ids Stripe chooses: a create that answers 500 is settled by finding its
  `<object>.created` event (core/reconcile.py) unless the list can filter on the row's identifier. Required when
  the config certainly creates that way (create mode, a metadata identity, a price replacement); otherwise only
  some modes need it (an activation insert), and a refusal is a warning;
- meter events: write (a create without its required params: 400 when the key may send events, 403 when it may
  not; nothing can be recorded), customers read when rows name customers by email or metadata key, and the meter
  list, to say early when no active meter has the configured event name (a refusal of that list is a warning:
  sending events does not need it).

Connect: everything is asked in `stripe_account` (else the platform's own account).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from destination_stripe.config import EffectiveStream, StripeConfig
from destination_stripe.objects import CUSTOMER, ObjectDescription
from destination_stripe.stripe_client.gateway import StripeGateway
from destination_stripe.stripe_client.object_api import ObjectApi, active_meter_event_names


class Unfit(Exception):
    """What a probe found wrong with the config itself (not the key): `check` fails with it."""


@dataclass(frozen=True)
class Probe:
    access: Literal["read", "write"]
    subject: str  # an object's name, "events" or "billing meters"
    why: str  # what the sync needs it for, in the words of a failure message
    run: Callable[[], str | None]  # a note for the log, or None; raises when Stripe refuses
    call: str  # the call made, for a failure message: "list customers"
    required: bool = True  # False: a refusal is a warning (only some syncs need it)

    @property
    def label(self) -> str:
        return f"{self.access} {self.subject}"


def plan_probes(config: StripeConfig, gateway: StripeGateway) -> list[Probe]:
    """Every probe the config's streams need, once each (required wins over optional), in a stable order."""
    account = config.stripe_account
    probes: dict[str, Probe] = {}

    def add(probe: Probe) -> None:
        known = probes.get(probe.label)
        if known is None or (probe.required and not known.required):
            probes[probe.label] = probe

    def api(obj: ObjectDescription) -> ObjectApi:
        return ObjectApi(gateway, obj, account)

    for settings in [config.stream(None), *(config.stream(s.name) for s in config.streams)]:
        obj = settings.obj
        if obj is None:
            continue
        if obj.insert_only:
            for probe in _meter_probes(config, settings, gateway, api):
                add(probe)
            continue
        add(Probe("read", obj.name, f"to find {obj.service}", _reading(api(obj)), f"list {obj.service}"))
        add(Probe("write", obj.name, f"to write {obj.service}", api(obj).probe_write,
                  f"update a {obj.name} that does not exist"))
        if obj.ids_chosen_by_stripe:
            add(Probe("read", "events", f"to settle a {obj.name} create that answered 500",
                      _events(api(obj)), "list events", required=_settled_by_events(settings)))
    return list(probes.values())


def _reading(api: ObjectApi) -> Callable[[], None]:
    return api.probe_read


def _events(api: ObjectApi) -> Callable[[], None]:
    return api.probe_events_read


def _settled_by_events(settings: EffectiveStream) -> bool:
    """Whether this stream's creates are settled by events after a 500 whatever the catalog's modes: it creates
    (create mode), or matches on a metadata key (no list filters on it), or replaces objects (a price whose amount
    changes). Upserts by a filterable field settle by a list read; updates and deletes never create."""
    obj = settings.obj
    assert obj is not None
    return settings.default_operation == "create" or settings.match.kind == "metadata" \
        or obj.on_immutable_change == "replace"


def _meter_probes(config: StripeConfig, settings: EffectiveStream, gateway: StripeGateway,
                  api: Callable[[ObjectDescription], ObjectApi]) -> list[Probe]:
    obj = settings.obj
    assert obj is not None
    meter = settings.meter_event
    probes = [Probe("write", obj.name, "to send meter events", api(obj).probe_write,
                    "send a meter event without its params")]
    if meter.customer_match_on != "id":
        probes.append(Probe("read", CUSTOMER.name, f"to find the customers usage rows name by "
                                                    f"{meter.customer_match_on}", _reading(api(CUSTOMER)),
                            f"list {CUSTOMER.service}"))
    if meter.event_name is not None and config.account_field is None:  # routed rows: meters are per account
        probes.append(Probe("read", "billing meters", f"to check that a meter takes event name {meter.event_name!r}",
                            _meter_named(gateway, config.stripe_account, meter.event_name), "list billing meters",
                            required=False))
    return probes


def _meter_named(gateway: StripeGateway, account: str | None, event_name: str) -> Callable[[], str | None]:
    def run() -> str | None:
        active = active_meter_event_names(gateway, account)
        if event_name not in active:
            listed = ", ".join(sorted(repr(name) for name in active)) or "none"
            raise Unfit(f"meter_event.event_name {event_name!r}: no active billing meter has this event name, so "
                        f"Stripe would refuse every event (active meters' event names: {listed}). Create or "
                        "reactivate the meter, or fix the name.")
        return None
    return run
