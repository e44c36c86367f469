"""The change feed route (F22): the account's audit entries after a log position, long-polled."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from adapters.http import schemas
from adapters.http.audit import entry_out
from adapters.http.endpoint import Context, Reply
from adapters.http.long_poll import MAX_WAIT_SECONDS
from adapters.http.parameters import Parameter
from adapters.sql.change_feed import MAX_LIMIT, MAX_POSITION, FeedPage, FeedQuery

AFTER = Parameter(
    "after",
    Annotated[int, Field(ge=0, le=MAX_POSITION)],
    "Entries after this log position: the `next_after` of the previous answer (default 0, "
    "the beginning)",
)
LIMIT = Parameter(
    "limit", Annotated[int, Field(ge=1, le=MAX_LIMIT)], "Entries per answer (default 100)"
)
WAIT = Parameter(
    "wait",
    Annotated[float, Field(ge=0, le=MAX_WAIT_SECONDS, allow_inf_nan=False)],
    "Seconds to wait for an entry when there is none after `after` yet (default 0: answer "
    "at once; at most 30, or less if the server is set so); the answer comes as soon as "
    "one is there",
)
QUERY = (AFTER, LIMIT, WAIT)


async def get_feed(ctx: Context) -> Reply:
    query = FeedQuery(ctx.account_id, _value(ctx, AFTER, 0), _value(ctx, LIMIT, 100))
    page = await ctx.feed.page(query, _value(ctx, WAIT, 0.0), ctx.gone)
    return Reply(feed_out(page))


def feed_out(page: FeedPage) -> schemas.FeedPageOut:
    items = [entry_out(e) for e in page.entries]
    return schemas.FeedPageOut(items=items, next_after=page.next_after, head=page.head)


def _value(ctx: Context, parameter: Parameter, default: Any) -> Any:
    """A declared query parameter, parsed by its type (the endpoint has checked it)."""
    raw = ctx.query.get(parameter.name)
    return default if raw is None else parameter.parse(raw)
