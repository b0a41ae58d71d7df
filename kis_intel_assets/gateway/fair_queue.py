"""Fair queueing between gateway clients: strict priority between classes, round robin within one.

Each client has its own FIFO lane per class; the next request sent is taken from the first class that has
any, from the client after the one served last. A client that floods only lengthens its own lane, so every
other waiting client is served within one round.

Senders first `reserve()` (blocks until some request is waiting and not yet promised to another sender),
then take their turn in the shared budget, and only then `pop()`: which request goes out is decided at the
moment it may be sent, so a request that arrives while a sender waits for its slot can still go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from typing import Generic, TypeVar

Item = TypeVar("Item")


class LaneFull(Exception):
    """The client already has the maximum number of requests waiting."""


class FairQueue(Generic[Item]):
    def __init__(self, classes: int, max_per_client: int) -> None:
        self._lanes: list[OrderedDict[str, deque[Item]]] = [OrderedDict() for _ in range(classes)]
        self._per_client: dict[str, int] = {}
        self._max_per_client = max_per_client
        self._unreserved = 0
        self._closed = False
        self._ready = threading.Condition()

    def put(self, client: str, priority: int, item: Item) -> None:
        with self._ready:
            if self._per_client.get(client, 0) >= self._max_per_client:
                raise LaneFull(client)
            self._lanes[priority].setdefault(client, deque()).append(item)
            self._per_client[client] = self._per_client.get(client, 0) + 1
            self._unreserved += 1
            self._ready.notify()

    def reserve(self, timeout: float) -> bool:
        """Promises the caller one `pop()`; False on timeout or once closed."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._unreserved > 0 or self._closed, timeout):
                return False
            if self._unreserved == 0:
                return False
            self._unreserved -= 1
            return True

    def pop(self) -> Item:
        """The next request by priority and round robin; only after a successful `reserve()`."""
        with self._ready:
            for lanes in self._lanes:
                if lanes:
                    client, lane = next(iter(lanes.items()))
                    item = lane.popleft()
                    if lane:
                        lanes.move_to_end(client)
                    else:
                        del lanes[client]
                    self._per_client[client] -= 1
                    return item
        raise RuntimeError("pop() without a reservation")

    def depth(self) -> list[int]:
        """Waiting requests per class."""
        with self._ready:
            return [sum(len(lane) for lane in lanes.values()) for lanes in self._lanes]

    def close(self) -> None:
        """Wakes every waiting sender; reservations already made can still pop."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
