"""The catalog's wiring: its router, the image handler (a snapshot image's delete in the
cloud), its tables and which of their rows every install has."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from stackgate.catalog.handlers import ImageOperationHandler
from stackgate.catalog.models import Flavor, Image
from stackgate.catalog.seed import SEEDED_FLAVORS, SEEDED_IMAGES
from stackgate.wiring import Feature, HandlerParts
from stackgate.worker.registry import OperationHandler

if TYPE_CHECKING:
    from fastapi import APIRouter


def handlers(parts: HandlerParts) -> Mapping[str, OperationHandler]:
    return {"image": parts.make(ImageOperationHandler)}


def routers() -> Sequence[APIRouter]:
    from stackgate.catalog.routes import router

    return (router,)


FEATURE = Feature(
    name="catalog",
    routers=routers,
    handlers=handlers,
    tables=(Image, Flavor),
    seeded={
        Image: lambda: Image.id.in_(SEEDED_IMAGES),
        Flavor: lambda: Flavor.id.in_(SEEDED_FLAVORS),
    },
)
