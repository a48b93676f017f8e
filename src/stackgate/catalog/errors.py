"""Catalog errors."""

from __future__ import annotations

from stackgate.core.errors import Conflict, InUse, InvalidInput, NotFound


class FlavorNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("flavor", ref)


class ImageNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__("image", ref)


class UnknownReference(InvalidInput):
    """A body field names a flavor or image that does not exist: the request is wrong (400)."""

    code = "unknown_reference"
    title = "Unknown reference"

    def __init__(self, field: str, ref: str) -> None:
        super().__init__(f"{field}: no {field} named or with id {ref!r}", field=field)


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
