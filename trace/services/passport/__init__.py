"""The digital product passport (Decree 37/2026/NĐ-CP Art. 32): certificates as records
(``certificates``), the passport document of a batch (:func:`passport`: what every face
publishes or sends, ``content``) and its completeness (``completeness``, ``readiness``).

This package's root stays light: the registry imports ``certificates``, and ``content`` imports
the event history, which imports the registry.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from trace.models import Batch

DPP_LINK_TYPE = "gs1:dpp"


def passport(
    session: Session, batch: Batch, public_url: str, *, on: dt.date | None = None
) -> dict[str, Any]:
    """The passport document of ``batch`` (see :func:`content.passport`)."""
    from trace.services.passport import content

    return content.passport(session, batch, public_url, on=on)


__all__ = ["DPP_LINK_TYPE", "passport"]
