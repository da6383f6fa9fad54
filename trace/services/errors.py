"""Domain errors. The API turns them into problem+json, the public pages into friendly pages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One bad input: a JSON pointer into the request (RFC 6901) and what is wrong there."""

    pointer: str
    message: str


class ServiceError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None, **extra: object):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class InvalidInput(ServiceError):
    status = 422
    title = "Invalid input"


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"


def invalid(pointer: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[FieldError(pointer, message)])
