"""Commands on contacts: edits, processing status, consent, site account, notes, forms,
bulk actions and groups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from domain.accounts import Account
from domain.bulk import parse_action
from domain.commands import (
    AddNote,
    ApplyToContacts,
    ChangeConsent,
    ChangeContactFields,
    ChangeGroupMembers,
    ChangeSiteAccount,
    CreateGroup,
    RequestPasswordReset,
    SetProcessingStatus,
    SubmitForm,
    UnlockSiteAccount,
)
from domain.contact_extras import SiteAccount
from domain.contact_lifecycle import ContactDeletedError
from domain.contact_merge import ContactMergedError
from domain.contact_work import NotReachableError
from domain.contacts import Contact
from domain.ledger_core import MAX_SELECTION, InvalidInputError, LedgerCore, Outcome, check_version
from domain.meta import Meta
from domain.retention import ErasedError
from domain.sync import ContactSync
from domain.unit_of_work import NotFoundError, UnitOfWork


@dataclass
class BulkStep:
    """What one batch of a bulk action did: changed, unchanged, skipped with reasons."""

    changed: int = 0
    unchanged: int = 0
    skipped: dict[UUID, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Superseded:
    """A value an edit asked for that a newer edit had already replaced: the one standing."""

    field: str
    asked: Any
    standing: Any


SKIP_REASONS: dict[type[Exception], str] = {
    NotFoundError: "not found",
    ErasedError: "erased",
    ContactDeletedError: "deleted",
}


class ContactCommands(LedgerCore):
    """Editing contacts: fields, status, consent, site account, notes, forms, groups."""

    def change_contact_fields(self, cmd: ChangeContactFields, at: datetime, meta: Meta) -> Outcome:
        """Edit a contact; only up_and_propagate fields flow down to its participants."""

        def decide(work: UnitOfWork) -> tuple[Contact, list[Superseded]]:
            contact = work.contact(cmd.account_id, cmd.contact_id)
            check_version(contact, cmd.expected_version)
            contact.check_live()
            values = work.account(cmd.account_id).catalogue.validate(cmd.fields)
            ContactSync(work, at, meta).contact_edited(contact, values)
            lost = contact.supersede_edit(values, at, at, meta)
            return contact, [Superseded(n, v, contact.fields.get(n)) for n, v in lost.items()]

        (contact, superseded), position = self.run(decide)
        if position is None:
            position = self.recorder.max_notification_id()
        return Outcome(contact.id, contact.version, position, superseded, contact)

    def _change_contact(
        self,
        account_id: UUID,
        contact_id: UUID,
        expected_version: int | None,
        change: Callable[[Contact], object],
    ) -> Outcome:
        def decide(work: UnitOfWork) -> Contact:
            contact = work.contact(account_id, contact_id)
            check_version(contact, expected_version)
            contact.check_live()
            change(contact)
            return contact

        return self._write(decide)

    def set_processing_status(self, cmd: SetProcessingStatus, at: datetime, meta: Meta) -> Outcome:
        """Set a contact's processing status (new, in_progress, processed)."""
        return self._change_contact(
            cmd.account_id,
            cmd.contact_id,
            cmd.expected_version,
            lambda contact: contact.set_processing_status(cmd.status, at, meta),
        )

    def change_consent(self, cmd: ChangeConsent, at: datetime, meta: Meta) -> Outcome:
        """Give or withdraw a contact's marketing consent."""

        def change(contact: Contact) -> None:
            if cmd.given:
                contact.give_consent(cmd.given_at or at, cmd.source, at, meta)
            else:
                contact.withdraw_consent(cmd.source, at, meta)

        return self._change_contact(cmd.account_id, cmd.contact_id, cmd.expected_version, change)

    def change_site_account(self, cmd: ChangeSiteAccount, at: datetime, meta: Meta) -> Outcome:
        """Record the state of the person's site account as the site reports it."""
        state = SiteAccount(cmd.confirmed, cmd.locked_until, cmd.failed_attempts)
        return self._change_contact(
            cmd.account_id,
            cmd.contact_id,
            cmd.expected_version,
            lambda contact: contact.change_site_account(state, at, meta),
        )

    def unlock_site_account(self, cmd: UnlockSiteAccount, at: datetime, meta: Meta) -> Outcome:
        return self._change_contact(
            cmd.account_id,
            cmd.contact_id,
            cmd.expected_version,
            lambda contact: contact.unlock(at, meta),
        )

    # --- notes, forms, messages (F8, F9) ---------------------------------------------

    def add_note(self, cmd: AddNote, at: datetime, meta: Meta) -> Outcome:
        """Write an internal note on a contact; answers the note's id in `detail`."""
        note_id = uuid4()
        outcome = self._change_contact(
            cmd.account_id,
            cmd.contact_id,
            cmd.expected_version,
            lambda contact: contact.add_note(note_id, cmd.text, at, meta),
        )
        return replace(outcome, detail={"note_id": note_id})

    def submit_form(self, cmd: SubmitForm, at: datetime, meta: Meta) -> Outcome:
        """Take a site form: the contact of its key is created or updated, and keeps it."""
        submission_id = uuid4()

        def decide(work: UnitOfWork) -> tuple[Contact, bool]:
            account = work.account(cmd.account_id)
            values = account.catalogue.validate(cmd.fields)
            sync = ContactSync(work, at, meta)
            contact, created = sync.contact_of(values, account.id)
            sync.contact_edited(contact, values)
            contact.submit_form(submission_id, cmd.form, cmd.page, cmd.message, values, at, meta)
            return contact, created

        (contact, created), position = self.run(decide)
        detail = {"submission_id": submission_id, "created": created}
        return Outcome(contact.id, contact.version, position, detail, contact)

    def request_password_reset(
        self, cmd: RequestPasswordReset, at: datetime, meta: Meta
    ) -> Outcome:
        """Ask the mailer to send the person a password-reset email (an outbox message)."""
        message_id = uuid4()
        outcome = self._change_contact(
            cmd.account_id,
            cmd.contact_id,
            None,
            lambda contact: contact.request_message(message_id, "password_reset", "", at, meta),
        )
        return replace(outcome, detail={"message_id": message_id})

    def apply_to_contacts(self, cmd: ApplyToContacts, at: datetime, meta: Meta) -> Outcome:
        """One batch of a bulk action, in one transaction; `detail` is its BulkStep."""

        def decide(work: UnitOfWork) -> BulkStep:
            account = work.account(cmd.account_id)
            action = parse_action(cmd.action, cmd.params, account)
            work.preload(set(cmd.contact_ids))
            sync = ContactSync(work, at, meta)
            step = BulkStep()
            for contact_id in dict.fromkeys(cmd.contact_ids):
                try:
                    contact = work.contact(account.id, contact_id)
                    contact.check_live()
                    changed = action.apply(sync, contact, cmd.job_id, at, meta)
                except (NotFoundError, ErasedError, ContactDeletedError) as error:
                    step.skipped[contact_id] = SKIP_REASONS[type(error)]
                except ContactMergedError as error:
                    step.skipped[contact_id] = f"merged into {error.survivor_id}"
                except NotReachableError as error:
                    step.skipped[contact_id] = str(error)
                else:
                    step.changed += changed
                    step.unchanged += not changed
            return step

        step, position = self.run(decide)
        if position is None:
            position = self.recorder.max_notification_id()
        return Outcome(cmd.job_id, 0, position, detail=step)

    # --- groups ---------------------------------------------------------------------

    def create_group(self, cmd: CreateGroup, at: datetime, meta: Meta) -> Outcome:
        """Create a group of contacts; answers the group's id."""

        def decide(work: UnitOfWork) -> tuple[UUID, Account]:
            account = work.account(cmd.account_id, for_update=True)
            return account.create_group(cmd.name, at, meta), account

        (group_id, account), position = self.run(decide)
        return Outcome(group_id, account.version, position, detail={"name": cmd.name.strip()})

    def change_group_members(self, cmd: ChangeGroupMembers, at: datetime, meta: Meta) -> Outcome:
        """Add (or remove) the selected contacts; all of them or, on any error, none."""
        if not 1 <= len(cmd.contact_ids) <= MAX_SELECTION:
            raise InvalidInputError(f"select 1 to {MAX_SELECTION} contacts (more: a bulk job)")

        def decide(work: UnitOfWork) -> int:
            if cmd.group_id not in work.account(cmd.account_id).groups:
                raise NotFoundError("group", cmd.group_id)
            work.preload(set(cmd.contact_ids))
            changed = 0
            for contact_id in dict.fromkeys(cmd.contact_ids):
                contact = work.contact(cmd.account_id, contact_id)
                contact.check_live()
                move = contact.remove_from_group if cmd.remove else contact.add_to_group
                changed += move(cmd.group_id, at, meta)
            return changed

        changed, position = self.run(decide)
        if position is None:
            position = self.recorder.max_notification_id()
        return Outcome(cmd.group_id, 0, position, detail={"changed": changed})
