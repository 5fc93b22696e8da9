"""Fair shares of the expensive work between tenants.

Embedding is the work that grows with what a caller sends: a one-line turn is a few
milliseconds, a 2 MB batch is minutes. The model runs one batch at a time on every core, so
whoever holds it holds the machine, and a run cannot be interrupted. Run first come, first
served, one tenant's bulk import kept another tenant's one-line adds waiting behind run after
run of it (measured: the interactive calls spent 84 % of their time waiting for the model).

So the work is split in two classes at the gate:

- **interactive**: a call whose texts fit in one chunk (a turn, a query, a small batch). It is
  never queued at the gate: it goes straight to the model, and the most it can find ahead of
  it is the one bulk chunk running now;
- **bulk**: a larger call, embedded a chunk at a time (about one long text, or a few dozen
  short ones: a fraction of a second on two cores). Each chunk takes a turn at the gate;
  turns go round-robin between the tenants with bulk work waiting, at most `slots` chunks run
  at once (one by default: the model takes every core anyway), and a chunk waits until every
  interactive call that arrived before it asked for its turn has finished. Interactive calls
  go first at each chunk boundary; bulk work still gets one chunk per boundary, so neither
  class can starve the other.

Whose work a call is comes from a context variable that the HTTP layer sets from the key
and the worker sets from the job; work with no owner shares one anonymous turn.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from ..heap import release_free_memory
from ..providers.embedder import Embedder, Vectors

# What a chunk may cost, counted in characters with each text capped at TEXT_COST_CAP (the
# model reads at most 256 tokens, about 1,100 characters of English, of any text): one long
# text, or up to CHUNK_TEXTS short ones. On two busy cores a long text takes 90-170 ms, about
# as long per text alone as four to a run, so a small chunk costs bulk work little speed.
TEXT_COST_CAP = 1_200
CHUNK_COST = TEXT_COST_CAP
CHUNK_TEXTS = 32
# The bulk lane's model (about 65 MB resident) is dropped after this long without bulk work,
# and loaded again (a second or two) by the next bulk call.
BULK_IDLE_SECONDS = 120.0

work_owner: ContextVar[Hashable] = ContextVar("work_owner", default=None)


@contextmanager
def owned_by(owner: Hashable) -> Iterator[None]:
    """Attribute the work done inside the block to `owner` (a tenant id)."""
    token = work_owner.set(owner)
    try:
        yield
    finally:
        work_owner.reset(token)


def text_cost(text: str) -> int:
    return min(len(text), TEXT_COST_CAP)


def chunks(texts: list[str]) -> list[list[int]]:
    """Indexes of `texts` in chunks of at most CHUNK_COST (a longer text alone) and
    CHUNK_TEXTS texts; similar lengths share a chunk, so the model pads little."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list[list[int]] = []
    current: list[int] = []
    cost = 0
    for i in order:
        c = text_cost(texts[i])
        if current and (cost + c > CHUNK_COST or len(current) >= CHUNK_TEXTS):
            out.append(current)
            current, cost = [], 0
        current.append(i)
        cost += c
    if current:
        out.append(current)
    return out


def is_interactive(texts: list[str]) -> bool:
    """Work that fits in one chunk: it cannot be split, and it is never queued."""
    return len(texts) <= CHUNK_TEXTS and sum(text_cost(t) for t in texts) <= CHUNK_COST


