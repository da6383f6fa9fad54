"""Bearer-token authentication for the API."""

from __future__ import annotations

from flask import g, request

from trace.db import db
from trace.services.actors import Actor
from trace.services.errors import ServiceError
from trace.services.registry.tokens import authenticate


class Unauthorized(ServiceError):
    status = 401
    title = "Unauthorized"


def current_actor() -> Actor:
    """The actor behind the request's bearer token; 401 problem when there is none."""
    actor = g.get("actor")
    if actor is not None:
        return actor
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("This endpoint needs a bearer token: 'Authorization: Bearer <token>'.")
    actor = authenticate(db.session, secret.strip())
    if actor is None:
        raise Unauthorized("The bearer token is unknown or revoked.")
    g.actor = actor
    return actor
