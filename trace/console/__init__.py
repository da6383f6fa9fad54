"""The staff console at ``/console``: server-rendered pages over the same services as the API.

Every request: its session is found from the cookie (:mod:`trace.console.auth`), its language
chosen (``?lang=``, the switch's cookie, else the user's setting, else Vietnamese), and a
state-changing one must carry the CSRF token (:mod:`trace.console.csrf`). Pages are private:
never cached, never framed.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from trace.console import (
    account,
    admin,
    auth,
    batch_pages,
    catalogue_pages,
    csrf,
    dashboard,
    export_pages,
    flags,
    imports,
    inspector_desk,
    nav,
    organisations,
    pages,
    people,
    printing,
    recall_pages,
    registry_forms,
    report_pages,
    scans,
    stage_pages,
    views,
    welcome,
    words,
)
from trace.provinces import province_name
from trace.public.i18n import DEFAULT_LANGUAGE, LANGUAGES
from trace.services.errors import ServiceError

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def create_blueprint() -> Blueprint:
    bp = Blueprint("console", __name__, url_prefix="/console")
    views.register(bp)
    account.register(bp)
    people.register(bp)
    welcome.register(bp)
    batch_pages.register(bp)
    stage_pages.register(bp)
    printing.register(bp)
    scans.register(bp)
    admin.register(bp)
    imports.register(bp)
    organisations.register(bp)
    catalogue_pages.register(bp)
    dashboard.register(bp)
    report_pages.register(bp)
    flags.register(bp)
    inspector_desk.register(bp)
    recall_pages.register(bp)
    export_pages.register(bp)

    @bp.before_request
    def _begin() -> None:
        auth.load()
        g._page_language = _language()
        csrf.check()
        auth.note_seen()

    @bp.after_request
    def _end(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        response.vary.add("Cookie")
        return csrf.remember_seed(response)

    @bp.errorhandler(csrf.CsrfFailed)
    def _csrf_failed(_error: csrf.CsrfFailed) -> Response:
        return pages.error_page(400, "csrf")

    @bp.errorhandler(ServiceError)
    def _service_error(error: ServiceError) -> Response:
        return pages.from_service_error(error)

    @bp.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        return pages.from_http_exception(error)

    return bp


def _language() -> str:
    asked = request.args.get("lang", "")[:2]
    if asked in LANGUAGES:
        return asked
    chosen = request.cookies.get(views.LANGUAGE_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    user = auth.current_user()
    if user is not None and user.language in LANGUAGES:
        return user.language
    return DEFAULT_LANGUAGE  # Vietnamese first, whatever the browser says: the switch is shown


def init_app(app: Flask) -> None:
    """The blueprint, and the templates' helpers: ``csrf_field()``, ``console_nav()``."""
    app.register_blueprint(create_blueprint())
    app.jinja_env.globals.update(
        csrf_field=csrf.csrf_field,
        console_nav=nav.items_for,
        console_nav_current=nav.is_current,
        console_user=auth.current_user,
        batch_status=words.batch_status,
        code_status=words.code_status,
        facility_kind=words.facility_kind,
        role_name=words.role_name,
        role_options=words.role_options,
        error_reason=words.error_reason,
        document_type=words.document_type,
        organization_kind=registry_forms.organization_kind,
        product_category=registry_forms.product_category,
        province_name=province_name,
    )
    app.jinja_env.filters["vietnam_time"] = dashboard.vietnam_time
    app.jinja_env.filters["whole"] = dashboard.whole
