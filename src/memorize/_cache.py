"""A small cache keyed by the identity of two objects (layers, arrays) that keeps them alive.

Keying by ``id`` alone would be wrong once an object is freed and its id reused; each entry
therefore holds the two objects and a hit must be the very same objects.
"""

from __future__ import annotations

from typing import Callable


class PairCache:
    """``get(a, b, compute)``: ``compute()`` once per pair of objects, cleared past ``limit`` entries.

    >>> cache, calls = PairCache(limit=2), []
    >>> x, y = object(), object()
    >>> cache.get(x, y, lambda: calls.append(1) or 42), cache.get(x, y, lambda: calls.append(1) or 0), len(calls)
    (42, 42, 1)
    """

    def __init__(self, limit: int):
        self.limit = limit
        self._entries: dict = {}

    def get(self, a, b, compute: Callable):
        key = (id(a), id(b))
        hit = self._entries.get(key)
        if hit is not None and hit[0] is a and hit[1] is b:
            return hit[2]
        if len(self._entries) > self.limit:
            self._entries.clear()
        value = compute()
        self._entries[key] = (a, b, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
