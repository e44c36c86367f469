"""Bulk actions on contacts (F18): what each does to one contact, checked before it runs.

A bulk action is checked once against the account (`parse_action`), so that a job
refused for a bad argument is refused before it starts; then it is applied contact by
contact, in batches. It changes a contact or leaves it as it is; a contact it cannot
apply to is skipped with a reason by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from domain.accounts import Account
from domain.contact_extras import MAX_SOURCE_LENGTH, PROCESSING_STATUSES
from domain.contacts import Contact
from domain.meta import Meta
from domain.sync import ContactSync
from domain.unit_of_work import NotFoundError

CONTACT_ACTIONS = (
    "edit_fields",
    "add_to_group",
    "remove_from_group",
    "set_processing_status",
    "marketing_email",
)
BULK_ACTIONS = (*CONTACT_ACTIONS, "backfill")


class BulkActionError(ValueError):
    """Raised when a bulk action or its arguments are not valid."""


Apply = Callable[[ContactSync, Contact, UUID, datetime, Meta], bool]


@dataclass(frozen=True)
class ContactAction:
    """A checked bulk action: `apply(sync, contact, job_id, at, meta)` -> changed?"""

    name: str
    params: dict[str, Any]
    apply: Apply


def parse_action(name: str, params: Mapping[str, Any], account: Account) -> ContactAction:
    """Check an action on contacts and its arguments against the account."""
    parser = PARSERS.get(name)
    if parser is None:
        raise BulkActionError(f"action must be one of {', '.join(BULK_ACTIONS)}")
    checked, apply = parser(params, account)
    return ContactAction(name, checked, apply)


def _only(params: Mapping[str, Any], *names: str) -> None:
    unknown = set(params) - set(names)
    if unknown:
        raise BulkActionError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    missing = [n for n in names if n not in params]
    if missing:
        raise BulkActionError(f"missing parameter(s): {', '.join(missing)}")


def _edit_fields(params: Mapping[str, Any], account: Account) -> tuple[dict[str, Any], Apply]:
    _only(params, "fields")
    if not isinstance(params["fields"], dict) or not params["fields"]:
        raise BulkActionError("fields must be an object naming at least one field")
    values = account.catalogue.validate(params["fields"])
    keyed = sorted(set(values) & set(account.uniqueness_key))
    if keyed:
        raise BulkActionError(
            f"{', '.join(keyed)}: fields of the uniqueness key cannot be edited in bulk"
        )

    def apply(sync: ContactSync, contact: Contact, _job: UUID, _at: datetime, _m: Meta) -> bool:
        before = contact.version
        sync.contact_edited(contact, values)
        return contact.version != before

    return {"fields": values}, apply


def _group(remove: bool) -> Callable[[Mapping[str, Any], Account], tuple[dict[str, Any], Apply]]:
    def parse(params: Mapping[str, Any], account: Account) -> tuple[dict[str, Any], Apply]:
        _only(params, "group_id")
        try:
            group_id = UUID(str(params["group_id"]))
        except ValueError:
            raise BulkActionError("group_id must be a UUID") from None
        if group_id not in account.groups:
            raise NotFoundError("group", group_id)

        def apply(_s: ContactSync, contact: Contact, _job: UUID, at: datetime, meta: Meta) -> bool:
            move = contact.remove_from_group if remove else contact.add_to_group
            return move(group_id, at, meta)

        return {"group_id": str(group_id)}, apply

    return parse


def _processing_status(
    params: Mapping[str, Any], _account: Account
) -> tuple[dict[str, Any], Apply]:
    _only(params, "status")
    status = params["status"]
    if status not in PROCESSING_STATUSES:
        raise BulkActionError(f"status must be one of {', '.join(PROCESSING_STATUSES)}")

    def apply(_s: ContactSync, contact: Contact, _job: UUID, at: datetime, meta: Meta) -> bool:
        before = contact.version
        contact.set_processing_status(status, at, meta)
        return contact.version != before

    return {"status": status}, apply


def _marketing_email(params: Mapping[str, Any], _account: Account) -> tuple[dict[str, Any], Apply]:
    _only(params, "campaign")
    campaign = params["campaign"]
    if not isinstance(campaign, str) or not 1 <= len(campaign.strip()) <= MAX_SOURCE_LENGTH:
        raise BulkActionError(f"campaign is 1 to {MAX_SOURCE_LENGTH} characters")

    def apply(_s: ContactSync, contact: Contact, job: UUID, at: datetime, meta: Meta) -> bool:
        message_id = uuid5(job, contact.id.hex)  # the same job asks once per person
        return contact.request_message(message_id, "marketing_email", campaign, at, meta)

    return {"campaign": campaign}, apply


PARSERS: dict[str, Callable[[Mapping[str, Any], Account], tuple[dict[str, Any], Apply]]] = {
    "edit_fields": _edit_fields,
    "add_to_group": _group(remove=False),
    "remove_from_group": _group(remove=True),
    "set_processing_status": _processing_status,
    "marketing_email": _marketing_email,
}
