"""Domain errors. The API turns them into problem+json, the public pages into friendly pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")


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


def get_or_404(session: Session, model: type[T], entity_id: Any) -> T:
    """The row with this primary key, or NotFound naming what was looked for."""
    entity = session.get(model, entity_id)
    if entity is None:
        name = str(getattr(model, "__tablename__", model.__name__)).replace("_", " ")
        raise NotFound(f"There is no {name} with id {entity_id}.")
    return entity
