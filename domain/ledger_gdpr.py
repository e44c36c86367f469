"""Commands of the person's rights (F10-F12): delete, restore, erase, merge; the key index
entries they release, restore and take over.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.accounts import Account
from domain.aggregate import LedgerAggregate
from domain.commands import (
    DeleteContact,
    EraseContact,
    EraseParticipant,
    MergeContacts,
    RestoreContact,
)
from domain.contact_keys import KeyTakenError
from domain.contacts import Contact
from domain.keys import key_values
from domain.ledger_core import InvalidInputError, LedgerCore, Outcome, check_version
from domain.meta import Meta
from domain.participants import Participant
from domain.retention import restore_deadline
from domain.sync import ContactSync
from domain.unit_of_work import UnitOfWork


class GdprCommands(LedgerCore):
    """Deleting, restoring and erasing people, and merging two contacts of one person."""

    def delete_contact(self, cmd: DeleteContact, at: datetime, meta: Meta) -> Outcome:
        """Hide a contact and its participants in every event, restorable for a while."""

        def decide(work: UnitOfWork) -> Contact:
            contact = work.contact(cmd.account_id, cmd.contact_id)
            check_version(contact, cmd.expected_version)
            account = work.account(cmd.account_id)
            deadline = restore_deadline(at, account.restore_window_months)
            if contact.delete(deadline, at, meta):
                self._release_key(work, account, contact)
                for participant in _linked(work, contact, contact.participants):
                    participant.delete(deadline, at, meta, with_contact=contact.id)
            return contact

        return self._write(decide)

    def restore_contact(self, cmd: RestoreContact, at: datetime, meta: Meta) -> Outcome:
        """Bring a deleted contact back as it was, unless another now holds its key."""

        def decide(work: UnitOfWork) -> Contact:
            contact = work.contact(cmd.account_id, cmd.contact_id)
            check_version(contact, cmd.expected_version)
            if not contact.restore(at, meta):
                return contact
            account = work.account(cmd.account_id)
            for digest in self._key_digests(work, account, contact).values():
                holder = work.contact_for_key(account.id, digest)
                if holder is not None and holder != contact.id:
                    raise KeyTakenError(holder)
                if holder is None:
                    work.claim(account.id, digest, contact.id)
            for participant in _linked(work, contact, contact.participants):
                participant.restore_with(contact.id, at, meta)
            return contact

        return self._write(decide)

    def erase_contact(self, cmd: EraseContact, at: datetime, meta: Meta) -> Outcome:
        """Forget the person: its participants too; their keys are destroyed in the same
        transaction. With `due_at` (the purge) only a contact whose window is over."""

        def decide(work: UnitOfWork) -> tuple[Contact, dict[str, Any] | None]:
            contact = work.contact(cmd.account_id, cmd.contact_id)
            if contact.erased or (cmd.due_at is not None and not _due(contact, cmd.due_at)):
                return contact, None
            contact.check_not_merged()  # the person lives on in the survivor: erase that
            if not contact.deleted:
                self._release_key(work, work.account(cmd.account_id), contact)
            tombstones = _tombstones(work, contact)
            erased = _erase_subject(work, contact, cmd.reason, at, meta)
            for tombstone in tombstones:  # same person: its sealed data goes too (F10)
                erased += _erase_subject(work, tombstone, cmd.reason, at, meta)
            return contact, {
                "participants_erased": len(erased),
                "participant_ids": erased,
                "merged_erased": len(tombstones),
                "merged_ids": [t.id for t in tombstones],
            }

        (contact, detail), position = self.run(decide)
        return self._erased(contact, position, detail)

    def erase_participant(self, cmd: EraseParticipant, at: datetime, meta: Meta) -> Outcome:
        """Erase a participant deleted on its own once its window is over (the purge)."""

        def decide(work: UnitOfWork) -> tuple[Participant, dict[str, Any] | None]:
            participant = work.participant(cmd.account_id, cmd.participant_id)
            alone = participant.deleted_with is None
            if _due(participant, cmd.due_at) and alone and participant.erase("purge", at, meta):
                work.shred(cmd.account_id, participant.id, at)
                return participant, {"participants_erased": 1}
            return participant, None

        (participant, detail), position = self.run(decide)
        return self._erased(participant, position, detail)

    def _erased(self, target: LedgerAggregate, position: int | None, detail: Any) -> Outcome:
        """`detail` only if this command erased (None if it was done or not due yet). The
        position is the batch's (group commit), so it does not tell whether this one did."""
        if detail is None:
            position = position or self.recorder.max_notification_id()
            return Outcome(target.id, target.version, position)
        assert position is not None
        return Outcome(target.id, target.version, position, detail=detail, state=target)

    def _digest_of(self, account: Account, contact: Contact) -> str | None:
        values = key_values(account.uniqueness_key, contact.fields)
        return None if values is None else self.hasher.digest(account.id, values)

    def _release_key(self, work: UnitOfWork, account: Account, contact: Contact) -> None:
        for digest in self._key_digests(work, account, contact).values():
            if work.contact_for_key(account.id, digest) == contact.id:
                work.release(account.id, digest, contact.id)

    def _key_digests(self, work: UnitOfWork, account: Account, contact: Contact) -> dict[UUID, str]:
        """The digests a live contact holds: its own, and those of the merged contacts
        whose entries it took over (by the contact whose key values give it)."""
        owners = [
            contact,
            *(work.contact(account.id, i) for i in sorted(contact.keys_from, key=str)),
        ]
        found: dict[UUID, str] = {}
        for owner in owners:
            digest = self._digest_of(account, owner)
            if digest is not None and digest not in found.values():
                found[owner.id] = digest
        return found

    # --- merge (F10) ----------------------------------------------------------------

    def merge_contacts(self, cmd: MergeContacts, at: datetime, meta: Meta) -> Outcome:
        """Merge two contacts of one person; the other is kept as a tombstone."""
        if cmd.survivor_id == cmd.merged_id:
            raise InvalidInputError("a contact cannot be merged into itself")

        def decide(work: UnitOfWork) -> Contact:
            survivor = work.contact(cmd.account_id, cmd.survivor_id)
            check_version(survivor, cmd.expected_version)
            survivor.check_live()
            merged = work.contact(cmd.account_id, cmd.merged_id)
            merged.check_mergeable(at)
            account = work.account(cmd.account_id)
            keys_from = self._take_over_keys(work, account, merged, survivor)
            for participant in _linked(work, merged, merged.participants):
                participant.restore_with(merged.id, at, meta)  # deleted with it: back
                merged.unlink(participant.id, at, meta)
                participant.unlink(at, meta)
                survivor.link(participant.id, participant.organiser_event_id, at, meta)  # type: ignore[arg-type]
                participant.link(survivor.id, at, meta)
            survivor.absorb(merged, keys_from, account.uniqueness_key, at, meta)
            merged.merge_into(survivor.id, at, meta)
            ContactSync(work, at, meta).merged(survivor)
            return survivor

        return self._write(decide)

    def _take_over_keys(
        self, work: UnitOfWork, account: Account, merged: Contact, survivor: Contact
    ) -> list[UUID]:
        """Point the merged contact's key entries at the survivor; a deleted one's released
        entries only if still free (a newcomer keeps the key it registered with)."""
        taken = []
        for owner_id, digest in self._key_digests(work, account, merged).items():
            holder = work.contact_for_key(account.id, digest)
            if holder == merged.id:
                work.release(account.id, digest, merged.id)
            elif holder is not None:
                continue
            work.claim(account.id, digest, survivor.id)
            taken.append(owner_id)
        return taken

    def merged_contacts(self, contact: Contact) -> list[Contact]:
        """The tombstones merged into this contact, directly or through other merges."""
        return _tombstones(UnitOfWork(self), contact)


