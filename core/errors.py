"""The app's error base: every expected failure carries its HTTP status and a stable code."""

from __future__ import annotations


class SkyieError(Exception):
    """An expected failure, shown to the person as it is."""

    status_code: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
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


class Conflict(SkyieError):
    status_code = 409
    code = "conflict"


class Unavailable(SkyieError):
    status_code = 503
    code = "unavailable"