class FairGate:
    """Turns for bulk chunks: `slots` at once, round-robin between owners with waiting work
    (one owner holds at most `slots - 1` of them, all of them when `slots` is 1), each after
    the interactive calls that were already running when it asked."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.per_owner = max(1, slots - 1)
        self._free = slots
        self._cond = threading.Condition()
        self._waiting: dict[Hashable, deque[int]] = {}
        self._held: dict[Hashable, int] = {}
        self._round: deque[Hashable] = deque()
        self._seq = 0  # numbers interactive calls and bulk tickets in order of arrival
        self._interactive: set[int] = set()  # numbers of the interactive calls running

    def queued(self) -> list[Hashable]:
        """Owners with bulk chunks waiting for a turn, next first."""
        with self._cond:
            return list(self._round)

    def _next(self) -> tuple[Hashable, int] | None:
        """The first owner in the round that may take another turn, and its ticket."""
        for owner in self._round:
            if self._held.get(owner, 0) < self.per_owner:
                return owner, self._waiting[owner][0]
        return None

    def _interactive_before(self, ticket: int) -> bool:
        return any(n < ticket for n in self._interactive)

    @contextmanager
    def interactive(self) -> Iterator[None]:
        """An interactive call: admitted at once; bulk chunks that ask after it wait for it."""
        with self._cond:
            self._seq += 1
            number = self._seq
            self._interactive.add(number)
        try:
            yield
        finally:
            with self._cond:
                self._interactive.discard(number)
                self._cond.notify_all()

    @contextmanager
    def turn(self, owner: Hashable) -> Iterator[None]:
        """A bulk chunk's turn."""
        with self._cond:
            self._seq += 1
            ticket = self._seq
            queue = self._waiting.get(owner)
            if queue is None:
                queue = self._waiting[owner] = deque()
                self._round.append(owner)
            queue.append(ticket)
            while not (
                self._free > 0
                and self._next() == (owner, ticket)
                and not self._interactive_before(ticket)
            ):
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
    """An embedder whose bulk work goes through a FairGate a chunk at a time, behind the
    interactive calls, and runs on the bulk lane: a second instance of the model on fewer
    threads than there are cores (made by `bulk` on the first bulk call, so a service that
    never sees bulk work never loads it, and dropped again once no bulk work has come for
    `bulk_idle_seconds`), so an interactive call always finds a core and the model free.
    Without `bulk`, both classes share `inner`."""

    def __init__(
        self,
        inner: Embedder,
        slots: int,
        bulk: Callable[[], Embedder] | None = None,
        bulk_idle_seconds: float = BULK_IDLE_SECONDS,
    ) -> None:
        self.inner = inner
        self.gate = FairGate(slots)
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.runtime = inner.runtime
        self._make_bulk = bulk
        self._bulk: Embedder | None = None if bulk else inner
        self._bulk_lock = threading.Lock()
        self._bulk_calls = 0  # bulk calls running on the lane now
        self._bulk_used = time.monotonic()  # when the last one ended
        self.bulk_idle_seconds = bulk_idle_seconds
        self._reaper: threading.Thread | None = None

    @property
    def bulk(self) -> Embedder:
        """The bulk lane, made on first use."""
        with self._bulk_lock:
            return self._lane()

    @property
    def bulk_loaded(self) -> bool:
        return self._bulk is not None

    def _lane(self) -> Embedder:
        if self._bulk is None:
            assert self._make_bulk is not None
            self._bulk = self._make_bulk()
        return self._bulk

    def release_idle_bulk(self, idle_for: float) -> bool:
        """Drop the bulk lane's model if it is a second instance, no bulk call runs on it
        and none has ended in the last `idle_for` seconds; True if dropped. Calls already
        holding it finish on it; the next one loads it again."""
        with self._bulk_lock:
            if (
                self._make_bulk is None
                or self._bulk is None
                or self._bulk_calls
                or time.monotonic() - self._bulk_used < idle_for
            ):
                return False
            self._bulk = None
        release_free_memory(force=True)
        return True

    def _reap(self) -> None:
        """Background: drop the bulk lane once idle, then end (the next bulk call restarts it)."""
        while True:
            time.sleep(self.bulk_idle_seconds / 4)
            self.release_idle_bulk(self.bulk_idle_seconds)
            with self._bulk_lock:
                if self._bulk is None:
                    self._reaper = None
                    return

    def embed(self, texts: list[str]) -> Vectors:
        if is_interactive(texts):
            with self.gate.interactive():
                return self.inner.embed(texts)
        owner = work_owner.get()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._bulk_lock:
            lane = self._lane()
            self._bulk_calls += 1
        try:
            for idx in chunks(texts):
                with self.gate.turn(owner):
                    out[idx] = lane.embed([texts[i] for i in idx])
        finally:
            with self._bulk_lock:
                self._bulk_calls -= 1
                self._bulk_used = time.monotonic()
                if self._make_bulk is not None and self._reaper is None:
                    self._reaper = threading.Thread(
                        target=self._reap, name="tessera-bulk-lane", daemon=True
                    )
                    self._reaper.start()
        return out


def bulk_threads(threads: int, cores: int | None) -> int:
    """Threads for the bulk lane: one fewer than the interactive lane may use, at least one."""
    return max(1, (threads or cores or 1) - 1)
