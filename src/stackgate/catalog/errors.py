"""Catalog errors."""

from __future__ import annotations

from collections.abc import Iterable

from stackgate.core.errors import Conflict, InUse, InvalidInput, NotFound, UnknownReference


class FlavorNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("flavor", ref)


class ImageNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("image", ref)


class UnknownFlavor(UnknownReference):
    """A body field names a flavor that does not exist: the request is wrong (400)."""

    def __init__(self, field: str, ref: str, names: Iterable[str]) -> None:
        super().__init__(field, ref, kind="flavor", candidates=names, listed_at="/api/v1/flavors")


class UnknownImage(UnknownReference):
    """A body field names an image the caller cannot see (400)."""

    def __init__(self, field: str, ref: str, names: Iterable[str]) -> None:
        super().__init__(field, ref, kind="image", candidates=names, listed_at="/api/v1/images")


class ImageNotActive(InvalidInput):
    code = "image_not_active"
    title = "Image not active"

    def __init__(self, ref: str, status: str) -> None:
        super().__init__(f"image: {ref!r} is {status}, not active", field="image")


class FlavorNameTaken(Conflict):
    code = "flavor_exists"
    title = "Flavor exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"a flavor named {name!r} already exists", field="name")


class CatalogInUse(InUse):
    def __init__(self, kind: str, ident: str, servers: int) -> None:
        super().__init__(
            f"{kind} {ident} is used by {servers} server(s); delete or resize them first",
            resource=kind,
            servers=servers,
        )
