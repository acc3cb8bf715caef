"""How a row names its customer, and the normalised key both sides are compared on.

A row and a Stripe customer match when `identity_key` of the row's identifier equals `customer_identity_key` of
the customer. Emails compare trimmed and lowercased (`str.lower`, not `casefold`: casefold rewrites characters
such as "ß" to "ss", which no Stripe user would call the same address); ids and metadata values compare trimmed.
Stripe's own `email=` list filter is case-sensitive, so callers must compare keys, never raw values.

`metadata_text` is the one place values become metadata strings; it lives here because a metadata identifier
must be written (mapping) and read back (finder) in exactly the same text form. The rules for what can be an
identifier at all (`metadata_key_problem`, `email_problem`) live here for the same reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

METADATA_KEY_MAX = 40
EMAIL_MAX = 512
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CUSTOMER_ID = re.compile(r"cus_[A-Za-z0-9]{8,}")


@dataclass(frozen=True)
class MatchOn:
    """What identifies a customer: its Stripe id, its email, or one metadata key."""

    kind: Literal["id", "email", "metadata"]
    metadata_key: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("id", "email", "metadata"):
            raise ValueError(f"match_on kind must be id, email or metadata, not {self.kind!r}")
        if (self.kind == "metadata") != (self.metadata_key is not None):
            raise ValueError("a metadata key is needed exactly when matching on metadata")
        problem = metadata_key_problem(self.metadata_key) if self.metadata_key is not None else None
        if problem:
            raise ValueError(f"match_on metadata: {problem}")

    @property
    def default_field(self) -> str:
        """The record field named like the identifier: "id", "email", or the metadata key."""
        return self.metadata_key if self.metadata_key is not None else self.kind

    def __str__(self) -> str:
        return f"metadata.{self.metadata_key}" if self.kind == "metadata" else self.kind


def metadata_key_problem(key: str) -> str | None:
    """Why `key` cannot be a Stripe metadata key (non-empty, at most 40 characters, no [ or ]), or None."""
    if not key:
        return "metadata keys cannot be empty"
    if len(key) > METADATA_KEY_MAX:
        return f"metadata key {key!r} is longer than {METADATA_KEY_MAX} characters"
    if "[" in key or "]" in key:
        return f"metadata key {key!r} contains [ or ]"
    return None


def email_problem(value: str) -> str | None:
    """Why `value` is not plausibly an email (one @, a local part, a dotted domain, no spaces, <= 512), or None.

    Deliberately loose: Stripe has the last word (email_invalid); this only spares a request that must fail.
    """
    if len(value) > EMAIL_MAX:
        return f"email is longer than {EMAIL_MAX} characters"
    if value.count("@") != 1 or not _EMAIL.fullmatch(value):
        return "email is not a valid address"
    return None


def parse_match_on(text: str) -> MatchOn:
    """Parse the `match_on` setting: "id", "email" or "metadata.<key>"; ValueError says what is accepted."""
    value = text.strip() if isinstance(text, str) else text
    if value in ("id", "email"):
        return MatchOn(value)
    if isinstance(value, str) and value.startswith("metadata."):
        key = value[len("metadata."):]
        problem = metadata_key_problem(key)
        if problem:
            raise ValueError(f"match_on {text!r}: {problem}")
        return MatchOn("metadata", key)
    raise ValueError(f"match_on must be 'id', 'email' or 'metadata.<key>' (e.g. metadata.external_id), not {text!r}")


def metadata_text(value: Any) -> str:
    """A value as Stripe metadata text: str as is, bool "true"/"false", numbers as JSON, objects as compact JSON.

    None is not handled here (it means skip or clear, which is the caller's decision).
    """
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float or isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return str(value)


def identity_key(match_on: MatchOn, value: object) -> str | None:
    """The normalised lookup key of an identifier; None when there is none (None, "", whitespace)."""
    if value is None:
        return None
    text = metadata_text(value).strip()
    if not text:
        return None
    return text.lower() if match_on.kind == "email" else text


def customer_identity_key(match_on: MatchOn, customer: Mapping[str, Any]) -> str | None:
    """The same key read from a Stripe customer dict (or StripeObject)."""
    if match_on.kind == "metadata":
        metadata = customer.get("metadata")
        return identity_key(match_on, metadata.get(match_on.metadata_key)) if isinstance(metadata, Mapping) else None
    return identity_key(match_on, customer.get(match_on.kind))


def looks_like_customer_id(value: str) -> bool:
    """Whether `value` is shaped like a Stripe customer id: "cus_" and at least 8 letters or digits."""
    return isinstance(value, str) and _CUSTOMER_ID.fullmatch(value) is not None
