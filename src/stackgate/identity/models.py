"""Identity tables (Keystone's model, simplified): domains, projects, users, role assignments,
application credentials, per-project quota limits, and the token signing key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from stackgate.core.clock import utcnow
from stackgate.core.db import Base, IdMixin, TimestampMixin, VersionMixin

# The rows the first start creates and the rules lean on: the only domain, and the only
# project the admin role may be granted on.
DEFAULT_DOMAIN_ID = "default"
ADMIN_PROJECT = "admin"


class Domain(TimestampMixin, Base):
    __tablename__ = "domain"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class Project(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "project"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    domain_id: Mapped[str] = mapped_column(ForeignKey("domain.id"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped by every quota-checked create: the row lock that serialises them (any dialect).
    quota_serial: Mapped[int] = mapped_column(Integer, default=0)


class User(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "user_account"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    domain_id: Mapped[str] = mapped_column(ForeignKey("domain.id"))
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Tokens issued before this instant are void (password change, disable).
    tokens_valid_after: Mapped[datetime] = mapped_column(default=utcnow)


class RoleAssignment(IdMixin, Base):
    """One role per user per project; roles are hierarchical, so the highest is enough."""

    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("user_id", "project_id"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApplicationCredential(IdMixin, Base):
    __tablename__ = "application_credential"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    secret_hash: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuotaLimit(Base):
    """An explicit limit; a resource without a row has OpenStack's default."""

    __tablename__ = "quota_limit"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class SigningKey(Base):
    """The token signing secret, made at first start so every process of a deployment shares
    it without configuration (STACKGATE_SECRET_KEY overrides it)."""

    __tablename__ = "signing_key"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    secret: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
