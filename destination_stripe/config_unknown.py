"""Options a config names that this connector does not have: said out loud, with the nearest real name.

Unknown keys are ignored rather than refused (a config written for a newer version still runs), but silently
ignoring `dryrun: true` would write to Stripe what the user meant only to plan. So every sync and check names them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any


def unknown_options(raw: Mapping[str, Any], known: Iterable[str], meter_known: Iterable[str]) -> list[str]:
    """`raw`'s top-level keys (and its meter_event block's) that are not options, each as "'x' (did you mean 'y'?)"."""
    found = _unknown(raw, list(known), "")
    meter = raw.get("meter_event")
    if isinstance(meter, Mapping):
        found += _unknown(meter, list(meter_known), "meter_event.")
    return found


def _unknown(raw: Mapping[str, Any], known: list[str], prefix: str) -> list[str]:
    described = []
    for key in sorted(str(k) for k in raw if k not in known):
        near = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
        described.append(f"'{prefix}{key}'" + (f" (did you mean '{prefix}{near[0]}'?)" if near else ""))
    return described
