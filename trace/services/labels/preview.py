"""A preview of a print run's first sheet, before the run exists: the batch's real label text
with placeholder codes, stamped as a sample. It issues no codes and writes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from trace.labels.preview import sample_labels, sheet_png
from trace.labels.sheets import LabelContent
from trace.models import Batch
from trace.services.actors import Actor
from trace.services.errors import get_or_404
from trace.services.labels import issuance


def sample_sheet(
    session: Session,
    actor: Actor,
    batch_id: int,
    *,
    count: int,
    template: str,
    layout: dict[str, Any] | None = None,
    serialised: bool = True,
    cut_marks: bool = False,
    ec: str = "M",
    public_url: str,
    width_px: int = 800,
) -> bytes:
    """The first sheet of the run these fields (:class:`PrintRunCreateSchema`'s) would print,
    as a PNG. Who may print for the batch may preview; the layout is checked as for a run."""
    batch = get_or_404(session, Batch, batch_id)
    issuance.require_batch_printer(actor, batch)
    sheet = issuance.resolve_template(template, layout)
    label = LabelContent(uri="", **issuance.label_text(batch))
    labels = sample_labels(label, public_url, min(count, sheet.per_page))
    return sheet_png(labels, sheet, ec=ec, cut_marks=cut_marks, width_px=width_px)
