"""The merge route (F10): two contacts of one person become one; the other is a tombstone."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from adapters.http import presenters
from adapters.http.endpoint import Context, Reply
from adapters.http.schemas import Body
from domain import commands


class MergeIn(Body):
    merge_id: UUID = Field(description="the other contact: merged into this one, then a tombstone")


def post_merge(ctx: Context) -> Reply:
    body: MergeIn = ctx.body
    cmd = commands.MergeContacts(
        ctx.account_id, ctx.path["contact_id"], body.merge_id, ctx.expected_version
    )
    outcome = ctx.ledger.merge_contacts(cmd, ctx.at, ctx.meta)
    return Reply(presenters.contact_out(ctx.ledger, outcome.state, ctx.at), outcome=outcome)
