"""Signed webhook requests, for the gateway side (README, Notifications).

Each request carries `X-Mediation-Timestamp` (Unix seconds) and `X-Mediation-Signature`,
`sha256=` + hex HMAC-SHA256, keyed with the shared secret, over the timestamp, a dot and
the raw body bytes. The gateway recomputes it over the body exactly as received, compares
in constant time, and refuses a timestamp more than five minutes off (a replay).
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Mediation-Timestamp"
SIGNATURE_HEADER = "X-Mediation-Signature"
TOLERANCE = 300  # seconds either way


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: bytes, timestamp: str, body: bytes, signed: str, now: float | None = None
) -> bool:
    """What the gateway does with a request (this module is its reference)."""
    try:
        skew = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return skew <= TOLERANCE and hmac.compare_digest(signature(secret, timestamp, body), signed)
