"""A contact's field values and participant links, as sync and edits change them: values
taken when their edit is the latest, superseded edits kept, propagation queued, participants
linked and unlinked (F5, F6)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from domain.aggregate import AggregatePart
from domain.meta import Meta

if TYPE_CHECKING:
    from domain.aggregate import LedgerAggregate


class ContactValues(AggregatePart):
    """The commands on a contact's values and links: a mixin of `Contact`, which holds
    their state and defines the events they record."""

    if TYPE_CHECKING:  # what this uses of Contact
        fields: dict[str, Any]
        stamps: dict[str, datetime]
        participants: dict[UUID, UUID]
        FieldsChanged: ClassVar[type[LedgerAggregate.Event]]
        EditSuperseded: ClassVar[type[LedgerAggregate.Event]]
        PropagationQueued: ClassVar[type[LedgerAggregate.Event]]
        ParticipantLinked: ClassVar[type[LedgerAggregate.Event]]
        ParticipantUnlinked: ClassVar[type[LedgerAggregate.Event]]

    def take_values(
        self,
        values: Mapping[str, Any],
        edited_at: datetime,
        at: datetime,
        meta: Meta,
        via: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Take the values whose edit is not older than the contact's (latest edit wins).

        A value equal to the current one still records its newer edit time, so that a
        later-arriving older edit cannot win. Returns only the values that changed: what
        must flow down to the participants (an equal value has nothing to send).
        """
        taken = {
            name: value
            for name, value in values.items()
            if edited_at >= self.stamps.get(name, edited_at)
            and (self.fields.get(name) != value or self.stamps.get(name) != edited_at)
        }
        changed = {name: v for name, v in taken.items() if self.fields.get(name) != v}
        if taken:
            self.record(self.FieldsChanged, at, meta, fields=taken, edited_at=edited_at, via=via)
        return changed

    def queue_propagation(
        self, names: Iterable[str], via: dict[str, str], at: datetime, meta: Meta
    ) -> None:
        """Ask for `names` to be brought down to every participant after this command:
        too many of them to write in the request (domain/propagation.py)."""
        self.record(self.PropagationQueued, at, meta, names=sorted(names), via=via)

    def link(
        self, participant_id: UUID, organiser_event_id: UUID, at: datetime, meta: Meta
    ) -> None:
        if participant_id not in self.participants:
            self.record(
                self.ParticipantLinked,
                at,
                meta,
                participant_id=participant_id,
                organiser_event_id=organiser_event_id,
            )

    def unlink(self, participant_id: UUID, at: datetime, meta: Meta) -> None:
        if participant_id in self.participants:
            self.record(self.ParticipantUnlinked, at, meta, participant_id=participant_id)

    def supersede_edit(
        self, values: Mapping[str, Any], edited_at: datetime, at: datetime, meta: Meta
    ) -> dict[str, Any]:
        """Record the asked values that a newer edit had already replaced (latest edit wins),
        so that the edit is in the log and the audit though it changed nothing (decision
        0050). Call it after the values were taken; returns those superseded."""
        lost = {
            name: value
            for name, value in values.items()
            if edited_at < self.stamps.get(name, edited_at) and self.fields.get(name) != value
        }
        if lost:
            self.record(self.EditSuperseded, at, meta, fields=lost, edited_at=edited_at)
        return lost
