"""A bounded queue in front of the model: requests that arrive together share one generate call.

Each request becomes a :class:`Job` on an ``asyncio.Queue`` of at most ``queue_size``; a full
queue refuses at once (the caller answers 503). One loop takes the first waiting job, waits up to
``batch_wait_ms`` for others (no wait for those already queued, which is how requests that arrive
while the model is busy ride the next batch together) and hands the batch, grouped by
``max_tokens``, to ``answer`` on one dedicated thread: the model is never called from two threads
at once, and the event loop keeps accepting requests while it works. Dynamic batching of this
kind is what TGI and vLLM do continuously per token; per request is enough for short answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

R = TypeVar("R")

# answer(questions, contexts, max_new_tokens) -> one result per question, in order
AnswerFn = Callable[[list[str], list[str], int], Sequence[R]]


class QueueFullError(RuntimeError):
    """The queue holds ``queue_size`` requests already."""


@dataclass
class Job(Generic[R]):
    question: str
    context: str
    max_tokens: int
    future: asyncio.Future[R]
    queued_at: float = field(default_factory=time.perf_counter)


@dataclass
class BatchStats:
    """Counters /health reports: how many requests were answered in how many generate calls."""

    requests: int = 0
    batches: int = 0
    largest_batch: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "batches": self.batches,
                "largest_batch": self.largest_batch, "errors": self.errors}


class Batcher(Generic[R]):
    """Collects jobs into batches and runs ``answer`` on them, one batch at a time."""

    def __init__(self, answer: AnswerFn[R], queue_size: int, max_batch_size: int,
                 batch_wait_ms: float):
        self.answer = answer
        self.queue_size = queue_size
        self.max_batch_size = max_batch_size
        self.wait_s = batch_wait_ms / 1000.0
        self.stats = BatchStats()
        self._queue: asyncio.Queue[Job[R]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def waiting(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    async def start(self) -> None:
        """Start the loop (inside the server's event loop)."""
        self._queue = asyncio.Queue(maxsize=self.queue_size)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tunesmith-model")
        self._task = asyncio.create_task(self._run(), name="tunesmith-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._queue is not None:  # nobody will answer what is still waiting
            while not self._queue.empty():
                job = self._queue.get_nowait()
                if not job.future.done():
                    job.future.set_exception(RuntimeError("the server is shutting down"))
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def submit(self, question: str, context: str, max_tokens: int) -> asyncio.Future[R]:
        """Queue one question; the future gets its answer. Raises :class:`QueueFullError`."""
        if self._queue is None:
            raise RuntimeError("Batcher.start() has not run")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(Job(question, context, max_tokens, future))
        except asyncio.QueueFull:
            raise QueueFullError(f"{self.queue_size} requests are waiting already") from None
        return future

    async def _collect(self, queue: asyncio.Queue[Job[R]]) -> list[Job[R]]:
        batch = [await queue.get()]
        deadline = time.perf_counter() + self.wait_s
        while len(batch) < self.max_batch_size:
            if not queue.empty():
                batch.append(queue.get_nowait())
                continue
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(queue.get(), left))
            except asyncio.TimeoutError:  # TimeoutError itself from Python 3.11
                break
        return [job for job in batch if not job.future.done()]  # a client that went away

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect(self._queue)
            groups: dict[int, list[Job[R]]] = {}
            for job in batch:
                groups.setdefault(job.max_tokens, []).append(job)
            for max_tokens, jobs in groups.items():
                await self._answer(loop, jobs, max_tokens)

    async def _answer(self, loop: asyncio.AbstractEventLoop, jobs: list[Job[R]],
                      max_tokens: int) -> None:
        try:
            results = await loop.run_in_executor(
                self._executor, self.answer, [j.question for j in jobs],
                [j.context for j in jobs], max_tokens)
            if len(results) != len(jobs):
                raise RuntimeError(f"{len(results)} answers for {len(jobs)} questions")
        except Exception as exc:  # every waiting request learns of it; the loop goes on
            self.stats.errors += len(jobs)
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        self.stats.requests += len(jobs)
        self.stats.batches += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(jobs))
        for job, result in zip(jobs, results, strict=True):
            if not job.future.done():
                job.future.set_result(result)
