"""Options a config names that this connector does not have: said out loud, with the nearest real name.

Unknown top-level keys are ignored rather than refused (a config written for a newer version still runs, and
platforms add keys of their own, such as valmi's run_time_args), but silently ignoring `dryrun: true` would write
to Stripe what the user meant only to plan. So every sync and check names them. Inside a `streams` entry nothing
but the user writes: an unknown key there (`matchon`) would leave the stream on the defaults, writing another
object or matching another way than meant, so it is refused (`unknown_stream_keys`, a config error).
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


def unknown_stream_keys(raw: Mapping[str, Any], known: Iterable[str], meter_known: Iterable[str]) -> list[str]:
    """The keys of `raw`'s `streams` entries (and of their meter_event blocks) that are not stream settings, each as
    "'streams[name].x' (did you mean 'y'?)"."""
    streams = raw.get("streams")
    if not isinstance(streams, list):
        return []  # not a list: the model's own validation names it
    found: list[str] = []
    for index, entry in enumerate(streams):
        if not isinstance(entry, Mapping):
            continue
        name = entry.get("name")
        prefix = f"streams[{name if isinstance(name, str) and name else index}]."
        found += _unknown(entry, list(known), prefix, suggested="")
        meter = entry.get("meter_event")
        if isinstance(meter, Mapping):
            found += _unknown(meter, list(meter_known), prefix + "meter_event.", suggested="")
    return found


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The choice `name` most likely misspells, or None."""
    near = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.75)
    return near[0] if near else None


def _unknown(raw: Mapping[str, Any], known: list[str], prefix: str, suggested: str | None = None) -> list[str]:
    """`suggested`: the prefix of the name suggested (default: `prefix`)."""
    suggested = prefix if suggested is None else suggested
    described = []
    for key in sorted(str(k) for k in raw if k not in known):
        near = closest(key, known)
        described.append(f"'{prefix}{key}'" + (f" (did you mean '{suggested}{near}'?)" if near else ""))
    return described
