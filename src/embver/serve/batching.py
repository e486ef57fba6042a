"""Dynamic batching: concurrent requests for one version become one encode call.

A request's inputs join the queue of its version. A queue with no batch running starts
one. When the encode thread is idle, the batch is what is waiting now and encodes at once:
a lone request does not wait. When the thread is busy (another batch encodes), the batch
gathers what arrives within ``max_wait`` seconds, and again while more keeps arriving (up
to 4 periods, or until ``max_batch`` inputs wait). It encodes them in one call on the
single encode thread and hands each request its own rows. While a batch encodes, new
requests queue up and form the next one, so under load batches fill without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from embver.errors import InvalidInputError

#: how many ``max_wait`` periods a batch waits at most while requests keep arriving
GATHER_STEPS = 4

#: encodes the inputs of one batch for a key: n inputs → arrays of n rows each
#: (the vectors (n, dim) float32 and, say, each input's token count (n,))
EncodeBatch = Callable[[Hashable, list[str]], tuple[np.ndarray, ...]]


@dataclass
class _Waiting:
    inputs: list[str]
    done: asyncio.Future[tuple[np.ndarray, ...]]


@dataclass
class _Queue:
    waiting: list[_Waiting] = field(default_factory=list)
    running: bool = False
    #: the task draining the queue (held: the event loop keeps only a weak reference)
    task: asyncio.Task[None] | None = None


@dataclass
class BatchStats:
    """What the batcher did: encode calls and the inputs and requests they held."""

    calls: int = 0
    inputs: int = 0
    requests: int = 0
    largest: int = 0


class Batcher:
    """Gathers concurrent requests per key into encode calls of up to ``max_batch`` inputs.

    Parameters
    ----------
    encode
        ``encode(key, inputs)`` → arrays of n rows (vectors (n, dim) float32, …); runs on
        one worker thread.
    max_batch
        Inputs per encode call (a request larger than this is encoded alone, whole).
    max_wait
        Seconds a batch waits for more requests before it encodes.
    """

    def __init__(self, encode: EncodeBatch, max_batch: int = 64, max_wait: float = 0.002):
        if max_batch < 1:
            raise InvalidInputError(f"max_batch={max_batch} must be at least 1")
        self._encode = encode
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.stats = BatchStats()
        self._queues: dict[Hashable, _Queue] = {}
        #: encode calls submitted to the thread and not finished (running or queued there)
        self._in_thread = 0
        # one thread: torch already uses every core for one forward pass
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embver-encode")

    async def encode(self, key: Hashable, inputs: list[str]) -> tuple[np.ndarray, ...]:
        """The rows of ``inputs`` in each array ``encode`` returns (the vectors
        (len(inputs), dim) first), encoded with the others queued for ``key``."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(list(inputs), loop.create_future())
        queue = self._queues.setdefault(key, _Queue())
        queue.waiting.append(waiting)
        if not queue.running:
            queue.running = True
            queue.task = loop.create_task(self._drain(key, queue))
        return await waiting.done

    async def _drain(self, key: Hashable, queue: _Queue) -> None:
        try:
            await self._gather(queue)
            while queue.waiting:
                batch = _take(queue.waiting, self.max_batch)
                await self._run(key, batch)
        finally:
            # nothing awaits between the empty check and here: no request can be left behind
            queue.running = False
            if self._queues.get(key) is queue:
                del self._queues[key]

    async def _gather(self, queue: _Queue) -> None:
        """Wait ``max_wait`` for company, and again while requests keep arriving (at most
        :data:`GATHER_STEPS` times, never past ``max_batch`` inputs): concurrent clients'
        requests reach the queue one by one, a resolution apart, not all at once. An idle
        encode thread does not wait: the requests waiting now encode at once."""
        if self._in_thread == 0:
            return
        waited = 0
        while self.max_wait > 0 and waited < GATHER_STEPS:
            before = _count(queue.waiting)
            if before >= self.max_batch:
                return
            await asyncio.sleep(self.max_wait)
            waited += 1
            if _count(queue.waiting) == before:
                return

    async def _run(self, key: Hashable, batch: list[_Waiting]) -> None:
        inputs = [text for waiting in batch for text in waiting.inputs]
        loop = asyncio.get_running_loop()
        self._in_thread += 1
        try:
            arrays = await loop.run_in_executor(self._thread, self._encode, key, inputs)
        except Exception as exc:  # every request of the batch gets the error
            for waiting in batch:
                if not waiting.done.done():
                    waiting.done.set_exception(exc)
            return
        finally:
            self._in_thread -= 1
        self._count(batch, len(inputs))
        start = 0
        for waiting in batch:
            end = start + len(waiting.inputs)
            if not waiting.done.done():  # a client that went away cancelled its future
                waiting.done.set_result(tuple(a[start:end] for a in arrays))
            start = end

    def _count(self, batch: list[_Waiting], inputs: int) -> None:
        self.stats.calls += 1
        self.stats.inputs += inputs
        self.stats.requests += len(batch)
        self.stats.largest = max(self.stats.largest, inputs)

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)


def _count(waiting: list[_Waiting]) -> int:
    return sum(len(w.inputs) for w in waiting)


def _take(waiting: list[_Waiting], max_batch: int) -> list[_Waiting]:
    """The oldest requests whose inputs fit ``max_batch`` (at least one), removed."""
    taken, size = 0, 0
    while taken < len(waiting) and (taken == 0 or size + len(waiting[taken].inputs) <= max_batch):
        size += len(waiting[taken].inputs)
        taken += 1
    batch = waiting[:taken]
    del waiting[:taken]
    return batch
