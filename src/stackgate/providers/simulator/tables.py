"""The simulated cloud's own tables (its own MetaData, every name prefixed `sim_`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, MetaData, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from stackgate.core.db import NAMING_CONVENTION, UTCDateTime


class SimBase(DeclarativeBase):
    """Separate from the control plane's Base: the simulator is another cloud, not our data."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class SimServer(SimBase):
    """A Nova instance plus the operation the simulated compute service is working on."""

    __tablename__ = "sim_server"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # `metadata` is reserved on declarative classes, hence the attribute name.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    flavor: Mapped[dict[str, Any]] = mapped_column(JSON)
    old_flavor: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    image_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    vm_state: Mapped[str] = mapped_column(String(32))
    task_state: Mapped[str | None] = mapped_column(String(48), nullable=True)
    power_state: Mapped[int] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    # Rows are removed when a delete completes, so this unique key covers live servers only.
    ip_address: Mapped[str | None] = mapped_column(String(45), nullable=True, unique=True)
    # The first fixed IP of the ports it was booted with (not unique: project networks overlap).
    port_address: Mapped[str | None] = mapped_column(String(45), nullable=True, default=None)
    boot_volume_id: Mapped[str | None] = mapped_column(String(36), nullable=True, default=None)
    fault: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    launched_at: Mapped[datetime | None] = mapped_column(nullable=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    # The pending operation, resolved lazily once `ends_at` has passed.
    action: Mapped[str | None] = mapped_column(String(32), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    will_fail: Mapped[bool] = mapped_column(Boolean, default=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SimImage(SimBase):
    """A Glance image made by a snapshot."""

    __tablename__ = "sim_image"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    server_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime]
    ready_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SimHypervisor(SimBase):
    """A compute host and its capacity."""

    __tablename__ = "sim_hypervisor"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    ram_mb: Mapped[int] = mapped_column(Integer)
    disk_gb: Mapped[int] = mapped_column(Integer)


class SimVolume(SimBase):
    """A Cinder volume with its one attachment and the operation running on it."""

    __tablename__ = "sim_volume"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255), nullable=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    size_gb: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    volume_type: Mapped[str] = mapped_column(String(255))
    image_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    server_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    device: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime]
    # The pending operation (create, delete, extend, attach, detach), settled lazily.
    action: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    will_fail: Mapped[bool] = mapped_column(Boolean, default=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SimSnapshot(SimBase):
    """A Cinder volume snapshot."""

    __tablename__ = "sim_snapshot"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(255))
    size_gb: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[datetime]
    action: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    will_fail: Mapped[bool] = mapped_column(Boolean, default=False)


class SimNetwork(SimBase):
    __tablename__ = "sim_network"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]


class SimSubnet(SimBase):
    __tablename__ = "sim_subnet"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cidr: Mapped[str] = mapped_column(String(64))
    ip_version: Mapped[int] = mapped_column(Integer, default=4)
    gateway_ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    # [[first, last], ...]
    pools: Mapped[list[Any]] = mapped_column(JSON, default=list)
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]


class SimIPAllocation(SimBase):
    """An address in use: a port's fixed IP or a floating IP (Neutron's hidden FIP port)."""

    __tablename__ = "sim_ip_allocation"

    subnet_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(45), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(36), index=True)
    port_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    floating_ip_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)


class SimPort(SimBase):
    __tablename__ = "sim_port"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(36), index=True)
    project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    mac_address: Mapped[str] = mapped_column(String(17), unique=True)
    device_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    device_owner: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    # [[subnet_id, ip_address], ...] in the order asked for.
    fixed_ips: Mapped[list[Any]] = mapped_column(JSON, default=list)
    security_group_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]


class SimSecurityGroup(SimBase):
    __tablename__ = "sim_security_group"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    # The project id for a project's `default` group: one per project even under races.
    default_for: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]


class SimRule(SimBase):
    __tablename__ = "sim_security_group_rule"
    __table_args__ = (UniqueConstraint("security_group_id", "rule_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(String(36), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str | None] = mapped_column(String(32), nullable=True)
    port_range_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    port_range_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64), nullable=True)
    remote_group_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    # What makes two rules the same (Neutron's duplicate check ignores the description).
    rule_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class SimFloatingIP(SimBase):
    __tablename__ = "sim_floating_ip"
    __table_args__ = (UniqueConstraint("port_id", "fixed_ip_address"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    address: Mapped[str] = mapped_column(String(45))
    network_id: Mapped[str] = mapped_column(String(36), index=True)
    subnet_id: Mapped[str] = mapped_column(String(36))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    port_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(45), nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]


class SimProject(SimBase):
    """A Keystone project of the OpenStack-compatible endpoint (`stackgate fakecloud`).

    The simulator's proxies never read it: resources carry a project id, and the endpoint
    checks the caller's token against it."""

    __tablename__ = "sim_project"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(255), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class SimRoleAssignment(SimBase):
    """A user's role on a project (Keystone's assignment), for the same endpoint."""

    __tablename__ = "sim_role_assignment"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class SimFlavor(SimBase):
    """A Nova flavor made through the fake's API (`stackgate fakecloud`); the DevStack flavors
    are built in, and a row with `deleted` hides one of them."""

    __tablename__ = "sim_flavor"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    ram_mb: Mapped[int] = mapped_column(Integer)
    disk_gb: Mapped[int] = mapped_column(Integer)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap_mb: Mapped[int] = mapped_column(Integer, default=0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(String(255), nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class SimServerExtra(SimBase):
    """What Nova's API keeps about a server that the simulated compute does not model (the
    fake's server body shows it)."""

    __tablename__ = "sim_server_extra"

    server_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    key_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    security_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Whether imageRef was given: a server booted from a volume without one shows image "".
    image_given: Mapped[bool] = mapped_column(Boolean, default=True)
    locked_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    description: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Ports Nova made for `networks: [{"uuid": ...}]` (it deletes them with the server).
    created_port_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]


class SimInstanceAction(SimBase):
    """Nova's instance action log (os-instance-actions), one row per accepted request."""

    __tablename__ = "sim_instance_action"

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    server_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    start_time: Mapped[datetime]
    message: Mapped[str | None] = mapped_column(String(255), nullable=True)


class SimImageRecord(SimBase):
    """Glance's view of an image the fake knows beyond the built-in ones: one made through
    Glance's API (status kept here), a snapshot (status from SimImage) with its owner and
    properties, or a tombstone (`deleted`) hiding a built-in image."""

    __tablename__ = "sim_image_record"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    visibility: Mapped[str] = mapped_column(String(16), default="shared")
    status: Mapped[str] = mapped_column(String(32), default="queued")
    snapshot: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    disk_format: Mapped[str | None] = mapped_column(String(32), nullable=True)
    container_format: Mapped[str | None] = mapped_column(String(32), nullable=True)
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SimCinderQuota(SimBase):
    """A Cinder quota limit set for a project through os-quota-sets (`stackgate fakecloud`);
    a resource without a row has Cinder's default."""

    __tablename__ = "sim_cinder_quota"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class SimCinderRecord(SimBase):
    """What Cinder's API shows of a volume or snapshot that the simulated block storage does
    not model (the fake's volume and snapshot bodies show it)."""

    __tablename__ = "sim_cinder_record"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(255), nullable=True)
    updated_at: Mapped[datetime]
