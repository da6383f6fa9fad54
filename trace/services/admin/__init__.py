"""The administrator's views of the whole service: people across provinces, the audit log, the
system's status. Only an administrator reads them (:func:`require_admin`)."""

from __future__ import annotations

from trace.services.actors import Actor
from trace.services.errors import Forbidden


def require_admin(actor: Actor) -> None:
    """The one admin-only rule of these screens (the console's guard calls it too)."""
    if not actor.is_admin:
        raise Forbidden("Only an administrator may do this.")
