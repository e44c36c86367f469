"""A contact's extras (F8, decision 0012): processing status, groups, marketing consent and
the site account; their values, their limits and the commands that record them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from domain.aggregate import AggregatePart
from domain.meta import Meta

if TYPE_CHECKING:
    from domain.aggregate import LedgerAggregate

PROCESSING_STATUSES = ("new", "in_progress", "processed")
MAX_FAILED_ATTEMPTS = 1_000_000
MAX_SOURCE_LENGTH = 200
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


class ContactInputError(ValueError):
    """Raised when a contact extra (status, consent, site account, note, form) is not valid."""


@dataclass(frozen=True)
class Consent:
    """Marketing consent (F8): when and where it was given."""

    given_at: datetime
    source: str


@dataclass(frozen=True)
class SiteAccount:
    """The person's account on the organiser's site, as the site reports it (F8)."""

    confirmed: bool = False
    locked_until: datetime | None = None
    failed_attempts: int = 0

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


class ContactExtras(AggregatePart):
    """The commands on a contact's extras: a mixin of `Contact`, which holds their state
    and defines the events they record."""

    if TYPE_CHECKING:  # what this uses of Contact
        processing_status: str
        groups: set[UUID]
        consent: Consent | None
        site_account: SiteAccount
        ProcessingStatusSet: ClassVar[type[LedgerAggregate.Event]]
        AddedToGroup: ClassVar[type[LedgerAggregate.Event]]
        RemovedFromGroup: ClassVar[type[LedgerAggregate.Event]]
        ConsentGiven: ClassVar[type[LedgerAggregate.Event]]
        ConsentWithdrawn: ClassVar[type[LedgerAggregate.Event]]
        SiteAccountChanged: ClassVar[type[LedgerAggregate.Event]]

    def set_processing_status(self, status: str, at: datetime, meta: Meta) -> None:
        if status not in PROCESSING_STATUSES:
            raise ContactInputError(
                f"processing status must be one of {', '.join(PROCESSING_STATUSES)}"
            )
        if status != self.processing_status:
            self.record(self.ProcessingStatusSet, at, meta, status=status)

    def add_to_group(self, group_id: UUID, at: datetime, meta: Meta) -> bool:
        if group_id in self.groups:
            return False
        self.record(self.AddedToGroup, at, meta, group_id=group_id)
        return True

    def remove_from_group(self, group_id: UUID, at: datetime, meta: Meta) -> bool:
        if group_id not in self.groups:
            return False
        self.record(self.RemovedFromGroup, at, meta, group_id=group_id)
        return True

    def give_consent(self, given_at: datetime, source: str, at: datetime, meta: Meta) -> None:
        """Record marketing consent; giving it again with the same date and source is a no-op."""
        _check_source(source)
        _check_time(given_at, "given_at")
        if self.consent != Consent(given_at, source):
            self.record(self.ConsentGiven, at, meta, given_at=given_at, source=source)

    def withdraw_consent(self, source: str, at: datetime, meta: Meta) -> None:
        _check_source(source)
        if self.consent is not None:
            self.record(self.ConsentWithdrawn, at, meta, source=source)

    def change_site_account(self, state: SiteAccount, at: datetime, meta: Meta) -> None:
        if not 0 <= state.failed_attempts <= MAX_FAILED_ATTEMPTS:
            raise ContactInputError(f"failed_attempts is 0 to {MAX_FAILED_ATTEMPTS}")
        if state.locked_until is not None:
            _check_time(state.locked_until, "locked_until")
        if state != self.site_account:
            self.record(
                self.SiteAccountChanged,
                at,
                meta,
                confirmed=state.confirmed,
                locked_until=state.locked_until,
                failed_attempts=state.failed_attempts,
            )

    def unlock(self, at: datetime, meta: Meta) -> None:
        """Lift a lock and forget failed attempts (the site's "unlock" button)."""
        state = SiteAccount(self.site_account.confirmed, None, 0)
        self.change_site_account(state, at, meta)


def _check_time(value: datetime, name: str) -> None:
    """A time every store and every reader can hold (UTC years 1900 to 8999)."""
    if value.tzinfo is None or not EARLIEST <= value < LATEST:
        raise ContactInputError(f"{name} must have a time zone and lie in the years 1900–8999")


def _check_source(source: str) -> None:
    if not source.strip() or len(source) > MAX_SOURCE_LENGTH or "\x00" in source:
        raise ContactInputError(f"a consent source is 1 to {MAX_SOURCE_LENGTH} characters")
