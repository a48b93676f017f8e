"""The tag (Nova, Neutron) or metadata item (Cinder) that ties a cloud resource to our row, so
a retried create finds what an earlier attempt made instead of making a second one."""

from __future__ import annotations

TAG_KEY = "stackgate-id"


def tag_for(resource_id: str) -> str:
    return f"{TAG_KEY}={resource_id}"


def metadata_for(resource_id: str) -> dict[str, str]:
    return {TAG_KEY: resource_id}
