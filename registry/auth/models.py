from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..access.roles import USER_ROLES
from ..db import Base, UTCDateTime, Versioned


class User(Versioned, Base):
    """A person who logs in. The role's binding (organization or agency) is checked by the database."""

    __tablename__ = "users"
    __table_args__ = (
        # The stored values, as the migration wrote them: ('admin', 'facility_manager', ...).
        CheckConstraint(f"role IN {tuple(map(str, USER_ROLES))}", name="role"),
        CheckConstraint(
            "(role IN ('admin', 'auditor') AND organization_id IS NULL AND agency_id IS NULL)"
            " OR (role = 'facility_manager' AND organization_id IS NOT NULL AND agency_id IS NULL)"
            " OR (role = 'agency_user' AND agency_id IS NOT NULL AND organization_id IS NULL)",
            name="role_binding",
        ),
    )

    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="RESTRICT"), index=True
    )
    full_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Failed logins in a row; at the limit the account locks until `locked_until`.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Tokens issued before this instant are refused (password changed, account disabled).
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CadClient(Versioned, Base):
    """A dispatch (CAD) system of one agency, logging in with client credentials."""

    __tablename__ = "cad_clients"

    client_id: Mapped[str] = mapped_column(String(80), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agencies.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RevokedToken(Base):
    """A token refused from now until it would have expired anyway (logout)."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
