"""How many nodes the server builds answers for at once: admission by weight, first come first
served.

Every request reserves its weight (its worst case in nodes, see :mod:`lineage.graphql.cost`)
from one allowance before it runs and gives it back once its worker has encoded the answer,
or, for a query abandoned at its time budget, once the worker has actually stopped. The allowance
bounds what all requests in flight hold together, hence the server's memory: eight concurrent
requests of sixty ``impact`` aliases once pushed it to 825 MB, and now wait their turn. A
request that cannot be admitted within its time budget is refused as busy, with nothing done.
Waiters are admitted strictly in arrival order, so a heavy request is not starved by a stream of
light ones.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio


class Busy(Exception):
    """The request waited its whole time budget without being admitted."""


@dataclass(slots=True)
class _Waiter:
    weight: int
    admitted: anyio.Event


class NodeAllowance:
    """A weighted, first-come-first-served semaphore counted in nodes.

    :meth:`acquire` and :meth:`release` run on the event loop (a worker thread releases through
    ``anyio.from_thread``), so the bookkeeping needs no lock.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.free = capacity
        self._queue: deque[_Waiter] = deque()

    def weight_of(self, weight: int) -> int:
        """What a request of ``weight`` nodes holds: at most the whole capacity."""
        return max(0, min(weight, self.capacity))

    async def acquire(self, weight: int, timeout: float) -> int:
        """Hold ``weight`` nodes (see :meth:`weight_of`); Busy after ``timeout`` seconds of
        waiting. Returns what is held, to give to :meth:`release`."""
        weight = self.weight_of(weight)
        if not self._queue and self.free >= weight:
            self.free -= weight
            return weight
        waiter = _Waiter(weight, anyio.Event())
        self._queue.append(waiter)
        with anyio.move_on_after(timeout):
            await waiter.admitted.wait()
        if not waiter.admitted.is_set():
            self._queue.remove(waiter)
            self._admit()  # the ones behind it may fit now
            raise Busy
        return weight

    def release(self, weight: int) -> None:
        """Give back what :meth:`acquire` returned."""
        self.free += weight
        self._admit()

    @asynccontextmanager
    async def reserve(self, weight: int, timeout: float) -> AsyncIterator[None]:
        """Hold ``weight`` nodes for the block."""
        held = await self.acquire(weight, timeout)
        try:
            yield
        finally:
            self.release(held)

    def _admit(self) -> None:
        while self._queue and self._queue[0].weight <= self.free:
            waiter = self._queue.popleft()
            self.free -= waiter.weight
            waiter.admitted.set()
