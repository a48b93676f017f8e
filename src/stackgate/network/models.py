"""Network tables (Neutron): networks, subnets, ports with their fixed IPs, security groups and
rules, floating IPs; every sub-feature reads several of them (a port's addresses, a floating
IP's port, a port's groups). StackGate allocates addresses itself (semantics/ipam.py) and
tells the cloud which ones to use, so uniqueness is a database constraint, safe under
concurrency."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from stackgate.core.clock import utcnow
from stackgate.core.db import Base, IdMixin, TimestampMixin, VersionMixin


class Status:
    """Neutron's statuses of networks, subnets, ports and floating IPs."""

    BUILD = "BUILD"
    ACTIVE = "ACTIVE"
    DOWN = "DOWN"
    ERROR = "ERROR"


class Network(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "network"
    __table_args__ = (Index("ix_network_project_created", "project_id", "created_at", "id"),)

    # The owner; shared networks (the seeded `public`) are visible to every project.
    project_id: Mapped[str | None] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str | None] = mapped_column(Text)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    mtu: Mapped[int] = mapped_column(Integer, default=1450)
    # BUILD until the cloud has it, then ACTIVE; ERROR if the cloud refused it.
    status: Mapped[str] = mapped_column(String(16))
    # Set on the project's `private` network made on first use: one per project.
    default_for: Mapped[str | None] = mapped_column(String(36), unique=True)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)


class Subnet(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "subnet"

    network_id: Mapped[str] = mapped_column(ForeignKey("network.id"), index=True)
    project_id: Mapped[str | None] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str | None] = mapped_column(Text)
    ip_version: Mapped[int] = mapped_column(Integer, default=4)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    # One allocation pool, inclusive (Neutron allows several; one is what users make).
    pool_start: Mapped[str] = mapped_column(String(64))
    pool_end: Mapped[str] = mapped_column(String(64))
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)


class IPAllocation(Base):
    """One address in use on a subnet, by a port or a floating IP: the primary key is the
    guarantee that no address is handed out twice."""

    __tablename__ = "ip_allocation"

    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnet.id"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(36))
    # "port" or "floating_ip", and that row's id.
    owner_type: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str] = mapped_column(String(36), index=True)


class Port(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "port"
    __table_args__ = (Index("ix_port_project_created", "project_id", "created_at", "id"),)

    project_id: Mapped[str] = mapped_column(String(36))
    network_id: Mapped[str] = mapped_column(ForeignKey("network.id"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str | None] = mapped_column(Text)
    mac_address: Mapped[str] = mapped_column(String(32))
    # The server using the port and how (`compute:nova`); empty when unbound.
    device_id: Mapped[str | None] = mapped_column(String(36), index=True)
    device_owner: Mapped[str] = mapped_column(String(64), default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    # BUILD until the cloud has it; DOWN unbound, ACTIVE bound to a running server; ERROR.
    status: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)


class PortSecurityGroup(Base):
    """Which groups apply to a port (a group used by a port cannot be deleted)."""

    __tablename__ = "port_security_group"

    port_id: Mapped[str] = mapped_column(ForeignKey("port.id"), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_group.id"), primary_key=True, index=True
    )


class SecurityGroup(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "security_group"
    __table_args__ = (Index("ix_security_group_project_name", "project_id", "name"),)

    project_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    # Set on the project's `default` group, made on first use: one per project.
    default_for: Mapped[str | None] = mapped_column(String(36), unique=True)
    provider_id: Mapped[str | None] = mapped_column(String(64))


class SecurityGroupRule(IdMixin, Base):
    """Immutable (create and delete only, as in Neutron); `rule_key` is the normalised rule,
    unique per group, so an identical rule is refused even when two arrive at once."""

    __tablename__ = "security_group_rule"
    __table_args__ = (UniqueConstraint("security_group_id", "rule_key"),)

    security_group_id: Mapped[str] = mapped_column(ForeignKey("security_group.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(36), index=True)
    direction: Mapped[str] = mapped_column(String(8))
    ethertype: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str | None] = mapped_column(String(16))
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    remote_group_id: Mapped[str | None] = mapped_column(String(36))
    description: Mapped[str | None] = mapped_column(Text)
    rule_key: Mapped[str] = mapped_column(String(255))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FloatingIP(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "floating_ip"
    __table_args__ = (
        Index("ix_floating_ip_project_created", "project_id", "created_at", "id"),
        # One floating IP per fixed IP (FloatingIPPortAlreadyAssociated).
        UniqueConstraint("port_id", "fixed_ip_address"),
    )

    project_id: Mapped[str] = mapped_column(String(36))
    floating_network_id: Mapped[str] = mapped_column(ForeignKey("network.id"))
    subnet_id: Mapped[str] = mapped_column(String(36))
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    port_id: Mapped[str | None] = mapped_column(String(36), index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64))
    # Denormalised from the port, so a server body finds its addresses in one query.
    server_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # DOWN unassociated, ACTIVE associated (as ML2/OVN report it).
    status: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
