"""Stripe's metadata rules, the same on every object: at most 50 keys, keys of at most 40 characters without `[` or
`]`, string values of at most 500 characters.

`metadata_text` is the one place values become metadata strings: a metadata identifier must be written (mapping) and
read back (finder) in exactly the same text form. `flat_metadata_key` names a nested value kept in metadata.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

METADATA_KEY_MAX = 40
METADATA_MAX_KEYS = 50
METADATA_VALUE_MAX = 500


def metadata_key_problem(key: str) -> str | None:
    """Why `key` cannot be a Stripe metadata key (non-empty, at most 40 characters, no [ or ]), or None."""
    if not key:
        return "metadata keys cannot be empty"
    if len(key) > METADATA_KEY_MAX:
        return f"metadata key {key!r} is longer than {METADATA_KEY_MAX} characters"
    if "[" in key or "]" in key:
        return f"metadata key {key!r} contains [ or ]"
    return None


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


def flat_metadata_key(path: str) -> str:
    """A metadata key for a nested path: dots become underscores, brackets (refused by Stripe) too, and a name over
    Stripe's 40 characters keeps its first 31 and a stable 8-character hash of the whole (blake2b, the same in every
    process, so a re-run writes the same key)."""
    name = path.replace(".", "_").replace("[", "_").replace("]", "_")
    if len(name) <= METADATA_KEY_MAX:
        return name
    digest = hashlib.blake2b(name.encode(), digest_size=4).hexdigest()
    return f"{name[:METADATA_KEY_MAX - 9]}_{digest}"