def _linked(work: UnitOfWork, contact: Contact, ids: Iterable[UUID]) -> list[Participant]:
    """The participants of a contact (loaded together), in a stable order."""
    wanted = sorted(ids, key=str)
    work.preload(set(wanted))
    return [work.participant(contact.account_id, i) for i in wanted]  # type: ignore[arg-type]


def _due(record: Contact | Participant, as_of: datetime) -> bool:
    """Deleted, not erased, and its restore window is over at `as_of` (a merged tombstone
    never is: it goes with its survivor)."""
    until = record.restore_until
    return record.deleted and not record.erased and until is not None and until <= as_of


def _erase_subject(
    work: UnitOfWork, contact: Contact, reason: str, at: datetime, meta: Meta
) -> list[UUID]:
    """Erase a contact and its participants (not those another contact has now); their
    keys are shredded in the same transaction. Returns the participants erased."""
    erased = []
    for participant in _linked(work, contact, contact.ever_linked):
        mine = participant.contact_id in (None, contact.id)
        if mine and participant.erase(reason, at, meta):
            work.shred(contact.account_id, participant.id, at)  # type: ignore[arg-type]
            erased.append(participant.id)
    if contact.erase(reason, at, meta):
        work.shred(contact.account_id, contact.id, at)  # type: ignore[arg-type]
    return erased


def _tombstones(work: UnitOfWork, contact: Contact) -> list[Contact]:
    """Every contact merged into this one, through chains of merges, in a stable order."""
    found: dict[UUID, Contact] = {}
    waiting = sorted(contact.merged_from, key=str)
    while waiting:
        tombstone = work.contact(contact.account_id, waiting.pop(0))  # type: ignore[arg-type]
        if tombstone.id not in found:
            found[tombstone.id] = tombstone
            waiting.extend(sorted(tombstone.merged_from, key=str))
    return list(found.values())
