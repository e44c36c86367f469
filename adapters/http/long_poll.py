"""Long-polling the change feed: wait in the event loop, query in the thread pool.

A waiting request holds no thread and no database connection: between two looks it sleeps
in the event loop, and each look borrows a thread and a pooled connection for one
primary-key read of the audit's position (the account's entries are queried again only
when that position moved). It stops waiting when an entry comes, when its time is up, when
the client has gone, or when it is cancelled (e.g. by uvicorn at the end of a graceful
shutdown).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool

from adapters.sql.change_feed import FeedPage, FeedQuery, SqlFeedView

MAX_WAIT_SECONDS = 30.0
TICK_SECONDS = 0.1


class FeedFollower:
    """Answers a feed page, waiting up to `wait` seconds for one with entries."""

    def __init__(
        self, view: SqlFeedView, max_wait: float = MAX_WAIT_SECONDS, tick: float = TICK_SECONDS
    ) -> None:
        self.view = view
        self.max_wait = max_wait  # the server's cap on `wait` (LEDGER_FEED_WAIT_SECONDS)
        self.tick = tick

    async def page(
        self, query: FeedQuery, wait: float, gone: Callable[[], Awaitable[bool]]
    ) -> FeedPage:
        deadline = time.monotonic() + min(wait, self.max_wait)
        page = await run_in_threadpool(self.view.page, query)
        while not page.entries and not await gone():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await asyncio.sleep(min(self.tick, left))
            if await run_in_threadpool(self.view.head) != page.head:
                page = await run_in_threadpool(self.view.page, query)
        return page
