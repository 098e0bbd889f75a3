"""The batcher alone, with a recording answer function instead of a model."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tunesmith.serve import Batcher, QueueFullError


class Recorder:
    def __init__(self, fail_on: str | None = None):
        self.calls: list[tuple[list[str], int]] = []
        self.threads: set[str] = set()
        self.fail_on = fail_on

    def __call__(self, questions: list[str], contexts: list[str], max_tokens: int) -> list[str]:
        self.calls.append((list(questions), max_tokens))
        self.threads.add(threading.current_thread().name)
        if self.fail_on in questions:
            raise ValueError("model exploded")
        return [f"{q}|{c}|{max_tokens}" for q, c in zip(questions, contexts, strict=True)]


def test_requests_arriving_together_share_one_call_grouped_by_max_tokens() -> None:
    recorder = Recorder()

    async def main() -> list[str]:
        batcher: Batcher[str] = Batcher(recorder, queue_size=16, max_batch_size=8,
                                        batch_wait_ms=50)
        await batcher.start()
        futures = [batcher.submit(f"q{i}", f"c{i}", 4 if i < 5 else 9) for i in range(7)]
        results = list(await asyncio.gather(*futures))
        assert batcher.stats.as_dict() == {"requests": 7, "batches": 2, "largest_batch": 5,
                                           "errors": 0}
        await batcher.stop()
        return results

    results = asyncio.run(main())
    assert results == [f"q{i}|c{i}|{4 if i < 5 else 9}" for i in range(7)]
    assert recorder.calls == [([f"q{i}" for i in range(5)], 4), (["q5", "q6"], 9)]
    assert all(name.startswith("tunesmith-model") for name in recorder.threads)


def test_batches_are_capped_and_a_full_queue_refuses() -> None:
    recorder = Recorder()

    async def main() -> None:
        batcher: Batcher[str] = Batcher(recorder, queue_size=3, max_batch_size=2,
                                        batch_wait_ms=0)
        await batcher.start()
        futures = [batcher.submit(f"q{i}", "c", 1) for i in range(3)]  # queued, loop not run
        with pytest.raises(QueueFullError, match="3 requests are waiting"):
            batcher.submit("q3", "c", 1)
        await asyncio.gather(*futures)
        await batcher.stop()

    asyncio.run(main())
    assert [len(q) for q, _ in recorder.calls] == [2, 1]


def test_a_failing_batch_fails_its_requests_and_the_loop_goes_on() -> None:
    recorder = Recorder(fail_on="bad")

    async def main() -> None:
        batcher: Batcher[str] = Batcher(recorder, queue_size=8, max_batch_size=8,
                                        batch_wait_ms=20)
        await batcher.start()
        failing = [batcher.submit("bad", "c", 1), batcher.submit("ok", "c", 1)]
        outcomes = await asyncio.gather(*failing, return_exceptions=True)
        assert all(isinstance(o, ValueError) for o in outcomes)
        assert await batcher.submit("later", "c", 1) == "later|c|1"
        assert batcher.stats.errors == 2 and batcher.stats.requests == 1
        await batcher.stop()

    asyncio.run(main())


def test_a_request_whose_client_left_is_not_answered() -> None:
    recorder = Recorder()

    async def main() -> None:
        batcher: Batcher[str] = Batcher(recorder, queue_size=8, max_batch_size=8,
                                        batch_wait_ms=20)
        await batcher.start()
        gone = batcher.submit("gone", "c", 1)
        kept = batcher.submit("kept", "c", 1)
        gone.cancel()
        assert await kept == "kept|c|1"
        await batcher.stop()

    asyncio.run(main())
    assert recorder.calls == [(["kept"], 1)]
