"""A few threads of their own for `/health` and the `?after=` polls of the database.

Request handlers share the thread pool's 40 tokens (AnyIO's default limiter); when they
are all taken, anything else sent to that pool queues behind them. The short queries
health and read-your-writes need go to this separate executor of 4 threads instead, each
with a deadline, so a saturated (or stuck) request pool cannot hang them. A query that
outlives its deadline keeps its thread until the database answers (so a database that
hangs takes at most these 4 threads, never more), and one still queued is dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
ASIDE_THREADS = 4

_executor = ThreadPoolExecutor(ASIDE_THREADS, thread_name_prefix="http-aside")


class AsideTimeoutError(Exception):
    """Raised when a query run aside has not answered by its deadline."""


async def run_aside(function: Callable[[], T], seconds: float) -> T:
    """`function()` in one of the threads kept aside, or AsideTimeoutError after `seconds`
    (the wait for a free thread included)."""
    future = asyncio.get_running_loop().run_in_executor(_executor, function)
    try:
        return await asyncio.wait_for(future, max(0.001, seconds))
    except TimeoutError:
        raise AsideTimeoutError(f"no answer within {seconds:.1f} s") from None
