"""Trace: product traceability for Vietnam's provincial technology application centres."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.sessions import SessionInterface
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import IntegerConverter

from trace import config as settings
from trace.db import db as _db

log = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application. Binds extensions and blueprints; does no I/O."""
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(settings.DEFAULTS)
    app.config.update(settings.from_environment())
    if config:
        app.config.update(config)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = settings.sqlite_default_url(app.instance_path)
    app.config["PUBLIC_URL"] = str(app.config["PUBLIC_URL"]).rstrip("/")
    settings.check(app.config)

    app.session_interface = NoCookieSessions()
    app.url_map.converters["int"] = Int32Converter
    _db.init_app(app)
    _register_blueprints(app)
    _register_errors(app)

    from trace import cli

    cli.init_app(app)
    cli.explain_missing_schema(app)
    return app


class Int32Converter(IntegerConverter):
    """``<int:…>`` in every route matches 0 to 2**31 - 1 only: ids are 32-bit on PostgreSQL, so
    a larger number in a path matches no route (404) instead of failing in SQL. A regular
    expression rather than ``max``: werkzeug answers 405 when a rule fails ``max`` while another
    rule of the same path has other methods."""

    regex = (
        r"(?:\d{1,9}|1\d{9}|20\d{8}|21[0-3]\d{7}|214[0-6]\d{6}|2147[0-3]\d{5}|21474[0-7]\d{4}"
        r"|214748[0-2]\d{3}|2147483[0-5]\d{2}|21474836[0-3]\d|214748364[0-7])(?!\d)"
    )


class NoCookieSessions(SessionInterface):
    """The service keeps no cookie sessions (API clients send tokens, forms carry their own
    signed tokens): skip building a signing serializer on every request."""

    def open_session(self, app: Flask, request: Any) -> None:
        return None

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        return None


def _register_blueprints(app: Flask) -> None:
    from trace import console, public
    from trace.api import create_blueprint, ledger_public

    app.register_blueprint(create_blueprint())
    public.init_app(app)
    console.init_app(app)
    app.register_blueprint(ledger_public.create_blueprint())

    @app.get("/healthz")
    def healthz() -> Response:
        from sqlalchemy import text

        _db.session.execute(text("SELECT 1"))
        return jsonify(status="ok")


def _register_errors(app: Flask) -> None:
    from trace.api import handle_http_error, problems
    from trace.console import pages as console_pages
    from trace.public import errors as public_errors

    def _http_error(error: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            return handle_http_error(error)
        if request.path.startswith("/console/"):
            return console_pages.from_http_exception(error)
        return public_errors.from_http_exception(error)

    app.register_error_handler(HTTPException, _http_error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if request.path.startswith("/api/"):
            return problems.problem(
                500, "Internal server error", "Something went wrong on our side; it is logged."
            )
        try:
            if request.path.startswith("/console/"):
                return console_pages.error_page(500, "server_error")
            return public_errors.error_page(500, "server_error")
        except Exception:  # the friendly page itself failed: fall back to the bare one
            log.exception("the error page failed too")
            return InternalServerError()
