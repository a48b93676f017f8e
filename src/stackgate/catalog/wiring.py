"""The catalog's wiring: its router, the image handler (a snapshot image's delete in the
cloud), its tables and which of their rows every install has."""

from __future__ import annotations

from collections.abc import Mapping

from stackgate.catalog.handlers import ImageOperationHandler
from stackgate.catalog.models import Flavor, Image
from stackgate.catalog.routes import router
from stackgate.catalog.seed import SEEDED_FLAVORS, SEEDED_IMAGES
from stackgate.wiring import Feature, HandlerParts
from stackgate.worker.registry import OperationHandler


def handlers(parts: HandlerParts) -> Mapping[str, OperationHandler]:
    return {"image": parts.make(ImageOperationHandler)}


FEATURE = Feature(
    name="catalog",
    routers=(router,),
    handlers=handlers,
    tables=(Image, Flavor),
    seeded={
        Image: lambda: Image.id.in_(SEEDED_IMAGES),
        Flavor: lambda: Flavor.id.in_(SEEDED_FLAVORS),
    },
)
