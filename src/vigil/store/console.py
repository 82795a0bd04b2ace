"""Console tables: signed-in browser sessions and each reviewer's display preferences.

A session row is keyed by the SHA-256 of the cookie's token, so a copy of the database does not
hand out live sessions. Sessions and preferences hang off the API key that signed in: revoking
the key ends its sessions on the next request.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vigil.store.db import Base


class ConsoleSession(Base):
    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key_id: Mapped[int] = mapped_column(sa.ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    # Synchroniser token: every form posts it back and it must equal this value.
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    # The status message for the next page ("Case 12 decided"), set by a post and cleared when shown.
    flash: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)


class ReviewerPreference(Base):
    """How media is shown to one reviewer by default; each item can still be revealed on click."""

    __tablename__ = "reviewer_preferences"

    key_id: Mapped[int] = mapped_column(sa.ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True)
    blur_media: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    greyscale_media: Mapped[bool] = mapped_column(sa.Boolean, default=True)
