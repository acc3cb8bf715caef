"""URLs a config may name (Stripe's API base, an S3-compatible endpoint): http(s) only, and plain http only to this
machine, because what travels to them (the API key, customers' rows) must not cross a network in clear text."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def safe_url(value: str | None, *, example: str, clear_text: str) -> str | None:
    """The URL stripped of blanks and a trailing slash, None when empty; ValueError saying why it cannot be used
    (`clear_text`: what must not travel in clear, for the message)."""
    if value is None or not value.strip():
        return None
    url = urlparse(value.strip())
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"must be an http(s) URL such as {example}")
    if url.scheme == "http" and not is_loopback(url.hostname):
        raise ValueError(f"plain http is only allowed to this machine (loopback); {clear_text}")
    return value.strip().rstrip("/")
