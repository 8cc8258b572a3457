"""A signed-in person's console session, kept server-side (the cookie holds only its token)."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime


class ConsoleSession(Base):
    """One browser's sign-in. The cookie carries a random token; the row keeps its SHA-256, so a
    copy of the table signs nobody in. Deleting the row (sign-out, expiry) ends the session."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The token forms must send back (CSRF): random per session, compared in constant time.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the password was last given: sensitive actions want it within the fresh-login window.
    password_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
