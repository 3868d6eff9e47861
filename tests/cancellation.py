"""Cancel a coroutine at its n-th suspension, for every n (httpcore's test_cancellations idea).

``cancel_at(coro, n)`` drives ``coro`` step by step the way an asyncio Task does, and at its n-th
suspension does what ``Task.cancel()`` would: cancels the future it waits for and throws
``CancelledError`` into it. The coroutine may clean up (await more, shielded or not) and must
then end. A test loops over n = 1, 2, ... with a fresh coroutine each time until one completes
before its n-th suspension, and checks after each run that nothing was lost::

    for point in itertools.count(1):
        run = await cancel_at(send_message(...), point)
        await check_the_store(run)
        if run.completed:
            break
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

#: A coroutine suspended more often than this is taken to loop forever.
MAX_STEPS = 10_000


@dataclass(frozen=True, slots=True)
class Run:
    """How one run ended."""

    #: The suspension the cancellation was thrown at (1-based).
    point: int
    #: The coroutine returned before reaching ``point``: there are no more points to try.
    completed: bool
    #: What it returned, if it returned (a coroutine that swallows the cancellation returns).
    result: object = None
    #: What came out of it: CancelledError when it honoured the cancellation, another error, or
    #: None when it returned (a cancelled coroutine that swallows the cancellation returns too).
    error: BaseException | None = None

    @property
    def cancelled(self) -> bool:
        """Whether the cancellation propagated out of the coroutine, as it must."""
        return isinstance(self.error, asyncio.CancelledError)


async def cancel_at(coro: Coroutine[Any, Any, object], point: int) -> Run:
    """Run ``coro``, cancelling it at its ``point``-th suspension; return how it ended."""
    if point < 1:
        raise ValueError("suspension points count from 1")
    throw: BaseException | None = None
    for steps in range(1, MAX_STEPS + 1):
        try:
            if throw is not None:
                yielded = coro.throw(throw)
                throw = None
            else:
                yielded = coro.send(None)
        except StopIteration as stop:
            return Run(point, completed=steps <= point, result=stop.value)
        except BaseException as exc:
            return Run(point, completed=False, error=exc)
        if steps == point:
            if isinstance(yielded, asyncio.Future):
                yielded.cancel()  # as Task.cancel() cancels the future it waits on
                # ...and, as the Task does, takes its outcome (a gather ends in an exception).
                yielded.add_done_callback(_retrieve)
            throw = asyncio.CancelledError()
            continue
        await _wait_for(yielded)
    coro.close()
    raise AssertionError(f"the coroutine suspended more than {MAX_STEPS} times")


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


async def _wait_for(yielded: object) -> None:
    """Wait for what the coroutine yielded, as a Task would, without taking its result."""
    if yielded is None:  # a bare yield: asyncio.sleep(0)
        await asyncio.sleep(0)
        return
    if not isinstance(yielded, asyncio.Future):
        raise TypeError(f"the coroutine yielded {yielded!r}, not an asyncio future")
    yielded._asyncio_future_blocking = False  # a Task resets it before it waits
    await asyncio.wait([yielded])
