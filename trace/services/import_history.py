"""Past spreadsheet imports as their readers may see them: an organisation its own, a centre
its province's, an administrator all (the read rule of :func:`engine.get_import`, as a list)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from trace.models import Import, Organization, Role
from trace.services.actors import Actor
from trace.services.errors import Forbidden


def imports(
    session: Session, actor: Actor, limit: int, before_id: int | None
) -> tuple[Sequence[Import], int | None]:
    """A page of imports, newest first, and the id the next page continues before. Previews
    (records of ``dry_run`` jobs, each upload's first step) wrote nothing and are left out."""
    stmt = (
        select(Import)
        .options(defer(Import.content))
        .where(Import.dry_run.is_(False))
        .order_by(Import.id.desc())
    )
    if actor.role is Role.INSPECTOR:
        raise Forbidden("An inspector does not import.")
    if actor.role is Role.CENTRE:
        in_province = select(Organization.id).where(
            Organization.province_code == actor.province_code
        )
        stmt = stmt.where(
            (Import.province_code == actor.province_code) | Import.organization_id.in_(in_province)
        )
    elif not actor.is_admin:
        if actor.organization_id is None:
            return [], None
        stmt = stmt.where(Import.organization_id == actor.organization_id)
    if before_id is not None:
        stmt = stmt.where(Import.id < before_id)
    rows = list(session.scalars(stmt.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)
