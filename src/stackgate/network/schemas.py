"""What the network sub-features' request bodies share."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from stackgate.core.schemas import Input, Text

Address = Annotated[Text, StringConstraints(min_length=1, max_length=64)]
Ident = Annotated[Text, StringConstraints(min_length=1, max_length=36)]


def at_least_one(model: Input, fields: tuple[str, ...]) -> None:
    if not model.model_fields_set.intersection(fields):
        raise ValueError(f"give at least one of {', '.join(fields)}")
