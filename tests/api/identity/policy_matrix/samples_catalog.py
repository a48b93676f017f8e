"""Sample requests for the catalog routes: flavors and images."""

from __future__ import annotations

from tests.api.identity.personas import Persona, unique
from tests.api.identity.policy_matrix.world import Call, World, sample


@sample("GET", "/api/v1/flavors")
async def _list_flavors(w: World, who: Persona) -> Call:
    return Call("/api/v1/flavors")


@sample("POST", "/api/v1/flavors")
async def _create_flavor(w: World, who: Persona) -> Call:
    body = {"name": unique("t9.new"), "vcpus": 1, "ram_mb": 128, "disk_gb": 1}
    return Call("/api/v1/flavors", json=body)


@sample("GET", "/api/v1/flavors/{flavor_id}")
async def _get_flavor(w: World, who: Persona) -> Call:
    return Call("/api/v1/flavors/m1.small")


@sample("PUT", "/api/v1/flavors/{flavor_id}")
async def _replace_flavor(w: World, who: Persona) -> Call:
    body = {k: w.flavor[k] for k in ("name", "vcpus", "ram_mb", "disk_gb")}
    return Call(f"/api/v1/flavors/{w.flavor['id']}", json={**body, "description": who.label})


@sample("DELETE", "/api/v1/flavors/{flavor_id}")
async def _delete_flavor(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/flavors/{await w.flavor_id()}")


@sample("GET", "/api/v1/images")
async def _list_images(w: World, who: Persona) -> Call:
    return Call("/api/v1/images")


@sample("POST", "/api/v1/images")
async def _create_image(w: World, who: Persona) -> Call:
    return Call("/api/v1/images", json={"name": unique("img"), "visibility": "private"})


@sample("GET", "/api/v1/images/{image_id}")
async def _get_image(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/images/{w.image_id}")


@sample("PUT", "/api/v1/images/{image_id}")
async def _replace_image(w: World, who: Persona) -> Call:
    body = {"name": "p-image", "description": who.label, "visibility": "private"}
    return Call(f"/api/v1/images/{w.image_id}", json=body)


@sample("DELETE", "/api/v1/images/{image_id}")
async def _delete_image(w: World, who: Persona) -> Call:
    return Call(f"/api/v1/images/{await w.image()}")
