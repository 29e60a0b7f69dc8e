"""Signed download links: a finished file that opens in any browser, for a while, for anyone
holding the link. Chats (Telegram) deliver these where a file is too big to send.

The link names one job and carries no power beyond reading that job's files: it is signed
with the studio's key (`typ` "download"), so it cannot be bent into an access token or
pointed at another job.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import jwt

from core.errors import Unauthorized
from core.models import utcnow
from core.settings import Settings

ALGORITHM = "HS256"
TYPE = "download"
DEFAULT_TTL_S = 7 * 24 * 3600


def sign(settings: Settings, user_id: str, job_id: str, ttl_s: int = DEFAULT_TTL_S) -> str:
    now = utcnow()
    claims = {
        "sub": user_id,
        "job": job_id,
        "typ": TYPE,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
    }
    return jwt.encode(claims, settings.signing_key(), algorithm=ALGORITHM)


def verify(settings: Settings, link: str, job_id: str) -> str:
    """The owner of `job_id` a link was signed for; Unauthorized for any other link."""
    try:
        claims = jwt.decode(
            link,
            settings.signing_key(),
            algorithms=[ALGORITHM],
            options={"require": ["sub", "job", "typ", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized(
            "this download link has expired; ask for the video again", code="link_expired"
        ) from None
    except jwt.InvalidTokenError:
        raise Unauthorized("this download link is not valid", code="invalid_link") from None
    if claims.get("typ") != TYPE or claims.get("job") != job_id:
        raise Unauthorized("this download link is not valid for this job", code="invalid_link")
    return str(claims["sub"])


def video_url(settings: Settings, user_id: str, job_id: str, fmt: str | None = None) -> str:
    """Where the job's video (or one export format of it) downloads with a signed link."""
    path = f"/v1/jobs/{quote(job_id)}/" + (f"exports/{quote(fmt)}" if fmt else "video")
    link = sign(settings, user_id, job_id)
    return f"{settings.public_url.rstrip('/')}{path}?link={link}"
