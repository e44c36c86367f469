"""Declared path and query parameters: what the OpenAPI document lists is what a route accepts.

A type is anything pydantic validates (`UUID`, an `Enum`, `Annotated[int, Field(ge=1)]`, …):
the same type parses the request and gives the parameter's JSON schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, TypeAdapter, ValidationError

from adapters.http.errors import HttpError

Position = Annotated[int, Field(ge=0)]


@dataclass(frozen=True)
class Parameter:
    """A path or query parameter: its name, its type and what it means."""

    name: str
    type: Any = UUID
    description: str = ""
    required: bool = False

    @cached_property
    def adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.type)

    @property
    def schema(self) -> dict[str, Any]:
        return self.adapter.json_schema()

    def parse(self, raw: str) -> Any:
        try:
            return self.adapter.validate_python(raw)
        except ValidationError as error:
            first = error.errors()[0]
            reason = (
                f"{raw!r} is not one of: {self.description}"
                if first["type"] == "string_pattern_mismatch"
                else first["msg"]
            )
            raise HttpError(422, f"{self.name}: {reason}") from None


AFTER = Parameter(
    "after",
    Position,
    "Wait until the read side has reached this log position (an `X-Position` of an earlier "
    "write); 504 if it has not within a few seconds",
)


def parse_path(declared: Mapping[str, Parameter], raw: Mapping[str, str]) -> dict[str, Any]:
    """The path parameters, each parsed by its declared type (422 if it does not parse)."""
    return {name: declared[name].parse(value) for name, value in raw.items()}


def check_query(declared: Iterable[Parameter], query: Mapping[str, str]) -> None:
    """Refuse (422) undeclared, missing required and malformed query parameters."""
    by_name = {p.name: p for p in declared}
    unknown = sorted(set(query) - set(by_name))
    if unknown:
        raise HttpError(422, f"unknown query parameter(s): {', '.join(unknown)}")
    for name, parameter in by_name.items():
        if name in query:
            parameter.parse(query[name])
        elif parameter.required:
            raise HttpError(422, f"query parameter {name} is required ({parameter.description})")
