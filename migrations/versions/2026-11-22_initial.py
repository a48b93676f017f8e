"""initial: catalog, servers, operations, idempotency records; the seeded catalog

Revision ID: cf07b9763ed6
Revises:
Create Date: 2026-11-22 05:21:21.927594
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from stackgate.core.db import UTCDateTime
from stackgate.core.ids import stable_id

revision: str = "cf07b9763ed6"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flavor",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("ram_mb", sa.Integer(), nullable=False),
        sa.Column("disk_gb", sa.Integer(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flavor")),
        sa.UniqueConstraint("name", name=op.f("uq_flavor_name")),
    )
    op.create_table(
        "idempotency_record",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
        sa.UniqueConstraint(
            "project_id",
            "method",
            "path",
            "key",
            name=op.f("uq_idempotency_record_project_id_method_path_key"),
        ),
    )
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_record_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "image",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("disk_format", sa.String(length=16), nullable=False),
        sa.Column("container_format", sa.String(length=16), nullable=False),
        sa.Column("os_distro", sa.String(length=64), nullable=True),
        sa.Column("min_disk_gb", sa.Integer(), nullable=False),
        sa.Column("min_ram_mb", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("owner_project_id", sa.String(length=36), nullable=True),
        sa.Column("image_type", sa.String(length=16), nullable=True),
        sa.Column("source_server_id", sa.String(length=36), nullable=True),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image")),
    )
    with op.batch_alter_table("image", schema=None) as batch_op:
        batch_op.create_index("ix_image_name", ["name"], unique=False)

    op.create_table(
        "operation",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("deadline_at", UTCDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operation")),
    )
    with op.batch_alter_table("operation", schema=None) as batch_op:
        batch_op.create_index("ix_operation_ready", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_operation_resource", ["resource_id", "created_at"], unique=False)

    op.create_table(
        "server",
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("key_name", sa.String(length=255), nullable=True),
        sa.Column("user_data", sa.Text(), nullable=True),
        sa.Column("flavor_id", sa.String(length=36), nullable=True),
        sa.Column("flavor_name", sa.String(length=255), nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("ram_mb", sa.Integer(), nullable=False),
        sa.Column("disk_gb", sa.Integer(), nullable=False),
        sa.Column("old_flavor", sa.JSON(), nullable=True),
        sa.Column("image_id", sa.String(length=36), nullable=True),
        sa.Column("image_name", sa.String(length=255), nullable=True),
        sa.Column("vm_state", sa.String(length=32), nullable=False),
        sa.Column("task_state", sa.String(length=32), nullable=True),
        sa.Column("power_state", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("locked_reason", sa.String(length=255), nullable=True),
        sa.Column("ip_address", sa.String(length=64), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("fault_code", sa.Integer(), nullable=True),
        sa.Column("fault_message", sa.Text(), nullable=True),
        sa.Column("fault_created_at", UTCDateTime(), nullable=True),
        sa.Column("launched_at", UTCDateTime(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server")),
    )
    with op.batch_alter_table("server", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_server_flavor_id"), ["flavor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_server_image_id"), ["image_id"], unique=False)
        batch_op.create_index(
            "ix_server_project_created", ["project_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_server_project_name", ["project_id", "name"], unique=False)
        batch_op.create_index(
            "ix_server_project_status_created",
            ["project_id", "status", "created_at", "id"],
            unique=False,
        )

    _seed_catalog()


# DevStack's flavors (DESIGN.md 5) and a few common cloud images; ids are stable across databases.
FLAVORS = [
    ("m1.tiny", 1, 512, 5),
    ("m1.small", 1, 2048, 20),
    ("m1.medium", 2, 4096, 40),
    ("m1.large", 4, 8192, 80),
    ("m1.xlarge", 8, 16384, 160),
]
IMAGES = [
    ("cirros-0.6", "cirros", 0, 0, 21_430_272),
    ("ubuntu-22.04", "ubuntu", 3, 512, 660_000_768),
    ("debian-12", "debian", 2, 512, 350_000_128),
    ("fedora-40", "fedora", 5, 1024, 520_000_000),
]


def _seed_catalog() -> None:
    now = datetime.now(UTC)
    flavor = sa.table(
        "flavor",
        *(
            sa.column(c)
            for c in ("id", "name", "vcpus", "ram_mb", "disk_gb", "is_public", "version")
        ),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    op.bulk_insert(
        flavor,
        [
            {
                "id": stable_id(f"flavor/{name}"),
                "name": name,
                "vcpus": vcpus,
                "ram_mb": ram,
                "disk_gb": disk,
                "is_public": True,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for name, vcpus, ram, disk in FLAVORS
        ],
    )
    image = sa.table(
        "image",
        *(
            sa.column(c)
            for c in (
                "id",
                "name",
                "status",
                "visibility",
                "disk_format",
                "container_format",
                "os_distro",
                "min_disk_gb",
                "min_ram_mb",
                "size_bytes",
                "version",
            )
        ),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    op.bulk_insert(
        image,
        [
            {
                "id": stable_id(f"image/{name}"),
                "name": name,
                "status": "active",
                "visibility": "public",
                "disk_format": "qcow2",
                "container_format": "bare",
                "os_distro": distro,
                "min_disk_gb": min_disk,
                "min_ram_mb": min_ram,
                "size_bytes": size,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for name, distro, min_disk, min_ram, size in IMAGES
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("server", schema=None) as batch_op:
        batch_op.drop_index("ix_server_project_status_created")
        batch_op.drop_index("ix_server_project_name")
        batch_op.drop_index("ix_server_project_created")
        batch_op.drop_index(batch_op.f("ix_server_image_id"))
        batch_op.drop_index(batch_op.f("ix_server_flavor_id"))

    op.drop_table("server")
    with op.batch_alter_table("operation", schema=None) as batch_op:
        batch_op.drop_index("ix_operation_resource")
        batch_op.drop_index("ix_operation_ready")

    op.drop_table("operation")
    with op.batch_alter_table("image", schema=None) as batch_op:
        batch_op.drop_index("ix_image_name")

    op.drop_table("image")
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_record_expires_at"))

    op.drop_table("idempotency_record")
    op.drop_table("flavor")
