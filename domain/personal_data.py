"""What is personal data in an event, and what stands in for it once erased.

Every aggregate that holds personal data is its own data subject: the subject id of
an event is its originator id. An event class names its personal attributes in
`personal_fields`, each with the value a reader sees once the subject's key is gone.
The mapper in the adapters seals exactly those attributes; the domain only declares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

ERASED_TEXT = ""


def erased_value(kind: type) -> Any:
    """The stand-in for a shredded personal attribute of the given kind."""
    if kind is dict:
        return {}
    if kind is list:
        return []
    return ERASED_TEXT


class HasPersonalData:
    """Mixin for events: `personal_fields` maps attribute name to its kind."""

    personal_fields: ClassVar[Mapping[str, type]] = {}
