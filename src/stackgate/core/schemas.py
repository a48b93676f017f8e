"""Field types shared by every feature's schemas: strict, bounded, NUL-free."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StringConstraints,
)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def json_integer(value: object) -> object:
    """JSON Schema counts 5.0 as an integer; a strict int alone would refuse it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# A JSON integer as the schema says "integer": 5 or 5.0, never true/false or "5" (pydantic's lax
# mode would take those). For an optional one put the bounds first, or pydantic cannot show them
# in the JSON schema: Annotated[int, Field(ge=1), Strict(), BeforeValidator(json_integer)] | None.
Integer = Annotated[int, Strict(), BeforeValidator(json_integer)]
# A JSON boolean: never 0/1 or "yes".
Flag = StrictBool

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time such as 2030-01-31T12:00:00Z")
    if not isinstance(value, str | datetime):
        raise ValueError("must be an RFC 3339 date-time string")
    return value


# What the schema's "format": "date-time" promises: RFC 3339 text with an offset. Pydantic alone
# would also take 0, "0.5" (Unix times) or a bare date.
DateTime = Annotated[datetime, BeforeValidator(_rfc3339)]


def _stated(pattern: str) -> Any:
    """A validator's rule as a JSON Schema pattern, so the OpenAPI document states it too (both
    read whitespace as Python does), kept beside any pattern the field already has."""

    def extra(schema: dict[str, Any]) -> None:
        if "pattern" in schema:
            rules = schema.setdefault("allOf", [])
            assert isinstance(rules, list)
            rules.append({"pattern": pattern})
        else:
            schema["pattern"] = pattern

    return Field(json_schema_extra=extra)


_NUL_FREE_PATTERN = r"^[^\x00]*$"
_NUL_FREE = _stated(_NUL_FREE_PATTERN)
_NOT_BLANK = _stated(r"^[^\x00]*[^\s\x00][^\x00]*$")

Text = Annotated[str, AfterValidator(_no_nul), _NUL_FREE]
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    AfterValidator(_no_nul),
    AfterValidator(_not_blank),
    _NOT_BLANK,
]
Description = Annotated[str, StringConstraints(max_length=1000), AfterValidator(_no_nul), _NUL_FREE]
Ref = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    AfterValidator(_no_nul),
    Field(description="A name or an id."),
    _NUL_FREE,
]
MetaKey = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_no_nul)]
MetaValue = Annotated[str, StringConstraints(max_length=255), AfterValidator(_no_nul), _NUL_FREE]
Metadata = Annotated[
    dict[MetaKey, MetaValue],
    Field(
        max_length=128,
        description="Up to 128 string pairs (Nova's metadata_items).",
        # Stated here: a pattern on the key type would become patternProperties, which does not
        # forbid the keys it fails to match.
        json_schema_extra={
            "propertyNames": {"minLength": 1, "maxLength": 255, "pattern": _NUL_FREE_PATTERN}
        },
    ),
]


class Input(BaseModel):
    """Request bodies: unknown fields are refused, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)
