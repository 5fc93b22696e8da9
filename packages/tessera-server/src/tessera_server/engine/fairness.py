"""Fair shares of the expensive work between tenants.

Embedding is the work that grows with what a caller sends: one turn is a few milliseconds,
a 2 MB batch is tens of seconds. Run first come, first served, one tenant's bulk import
holds every core while another tenant's one-line add waits behind all of it. So embedding
runs through a gate with a few slots (about one per core), and the texts of a call are
embedded a chunk at a time: each chunk takes a turn, and turns go round-robin between the
tenants that are waiting. No tenant holds more than all slots but one, so a slot is always
free for another tenant's bulk work. Calls of one chunk or less (a turn, a query, a small
batch) do not queue at all: they only share the cores with the bulk work, which holds at
most `slots` of them, so a one-line add never waits for someone's import.

Whose work a call is comes from a context variable that the HTTP layer sets from the key
and the worker sets from the job; work with no owner shares one anonymous turn.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from ..providers.embedder import Embedder, Vectors

# Texts embedded per turn at the gate: large enough that the model runs full batches,
# small enough that a turn is short (16 long texts take a couple of hundred ms on one core).
CHUNK = 16

work_owner: ContextVar[Hashable] = ContextVar("work_owner", default=None)


@contextmanager
def owned_by(owner: Hashable) -> Iterator[None]:
    """Attribute the work done inside the block to `owner` (a tenant id)."""
    token = work_owner.set(owner)
    try:
        yield
    finally:
        work_owner.reset(token)


class FairGate:
    """`slots` turns at once, handed out round-robin between owners with waiting work; one
    owner holds at most `slots - 1` of them (all of them when there is only one)."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.per_owner = max(1, slots - 1)
        self._free = slots
        self._cond = threading.Condition()
        self._waiting: dict[Hashable, deque[object]] = {}
        self._held: dict[Hashable, int] = {}
        self._round: deque[Hashable] = deque()

    def _next(self) -> tuple[Hashable, object] | None:
        """The first owner in the round that may take another turn, and its ticket."""
        for owner in self._round:
            if self._held.get(owner, 0) < self.per_owner:
                return owner, self._waiting[owner][0]
        return None

    @contextmanager
    def turn(self, owner: Hashable) -> Iterator[None]:
        ticket = object()
        with self._cond:
            queue = self._waiting.get(owner)
            if queue is None:
                queue = self._waiting[owner] = deque()
                self._round.append(owner)
            queue.append(ticket)
            while not (self._free > 0 and self._next() == (owner, ticket)):
                self._cond.wait()
            queue.popleft()
            self._round.remove(owner)
            if queue:
                self._round.append(owner)  # its next ticket waits for everyone else's turn
            else:
                del self._waiting[owner]
            self._free -= 1
            self._held[owner] = self._held.get(owner, 0) + 1
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._free += 1
                self._held[owner] -= 1
                if not self._held[owner]:
                    del self._held[owner]
                self._cond.notify_all()


class FairEmbedder:
    """An embedder whose work goes through a FairGate, a chunk of texts per turn."""

    def __init__(self, inner: Embedder, slots: int) -> None:
        self.inner = inner
        self.gate = FairGate(slots)
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.runtime = inner.runtime

    def embed(self, texts: list[str]) -> Vectors:
        if len(texts) <= CHUNK:
            # An interactive call (a turn, a query, a small batch) is never queued: it only
            # shares the cores with the bulk work, which can hold at most `slots` of them.
            return self.inner.embed(texts)
        owner = work_owner.get()
        # Similar lengths share a chunk, so the model pads little (as it would unchunked).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), CHUNK):
            idx = order[start : start + CHUNK]
            with self.gate.turn(owner):
                out[idx] = self.inner.embed([texts[i] for i in idx])
        return out
