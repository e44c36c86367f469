"""Contact derivation and propagation (F4–F6), run inside one unit of work.

Everything a command changes — the participant, its contact, the key index entry and
every other participant a propagated value flows down to — is saved in ONE transaction,
so there is no half-applied propagation and no loop: propagated writes never re-enter
this engine. A contact with more participants than a command should write records that
they are due instead, for the propagation follow-up (domain/propagation.py, decision
0049). Concurrent writers are settled by optimistic versions and the key index's
unique constraint; the loser re-runs its command on fresh state. The latest edit wins
by its edit time (ties: the one saved later, i.e. later in the log).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain.accounts import Account
from domain.contact_keys import KeyTakenError
from domain.contacts import Contact
from domain.fields import FieldValueError
from domain.keys import key_values
from domain.meta import Meta
from domain.organiser_events import OrganiserEvent
from domain.participants import Participant
from domain.propagation import bring_in_line, push_down


class StaleSettingsError(Exception):
    """Raised when a decision used cached settings that changed meanwhile (re-run it)."""


class MergedMeanwhileError(StaleSettingsError):
    """Raised when a key led to a contact merged since it was looked up (re-run it: the
    merge moved the key to the survivor in its own transaction)."""


class Workspace(Protocol):
    """What the engine needs from a unit of work: loaded aggregates and key claims."""

    def account(self, account_id: UUID, for_update: bool = False) -> Account: ...
    def organiser_event(self, account_id: UUID, organiser_event_id: UUID) -> OrganiserEvent: ...
    def participant(self, account_id: UUID, participant_id: UUID) -> Participant: ...
    def contact(self, account_id: UUID, contact_id: UUID) -> Contact: ...
    def add(self, aggregate: Any) -> None: ...
    def contact_for_key(self, account_id: UUID, digest: str) -> UUID | None: ...
    def claim(self, account_id: UUID, digest: str, contact_id: UUID) -> None: ...
    def release(self, account_id: UUID, digest: str, contact_id: UUID) -> None: ...
    def digest(self, account_id: UUID, values: tuple[str, ...]) -> str: ...


class ContactSync:
    def __init__(self, work: Workspace, at: datetime, meta: Meta) -> None:
        self.work = work
        self.at = at
        self.meta = meta

    # --- entry points -------------------------------------------------------------

    def participant_changed(
        self,
        participant: Participant,
        event: OrganiserEvent,
        changed: Iterable[str],
        admitted_before: bool,
    ) -> None:
        """After a user edit (fields or status): join, relink or reconcile."""
        names = set(changed)
        if not participant.syncing:
            if not admitted_before and event.admits(participant.record_for_filters):
                self.join(participant, "segment")
            return
        account = self.work.account(participant.account_id)  # type: ignore[arg-type]
        if names & set(account.uniqueness_key) or participant.contact_id is None:
            self.relink(participant)
        else:
            contact = self.work.contact(account.id, participant.contact_id)
            self.reconcile(participant, contact, names)

    def contact_edited(self, contact: Contact, values: Mapping[str, Any]) -> None:
        account = self.work.account(contact.account_id)  # type: ignore[arg-type]
        old_digest = self._digest(account, contact.fields)
        edits = {n: v for n, v in values.items() if contact.fields.get(n) != v}
        changed = contact.take_values(edits, self.at, self.at, self.meta)
        if set(changed) & set(account.uniqueness_key):
            self._move_claim(account, contact, old_digest)
        self._push_down(contact, set(changed), via={"contact_id": str(contact.id)})

    def contact_of(self, values: Mapping[str, Any], account_id: UUID) -> tuple[Contact, bool]:
        """The contact holding the key of `values`, created if none does (and whether it was).

        Raises FieldValueError naming a missing key field.
        """
        account = self.work.account(account_id)
        digest = self._digest(account, values)
        if digest is None:
            missing = [n for n in account.uniqueness_key if not values.get(n)]
            raise FieldValueError(missing[0], "is part of the uniqueness key: it is required")
        holder = self.work.contact_for_key(account.id, digest)
        if holder is None:
            return self._new_contact(account, digest, values), True
        return self._holder(account, holder), False

    def newcomer(
        self, participant_id: UUID, event: OrganiserEvent, values: Mapping[str, Any]
    ) -> tuple[Contact | None, bool]:
        """The contact a participant about to be registered with `values` (and synced)
        belongs to, already linked to it, and whether it was found by its key. If the key
        is new, the contact is made holding the values that go up (nothing more to do);
        if found, `settle` brings both in line once the participant exists. None without
        a key."""
        account = self.work.account(event.account_id)  # type: ignore[arg-type]
        digest = self._digest(account, values)
        if digest is None:
            return None, False
        holder = self.work.contact_for_key(account.id, digest)
        if holder is None:
            going_up = {n: values[n] for n in sorted(self._going_up(account, event, set(values)))}
            via = _via(participant_id, event.id)
            participant = (participant_id, event.id)
            return self._new_contact(account, digest, going_up, via, participant), False
        contact = self._holder(account, holder)
        contact.link(participant_id, event.id, self.at, self.meta)
        return contact, True

    def join(self, participant: Participant, reason: str) -> None:
        participant.start_sync(reason, self.at, self.meta)
        self.relink(participant)

    def merged(self, survivor: Contact) -> None:
        """After a merge (F10): every participant of the survivor, moved ones included,
        gets the survivor's values of the up_and_propagate fields."""
        account = self.work.account(survivor.account_id)  # type: ignore[arg-type]
        via = {"contact_id": str(survivor.id)}
        self._push_down(survivor, set(account.propagated_fields), via)

    # --- derivation -----------------------------------------------------------------

    def relink(self, participant: Participant) -> None:
        """Link the participant to the contact of its current key (creating it if new)."""
        account = self.work.account(participant.account_id)  # type: ignore[arg-type]
        digest = self._digest(account, participant.fields)
        target_id = None if digest is None else self.work.contact_for_key(account.id, digest)
        if participant.contact_id is not None and participant.contact_id != target_id:
            self._unlink(participant)
        if digest is None:
            return
        event_id = participant.organiser_event_id
        assert event_id is not None
        if target_id is None:
            event = self.work.organiser_event(account.id, event_id)
            going_up = self._going_up(account, event, set(participant.fields))
            # the values of its oldest edit come with the contact; any newer, by reconcile
            edited_at, values = next(iter(_by_stamp(participant, going_up).items()), (None, {}))
            via = _via(participant.id, event_id)
            contact = self._new_contact(
                account, digest, values, via, (participant.id, event_id), edited_at
            )
        else:
            contact = self._holder(account, target_id)
            contact.link(participant.id, event_id, self.at, self.meta)
        participant.link(contact.id, self.at, self.meta)
        self.settle(participant, contact, found=target_id is not None)

    def settle(self, participant: Participant, contact: Contact, found: bool = True) -> None:
        """Bring a participant just linked to its contact, `found` by its key (not made
        for it), and the contact in line."""
        account = self.work.account(contact.account_id)  # type: ignore[arg-type]
        names = set(participant.fields)
        if found and self._digest(account, contact.fields) != self._digest(
            account, participant.fields
        ):
            # Found through the key of a contact merged into this one (F10): the survivor
            # keeps its own key values, or its digest would drift from the index.
            names -= set(account.uniqueness_key)
        self.reconcile(participant, contact, names)

    def _holder(self, account: Account, contact_id: UUID) -> Contact:
        """The contact a key leads to. The index was read before the contact: a merge may
        have committed in between, leaving a tombstone (its key now names the survivor)."""
        contact = self.work.contact(account.id, contact_id)
        if contact.merged_into is not None:
            raise MergedMeanwhileError(f"contact {contact_id} was merged meanwhile")
        return contact

    def _new_contact(
        self,
        account: Account,
        digest: str,
        values: Mapping[str, Any] | None = None,
        via: dict[str, str] | None = None,
        participant: tuple[UUID, UUID] | None = None,
        edited_at: datetime | None = None,
    ) -> Contact:
        contact = Contact.create(
            account.id, self.at, self.meta, values, via, participant, edited_at
        )
        if not account.has_contacts:
            current = self.work.account(account.id, for_update=True)
            if current.uniqueness_key != account.uniqueness_key:
                raise StaleSettingsError("the uniqueness key changed while deciding")
            current.note_first_contact(self.at, self.meta)
        self.work.add(contact)
        self.work.claim(account.id, digest, contact.id)
        return contact

    def _unlink(self, participant: Participant) -> None:
        old = self.work.contact(participant.account_id, participant.contact_id)  # type: ignore[arg-type]
        old.unlink(participant.id, self.at, self.meta)
        participant.unlink(self.at, self.meta)

    def _move_claim(self, account: Account, contact: Contact, old_digest: str | None) -> None:
        new_digest = self._digest(account, contact.fields)
        if new_digest is None:
            missing = [n for n in account.uniqueness_key if not contact.fields.get(n)]
            raise FieldValueError(missing[0], "is part of the uniqueness key: it cannot be empty")
        holder = self.work.contact_for_key(account.id, new_digest)
        if holder is not None and holder != contact.id:
            raise KeyTakenError(holder)
        if old_digest is not None and old_digest != new_digest:
            self.work.release(account.id, old_digest, contact.id)
        if holder is None:
            self.work.claim(account.id, new_digest, contact.id)

    def _digest(self, account: Account, fields: Mapping[str, Any]) -> str | None:
        values = key_values(account.uniqueness_key, fields)
        return None if values is None else self.work.digest(account.id, values)

    # --- propagation ----------------------------------------------------------------

    def reconcile(self, participant: Participant, contact: Contact, names: set[str]) -> None:
        """Send the participant's newer values up, then bring every participant in line."""
        account = self.work.account(contact.account_id)  # type: ignore[arg-type]
        event = self.work.organiser_event(account.id, participant.organiser_event_id)  # type: ignore[arg-type]
        going_up = self._going_up(account, event, names)
        via = _via(participant.id, event.id)
        changed: set[str] = set()
        for edited_at, values in _by_stamp(participant, going_up).items():
            changed |= set(contact.take_values(values, edited_at, self.at, self.meta, via))
        self._bring_in_line(participant, contact, account.propagated_fields, via)
        self._push_down(contact, changed, via, skip=participant.id)

    @staticmethod
    def _going_up(account: Account, event: OrganiserEvent, names: set[str]) -> set[str]:
        """The fields whose values a participant of `event` sends up to its contact."""
        return (names & account.up_fields) - set(event.local_fields)

    def _push_down(
        self,
        contact: Contact,
        changed: set[str],
        via: dict[str, str],
        skip: UUID | None = None,
    ) -> None:
        account = self.work.account(contact.account_id)  # type: ignore[arg-type]
        flowing = changed & account.propagated_fields
        push_down(self.work, contact, flowing, via, self.at, self.meta, skip)

    def _bring_in_line(
        self, participant: Participant, contact: Contact, names: Iterable[str], via: dict[str, str]
    ) -> None:
        bring_in_line(self.work, participant, contact, names, via, self.at, self.meta)


def _by_stamp(participant: Participant, names: set[str]) -> dict[datetime, dict[str, Any]]:
    groups: dict[datetime, dict[str, Any]] = defaultdict(dict)
    for name in sorted(names):
        if name in participant.fields:
            groups[participant.stamps[name]][name] = participant.fields[name]
    return dict(sorted(groups.items()))


def _via(participant_id: UUID, organiser_event_id: UUID) -> dict[str, str]:
    return {"participant_id": str(participant_id), "organiser_event_id": str(organiser_event_id)}
