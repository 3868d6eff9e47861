"""The cancellation helper itself: it finds every suspension and cancels as a Task would."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from tests.cancellation import Run, cancel_at


async def three_waits(log: list[str]) -> str:
    log.append("start")
    await asyncio.sleep(0)
    log.append("one")
    await asyncio.sleep(0.001)
    log.append("two")
    await asyncio.sleep(0)
    log.append("three")
    return "done"


async def test_each_point_is_reached_once_then_the_coroutine_completes() -> None:
    runs: list[Run] = []
    for point in itertools.count(1):
        log: list[str] = []
        run = await cancel_at(three_waits(log), point)
        runs.append(run)
        if run.completed:
            assert log[-1] == "three"
            break
        assert run.cancelled
        assert len(log) == point  # cancelled right where it was suspended
    assert [r.point for r in runs] == [1, 2, 3, 4]
    assert runs[-1].result == "done"


async def test_the_awaited_future_is_cancelled_and_shielded_work_finishes() -> None:
    loop = asyncio.get_running_loop()
    waited: asyncio.Future[None] = loop.create_future()
    inner = asyncio.ensure_future(asyncio.sleep(0.01, "inner"))

    async def body() -> None:
        try:
            await waited
        finally:
            assert await asyncio.shield(inner) == "inner"  # cleanup that awaits

    run = await cancel_at(body(), 1)
    assert run.cancelled
    assert waited.cancelled()
    assert inner.done()


async def test_a_coroutine_that_swallows_the_cancellation_is_seen() -> None:
    async def swallows() -> str:
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            return "swallowed"
        return "slept"

    run = await cancel_at(swallows(), 1)
    assert not run.cancelled
    assert not run.completed
    assert run.result == "swallowed"
    assert run.error is None


async def test_points_count_from_one() -> None:
    coro = three_waits([])
    with pytest.raises(ValueError, match="count from 1"):
        await cancel_at(coro, 0)
    coro.close()
