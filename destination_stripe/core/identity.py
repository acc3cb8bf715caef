"""The normalised key a row's identifier and a Stripe object are compared on.

A row and an object match when `identity_key` of the row's identifier equals `object_identity_key` of the object.
Identifiers compare trimmed; a case-insensitive field identity (a Customer's email) compares lower-cased. Stripe's own
list filters are exact and case-sensitive, so callers compare keys, never raw values. Metadata values are read in the
text form they were written in (`objects.metadata.metadata_text`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from destination_stripe.objects.base import MatchOn
from destination_stripe.objects.metadata import metadata_text


def identity_key(match_on: MatchOn, value: object) -> str | None:
    """The normalised lookup key of an identifier; None when there is none (None, "", whitespace)."""
    if value is None:
        return None
    text = metadata_text(value).strip()
    if not text:
        return None
    return text.lower() if match_on.case_insensitive else text


def object_identity_key(match_on: MatchOn, obj: Mapping[str, Any]) -> str | None:
    """The same key read from a Stripe object (a dict as the API returns it)."""
    if match_on.kind == "metadata":
        metadata = obj.get("metadata")
        return identity_key(match_on, metadata.get(match_on.metadata_key)) if isinstance(metadata, Mapping) else None
    return identity_key(match_on, obj.get(match_on.default_field))
