"""Spreadsheet imports: upload (preview or commit), follow, download templates.

The engine (:mod:`trace.api.imports.engine`) loads every row with the API's own schemas and
calls the same services as the API's writes; these views are its HTTP face.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request, url_for
from marshmallow import Schema, fields, post_dump, validate

from trace.api.auth import current_actor
from trace.api.docs import documented
from trace.api.imports import columns, engine, templates
from trace.api.io import dump, public_url
from trace.api.schemas import StrictSchema
from trace.db import db
from trace.models import ImportStatus
from trace.services.errors import NotFound, invalid

TAG = "Imports"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportUploadSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(columns.KINDS),
                         metadata={"description": "what the file holds"})  # fmt: skip
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                      "description": "CSV (UTF-8) or XLSX; the first sheet is read"})  # fmt: skip


class ImportQuery(StrictSchema):
    dry_run = fields.Boolean(load_default=False, metadata={
        "description": "true: a preview; validate everything, write nothing. Up to "
                       f"{engine.PREVIEW_SYNC_ROWS:,} rows the preview is the answer (200); a "
                       "larger file is previewed by a job: 202 with the import record "
                       "(dry_run true) and a Location to poll until its status is done"
    })  # fmt: skip
    kind = fields.String(validate=validate.OneOf(columns.KINDS),
                         metadata={"description": "instead of the form field"})  # fmt: skip


class CountsSchema(Schema):
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


class RowErrorSchema(Schema):
    row = fields.Integer(metadata={"description": "spreadsheet row (header = 1; 0: the file)"})
    column = fields.String(metadata={"description": "the column's header as in the file"})
    message = fields.String()


class PreviewSchema(Schema):
    class Meta:
        ordered = True

    kind = fields.String()
    file_name = fields.String()
    sha256 = fields.String()
    valid = fields.Boolean(metadata={"description": "true when a commit would succeed"})
    counts = fields.Nested(CountsSchema)
    error_count = fields.Integer()
    errors = fields.List(
        fields.Nested(RowErrorSchema),
        metadata={"description": f"the first {engine.MAX_REPORTED_ERRORS}"},
    )


class ImportLinksSchema(Schema):
    self = fields.String()
    job = fields.String(allow_none=True)


class ImportSchema(Schema):
    class Meta:
        ordered = True

    id = fields.Integer()
    kind = fields.String()
    dry_run = fields.Boolean(metadata={"description": "a preview: nothing is written"})
    status = fields.String(metadata={"enum": ["queued", "done", "failed"]})
    valid = fields.Boolean(allow_none=True, metadata={
        "description": "once run: true when every row is right (for a preview: a commit "
                       "would succeed); null while queued"})  # fmt: skip
    file_name = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    created_by = fields.String()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    counts = fields.Dict(allow_none=True)
    error_count = fields.Integer()
    errors = fields.List(fields.Nested(RowErrorSchema))
    links = fields.Nested(ImportLinksSchema)

    @post_dump(pass_original=True)
    def _shape(self, data: dict[str, Any], record: Any, **_kwargs: Any) -> dict[str, Any]:
        data["status"] = str(record.status)
        stored = record.errors or {}
        data["error_count"] = int(stored.get("count", 0))
        done = record.status is ImportStatus.DONE and data["error_count"] == 0
        data["valid"] = None if record.status is ImportStatus.QUEUED else done
        data["errors"] = stored.get("items", [])
        data["links"] = {
            "self": url_for("api.get_import", import_id=record.id),
            "job": url_for("api.get_job", job_id=record.job_id) if record.job_id else None,
        }
        return data


_query = ImportQuery()
_preview = PreviewSchema()
_import = ImportSchema()


def _upload() -> tuple[str, str, bytes]:
    args = _query.load(request.args.to_dict(flat=True))
    kind = request.form.get("kind") or args.get("kind")
    if not kind:
        raise invalid("/kind", f"give the kind: one of {', '.join(columns.KINDS)}")
    engine.check_kind(kind)
    upload = request.files.get("file")
    if upload is None:
        raise invalid("/file", "upload the spreadsheet as the multipart field 'file'")
    content = upload.stream.read(engine.reading.MAX_FILE_BYTES + 1)
    return kind, upload.filename or "upload", content


@documented(summary="Import a spreadsheet (dry_run=true: preview, nothing written; a preview of "
            f"more than {engine.PREVIEW_SYNC_ROWS:,} rows runs as a job and answers 202)", tag=TAG,
            body=ImportUploadSchema, body_content_type="multipart/form-data", query=ImportQuery,
            response=PreviewSchema, accepted=ImportSchema,
            errors=(401, 403, 413, 422))  # fmt: skip
def create_import() -> Response:
    actor = current_actor()
    kind, name, content = _upload()
    dry_run = _query.load(request.args.to_dict(flat=True))["dry_run"]
    if dry_run and not engine.in_background(name, content):
        report = engine.preview(db.session, actor, kind, name, content, public_url())
        return dump(_preview, {
            "kind": kind, "file_name": name,
            "sha256": engine.digest(content),
            "valid": report.ok, "counts": report.summary(),
            "error_count": len(report.errors), "errors": report.error_list(),
        })  # fmt: skip
    record = engine.submit(db.session, actor, kind, name, content, dry_run=dry_run)
    location = url_for("api.get_import", import_id=record.id)
    return dump(_import, record, 202, {"Location": location, "Retry-After": "2"})


@documented(summary="Read an import: status, counts, row errors", tag=TAG, response=ImportSchema,
            errors=(401, 403, 404))  # fmt: skip
def get_import(import_id: int) -> Response:
    return dump(_import, engine.get_import(db.session, current_actor(), import_id))


@documented(summary="Download an import template (CSV, or XLSX with a guide sheet)", tag=TAG,
            content_type="text/csv", also_as=(XLSX,), errors=(401, 404))  # fmt: skip
def template(kind: str, fmt: str) -> Response:
    current_actor()
    if kind not in columns.KINDS or fmt not in ("csv", "xlsx"):
        raise NotFound(f"There is no template {kind}.{fmt}: kinds are {', '.join(columns.KINDS)}, "
                       "formats csv and xlsx.")  # fmt: skip
    if fmt == "csv":
        body, mimetype = templates.csv_template(kind), "text/csv; charset=utf-8"
    else:
        body, mimetype = templates.xlsx_template(kind), XLSX
    disposition = f'attachment; filename="trace-{kind}.{fmt}"'
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": disposition})


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/imports", "create_import", create_import, methods=["POST"])
    bp.add_url_rule("/imports/<int:import_id>", "get_import", get_import, methods=["GET"])
    bp.add_url_rule("/imports/templates/<kind>.<fmt>", "import_template", template,
                    methods=["GET"])  # fmt: skip
