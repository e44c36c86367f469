"""Who did a thing, through what, and because of what: carried by every event."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any


class Origin(StrEnum):
    HTTP = "http"
    UI = "ui"  # the back office (adapters/web)
    CLI = "cli"
    IMPORT = "import"
    PROPAGATION = "propagation"
    JOB = "job"
    PURGE = "purge"


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    ANALYST = "analyst"
    COMPLIANCE = "compliance"
    SERVICE = "service"


@dataclass(frozen=True)
class Meta:
    """The provenance of a command, copied onto each event it records.

    `actor` is the staff or service name from the token, never a data subject.
    """

    actor: str
    role: str
    origin: str
    correlation_id: str
    causation_id: str | None = None

    def caused_by(self, causation_id: str, origin: Origin) -> Meta:
        return replace(self, causation_id=causation_id, origin=origin.value)

    def as_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "role": self.role,
            "origin": self.origin,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Meta:
        return cls(**data)
