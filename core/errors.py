"""The app's error base: every expected failure carries its HTTP status and a stable code."""

from __future__ import annotations

from collections.abc import Sequence


class SkyieError(Exception):
    """An expected failure, shown to the person as it is."""

    status_code: int = 400
    code: str = "bad_request"

    def __init__(
        self, message: str, *, code: str | None = None, details: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        # (where, what) pairs, e.g. ("script line 2, column 19", "duration 'soon' ..."), for
        # callers that point at each fault (the API puts them in the error's `details`).
        self.details = list(details)
        if code is not None:
            self.code = code


class NotFound(SkyieError):
    status_code = 404
    code = "not_found"


class InvalidInput(SkyieError):
    status_code = 422
    code = "invalid_input"


class InsufficientCredits(SkyieError):
    status_code = 402
    code = "insufficient_credits"


class Forbidden(SkyieError):
    """Known caller, not allowed: their plan or role does not include this."""

    status_code = 403
    code = "forbidden"


class Conflict(SkyieError):
    status_code = 409
    code = "conflict"


class Unavailable(SkyieError):
    status_code = 503
    code = "unavailable"


class Unauthorized(SkyieError):
    status_code = 401
    code = "unauthorized"


class PayloadTooLarge(SkyieError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMedia(SkyieError):
    status_code = 415
    code = "unsupported_media_type"


class RateLimited(SkyieError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
