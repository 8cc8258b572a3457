"""Tokens whose signature this process has already checked, so each is verified once.

PyJWT checks a token in pure Python, character by character (GHSA-hxm8-2xgr-2p9m), which was
the largest single cost of an authenticated request; a CAD client sends the same token
thousands of times in its lifetime. What a signed token says never changes, so remembering its
verified claims is safe, provided the time checks (`exp`, `nbf`) are made again on every use:
an expired token is decoded afresh and refused as before. What the database decides (revocation,
the account's state and its token cut-off) is never kept here: identity asks on every request.
"""

import threading
import time
from collections import OrderedDict

from flask_jwt_extended.config import config


class VerifiedTokens:
    """A bounded map of (key, encoded token) -> verified claims, least recently used first out."""

    def __init__(self, size: int = 4096):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, entry: tuple) -> dict | None:
        with self.lock:
            claims = self.items.get(entry)
            if claims is None:
                return None
            self.items.move_to_end(entry)
        return claims if _in_time(claims) else None

    def put(self, entry: tuple, claims: dict) -> None:
        with self.lock:
            self.items[entry] = claims
            while len(self.items) > self.size:
                self.items.popitem(last=False)


def _in_time(claims: dict) -> bool:
    # PyJWT's rules with flask-jwt-extended's leeway: expired at `exp - leeway <= now`, usable
    # from `nbf - leeway`.
    now, leeway = time.time(), config.leeway
    expires, not_before = claims.get("exp"), claims.get("nbf")
    if expires is not None and expires <= now - leeway:
        return False
    return not_before is None or not_before <= now + leeway
