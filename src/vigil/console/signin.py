"""Console sign-in: an API key is exchanged once for a server-side session, and every form carries a CSRF token.

The browser holds only a random session token (HttpOnly, SameSite=Strict cookie); the database holds
its SHA-256, the key it belongs to, and the synchroniser token that forms must echo. The key's role is
read again on every request, so revoking a key or changing its role takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vigil import keys as keystore
from vigil.clock import now
from vigil.roles import Permission, Role, allows
from vigil.store.console import ConsoleSession, ReviewerPreference
from vigil.store.keys import ApiKey

SESSION_COOKIE = "vigil_session"
# Before sign-in there is no session to hold a synchroniser token, so the sign-in form uses a
# double-submit token: the same random value in a SameSite=Strict cookie and in the form.
SIGNIN_CSRF_COOKIE = "vigil_signin_csrf"
CSRF_FIELD = "csrf_token"
SESSION_LIFETIME = timedelta(hours=8)  # one review shift; after it, sign in again


@dataclass(frozen=True)
class Reviewer:
    """The person behind a console session, with their role and display preferences."""

    key_id: int
    name: str
    role: Role
    csrf_token: str
    blur_media: bool
    greyscale_media: bool
    session_hash: str = ""
    flash: str | None = None
    """The status message left by the previous post, shown once on this page."""

    def can(self, permission: Permission) -> bool:
        return allows(self.role, permission)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison that treats a missing token as a mismatch."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def sign_in(s: Session, api_key: str) -> str | None:
    """A new session token for a live API key, or None if the key is unknown or revoked."""
    row = keystore.lookup(s, api_key.strip())
    if row is None:
        return None
    stamp = now()
    s.execute(sa.delete(ConsoleSession).where(ConsoleSession.expires_at < stamp))
    token = new_token()
    s.add(ConsoleSession(token_hash=token_hash(token), key_id=row.id, csrf_token=new_token(),
                         created_at=stamp, expires_at=stamp + SESSION_LIFETIME))
    return token


def reviewer_for(s: Session, token: str | None) -> Reviewer | None:
    """The reviewer signed in with this session token, or None (no, expired, or revoked-key session)."""
    if not token or len(token) > 200:
        return None
    digest = token_hash(token)
    row = s.execute(
        sa.select(ConsoleSession.csrf_token, ConsoleSession.flash, ApiKey.id, ApiKey.name, ApiKey.role,
                  ReviewerPreference.blur_media, ReviewerPreference.greyscale_media)
        .join(ApiKey, ApiKey.id == ConsoleSession.key_id)
        .outerjoin(ReviewerPreference, ReviewerPreference.key_id == ApiKey.id)
        .where(ConsoleSession.token_hash == digest, ConsoleSession.expires_at > now(),
               ApiKey.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    csrf, flash, key_id, name, role, blur, grey = row
    if flash is not None:  # shown once: this page takes it
        s.execute(sa.update(ConsoleSession).where(ConsoleSession.token_hash == digest).values(flash=None))
    return Reviewer(key_id=key_id, name=name, role=Role(role), csrf_token=csrf,
                    blur_media=True if blur is None else blur, greyscale_media=True if grey is None else grey,
                    session_hash=digest, flash=flash)


def set_flash(s: Session, reviewer: Reviewer, message: str) -> None:
    """Leave `message` for the reviewer's next page."""
    s.execute(sa.update(ConsoleSession).where(ConsoleSession.token_hash == reviewer.session_hash)
              .values(flash=message[:500]))


def sign_out(s: Session, token: str | None) -> None:
    if token:
        s.execute(sa.delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token)))


def set_preferences(s: Session, key_id: int, *, blur_media: bool, greyscale_media: bool) -> None:
    pref = s.get(ReviewerPreference, key_id)
    if pref is None:
        s.add(ReviewerPreference(key_id=key_id, blur_media=blur_media, greyscale_media=greyscale_media))
    else:
        pref.blur_media, pref.greyscale_media = blur_media, greyscale_media
