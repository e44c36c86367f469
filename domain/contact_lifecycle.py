"""A contact's life: live, deleted (restorable within its window), restored, erased
(decisions 0013, 0014); the commands and the refusal to change a deleted contact."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from domain.aggregate import AggregatePart
from domain.meta import Meta
from domain.retention import ErasedError, RestoreWindowClosedError

if TYPE_CHECKING:
    from domain.aggregate import LedgerAggregate


class ContactDeletedError(Exception):
    """Raised when a command would change a deleted contact (restore it first)."""

    def __init__(self, contact_id: UUID) -> None:
        super().__init__(f"contact {contact_id} is deleted; restore it first")


class ContactLifecycle(AggregatePart):
    """Checking, deleting, restoring and erasing a contact: a mixin of `Contact`, which
    holds its state and defines the events these record."""

    if TYPE_CHECKING:  # what this uses of Contact
        erased: bool
        deleted: bool
        restore_until: datetime | None
        Deleted: ClassVar[type[LedgerAggregate.Event]]
        Restored: ClassVar[type[LedgerAggregate.Event]]
        Erased: ClassVar[type[LedgerAggregate.Event]]

        def check_not_merged(self) -> None: ...

    def check_live(self) -> None:
        if self.erased:
            raise ErasedError("contact", self.id)
        self.check_not_merged()
        if self.deleted:
            raise ContactDeletedError(self.id)

    def delete(self, restore_until: datetime, at: datetime, meta: Meta) -> bool:
        """Hide the contact until `restore_until` (exclusive); again: nothing."""
        if self.erased:
            raise ErasedError("contact", self.id)
        self.check_not_merged()
        if self.deleted:
            return False
        self.record(self.Deleted, at, meta, restore_until=restore_until)
        return True

    def restore(self, at: datetime, meta: Meta) -> bool:
        """Bring a deleted contact back within its window; a live one: nothing."""
        if self.erased:
            raise ErasedError("contact", self.id)
        self.check_not_merged()
        if not self.deleted:
            return False
        assert self.restore_until is not None
        if at >= self.restore_until:
            raise RestoreWindowClosedError(self.restore_until)
        self.record(self.Restored, at, meta)
        return True

    def erase(self, reason: str, at: datetime, meta: Meta) -> bool:
        """Forget the person: an `Erased` fact without personal data (keys are shredded)."""
        if self.erased:
            return False
        self.record(self.Erased, at, meta, reason=reason)
        return True
