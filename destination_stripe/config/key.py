"""A Stripe API key's shape, checked before any call: what kind of key it is, and a message that says what is wrong
without ever quoting it."""

from __future__ import annotations

import re

KEY_PREFIX = re.compile(r"^(sk|rk)_(test|live)_")
_KEY_BODY = re.compile(r"[A-Za-z0-9_]*")
KEY_BODY_MIN = 8


def checked_key(raw: str) -> str:
    """The key without surrounding whitespace; ValueError naming what is wrong with its shape."""
    key = raw.strip()
    if key.startswith("pk_"):
        raise ValueError(
            "this is a publishable key (pk_), which cannot write customers; use a secret key (sk_test_/sk_live_) "
            "or a restricted key (rk_) with Customers write permission"
        )
    prefix = KEY_PREFIX.match(key)
    if prefix is None:
        raise ValueError("not a Stripe secret or restricted key: expected sk_test_, sk_live_, rk_test_ or rk_live_")
    body = key[prefix.end():]
    if not _KEY_BODY.fullmatch(body):  # never quote the key: only say what kind of character is wrong
        raise ValueError(f"after {prefix.group(0)} a Stripe key has only letters, digits and _; this one has "
                         "other characters (a space, quote or line break pasted with it?)")
    if len(body) < KEY_BODY_MIN:
        raise ValueError(f"too short: after {prefix.group(0)} a Stripe key has at least {KEY_BODY_MIN} letters "
                         f"or digits, this one has {len(body)} (was it cut when copied?)")
    return key
