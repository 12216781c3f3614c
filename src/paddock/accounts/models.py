"""Users with roles, their web sessions, and API tokens for dealers' own systems.

Accounts sit below the programmes: a dealer user's `dealer_id` refers to the `dealer` table by
name (the dealers package builds on accounts, not the other way round)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from paddock.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"  # centre admin: everything
    OPERATIONS = "operations"  # centre operations staff
    COACH = "coach"
    DEALER = "dealer"  # dealer staff: confined to their dealer's data
    MOTORSPORT = "motorsport"  # motorsport programme manager


ROLE_VALUES = tuple(r.value for r in Role)


class User(Base):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'operations', 'coach', 'dealer', 'motorsport')", name="role_known"
        ),
        # Dealer staff belong to exactly one dealer; nobody else belongs to one.
        CheckConstraint(
            "(role = 'dealer' AND dealer_id IS NOT NULL)"
            " OR (role <> 'dealer' AND dealer_id IS NULL)",
            name="dealer_staff_have_dealer",
        ),
        Index("ix_user_account_dealer", "dealer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("dealer.id", ondelete="RESTRICT"))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Consecutive failed sign-ins; reaching the limit locks the account for a while.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserSession(Base):
    """A signed-in browser. The cookie holds a random secret; only its SHA-256 is stored, so a
    copy of the database does not let anyone sign in."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class ApiToken(Base):
    """A named bearer token for a dealer's own systems, scoped to that dealer. The secret is
    shown once at creation; only its SHA-256 is kept."""

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_dealer", "dealer_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealer.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists to tell tokens apart
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordReset(Base):
    """A "forgot password" link: single use, valid until `expires_at`. The token in the link is
    an HMAC of `nonce` under the server's secret key (so the mail can be written when it is
    sent); only its SHA-256 is stored, so a copy of the database resets nobody's password."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
