"""Cinder's volume types, fixed: the ones StackGate's catalog offers (`__DEFAULT__`, made by
Cinder's own migration, DevStack's LVM backend `lvmdriver-1`, and `ssd`)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from stackgate.fakecloud.auth import CallerDep
from stackgate.fakecloud.cinder_common import SERVICE, CinderRoute
from stackgate.fakecloud.cloud import fixed_id
from stackgate.fakecloud.errors import CloudError
from stackgate.semantics.cinder import DEFAULT_VOLUME_TYPE, VOLUME_TYPES

DEFAULT_TYPE = DEFAULT_VOLUME_TYPE
_TYPES: tuple[tuple[str, str | None, dict[str, str]], ...] = tuple(
    (name, description, {} if name == DEFAULT_TYPE else {"volume_backend_name": name})
    for name, description in VOLUME_TYPES.items()
)

router = APIRouter(route_class=CinderRoute)


def type_id(name: str) -> str:
    return str(uuid.UUID(fixed_id("volume-type", name)))


def _body(name: str, description: str | None, specs: dict[str, str]) -> dict[str, Any]:
    return {
        "id": type_id(name),
        "name": name,
        "description": description,
        "is_public": True,
        "os-volume-type-access:is_public": True,
        "extra_specs": dict(specs),
        "qos_specs_id": None,
    }


def find_type(name_or_id: str) -> str | None:
    """The name of the type called or numbered `name_or_id`, else None."""
    for name, _, _ in _TYPES:
        if name_or_id in (name, type_id(name)):
            return name
    return None


def type_not_found(name_or_id: str) -> CloudError:
    # cinder/exception.py VolumeTypeNotFoundByName (a NotFound: 404).
    return CloudError(SERVICE, 404, f"Volume type with name {name_or_id} could not be found.")


@router.get("/types")
async def list_types(caller: CallerDep) -> JSONResponse:
    return JSONResponse({"volume_types": [_body(*t) for t in _TYPES]})


@router.get("/types/default")
async def default_type(caller: CallerDep) -> JSONResponse:
    return JSONResponse({"volume_type": _body(*_TYPES[0])})


@router.get("/types/{type_ref}")
async def show_type(type_ref: str, caller: CallerDep) -> JSONResponse:
    for entry in _TYPES:
        if type_ref in (entry[0], type_id(entry[0])):
            return JSONResponse({"volume_type": _body(*entry)})
    # cinder/exception.py VolumeTypeNotFound.
    raise CloudError(SERVICE, 404, f"Volume type {type_ref} could not be found.")
