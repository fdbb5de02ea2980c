"""Bearer tokens: random, shown to the device once, stored only as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets

ACCESS_PREFIX = "sfa_at_"
REFRESH_PREFIX = "sfa_rt_"


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
