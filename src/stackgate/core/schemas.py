"""Field types shared by every feature's schemas: strict, bounded, NUL-free."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    AfterValidator(_no_nul),
    AfterValidator(_not_blank),
]
Description = Annotated[str, StringConstraints(max_length=1000), AfterValidator(_no_nul)]
Ref = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    AfterValidator(_no_nul),
    Field(description="A name or an id."),
]
MetaKey = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_no_nul)]
MetaValue = Annotated[str, StringConstraints(max_length=255), AfterValidator(_no_nul)]
Metadata = Annotated[
    dict[MetaKey, MetaValue],
    Field(max_length=128, description="Up to 128 string pairs (Nova's metadata_items)."),
]


class Input(BaseModel):
    """Request bodies: unknown fields are refused, never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)
